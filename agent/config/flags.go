package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

const usageHeader = `Usage: roundabout-agent --upstream NAME (--endpoints LIST | --endpoints-file FILE) [flags]

Serves a gRPC proxy that balances every request over the upstream's endpoints.

Flags:
`

// flagSet binds every flag to c. --endpoints is bound to the returned
// string, which validation splits into c.Endpoints.
func (c *Config) flagSet(w io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("roundabout-agent", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	var endpoints string
	fs.StringVar(&c.Upstream, "upstream", "", "name of the upstream in logs and metrics (required)")
	fs.StringVar(&c.Listen, "listen", c.Listen, "host:port the gRPC proxy listens on")
	fs.StringVar(&endpoints, "endpoints", "", "comma-separated endpoints, host:port each")
	fs.StringVar(&c.EndpointsFile, "endpoints-file", "", "file of endpoints, one per line or comma-separated, watched for changes")
	fs.StringVar(&c.Strategy, "strategy", c.Strategy, "balancing strategy")
	fs.StringVar(&c.HashHeader, "hash-header", "", "request header whose value ring-hash hashes")
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "host:port of the admin server")
	fs.Var(durationValue{&c.DrainTimeout}, "drain-timeout", "time requests in flight get to finish when draining")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.Var(durationValue{&c.KeepaliveTime}, "keepalive-time", "idle time before pinging an endpoint")
	fs.Var(durationValue{&c.KeepaliveTimeout}, "keepalive-timeout", "time a ping may go unanswered")
	fs.Var(intValue{&c.EjectFailures}, "eject-failures", "consecutive failures that eject an endpoint")
	fs.Var(durationValue{&c.EjectBackoff}, "eject-backoff", "base time an endpoint stays ejected")
	fs.Var(intValue{&c.MaxEjectionPercent}, "max-ejection-percent", "most endpoints, in percent, ejected at once")
	return fs, &endpoints
}

// durationValue is a time.Duration flag whose syntax error says what a
// duration looks like.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 500ms, 30s or 1m30s")
	}
	*v.d = d
	return nil
}

// intValue is an int flag whose syntax error says a whole number is wanted.
type intValue struct{ n *int }

func (v intValue) String() string {
	if v.n == nil {
		return ""
	}
	return strconv.Itoa(*v.n)
}

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want a whole number")
	}
	*v.n = n
	return nil
}

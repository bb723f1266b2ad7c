package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"
)

const usageHeader = `Usage:
  roundabout-agent --upstream SERVICE[.NAMESPACE]:PORT[=LISTEN] [--upstream ...] [flags]
  roundabout-agent --upstream NAME (--endpoints LIST | --endpoints-file FILE) [flags]
  roundabout-agent (wait-ready | drain-wait) [--admin-addr HOST:PORT] [--timeout DURATION]

Serves a gRPC proxy per upstream that balances every request over the
upstream's endpoints: the ready pods of a Kubernetes Service, or a static list.

Flags:
`

// rawLists holds the flags that validation turns into fields of Config.
type rawLists struct {
	endpoints string
	subsetID  string
	upstreams []string
	listens   []string
}

// flagSet binds every flag to c, and the list flags to the returned lists.
func (c *Config) flagSet(w io.Writer) (*flag.FlagSet, *rawLists) {
	fs := flag.NewFlagSet("roundabout-agent", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	l := &rawLists{}
	fs.Var(listValue{&l.upstreams}, "upstream", "upstream to serve, repeatable: service[.namespace]:port for Kubernetes discovery, or a name with --endpoints; NAME=LISTEN sets its listen address")
	fs.Var(listValue{&l.listens}, "listen", "host:port the proxy of the upstream at the same position listens on (default "+DefaultListen+" for one upstream, 127.0.0.1:PORT for several)")
	fs.StringVar(&l.endpoints, "endpoints", "", "comma-separated endpoints, host:port each")
	fs.StringVar(&c.EndpointsFile, "endpoints-file", "", "file of endpoints, one per line or comma-separated, watched for changes")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig for Kubernetes discovery (default: in-cluster service account)")
	fs.StringVar(&c.AnnotationsFile, "annotations-file", "", "downward-API file of the pod's annotations, watched for strategy changes")
	fs.StringVar(&c.LookasideAddr, "lookaside-addr", "", "host:port to serve the lookaside Resolve API on (default: off)")
	fs.StringVar(&c.Strategy, "strategy", c.Strategy, "balancing strategy")
	fs.StringVar(&c.HashHeader, "hash-header", "", "request header whose value ring-hash hashes")
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "host:port of the admin server")
	fs.Var(durationValue{&c.DrainTimeout}, "drain-timeout", "time requests in flight get to finish when draining")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.Var(intValue{&c.MaxConcurrentStreams}, "max-concurrent-streams", "most streams the client may have open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused")
	fs.Var(intValue{&c.MaxHeaderListSize}, "max-header-list-size", "largest request or response header block in bytes (SETTINGS_MAX_HEADER_LIST_SIZE)")
	fs.Var(intValue{&c.StreamWindow}, "stream-window", "flow-control window of one stream in bytes: the most buffered per stream and direction")
	fs.Var(durationValue{&c.ProbeAfter}, "probe-after", "time a request may wait with nothing read from its endpoint before the connection is pinged; 0 turns probes off")
	fs.Var(durationValue{&c.ProbeTimeout}, "probe-timeout", "time a probe ping may go unanswered before the endpoint is ejected and its connection closed")
	fs.Var(durationValue{&c.KeepaliveTime}, "keepalive-time", "quiet time before pinging a connection with long-running requests again")
	fs.Var(durationValue{&c.KeepaliveTimeout}, "keepalive-timeout", "time a keepalive ping may go unanswered")
	fs.Var(intValue{&c.EjectFailures}, "eject-failures", "consecutive failures that eject an endpoint")
	fs.Var(durationValue{&c.EjectBackoff}, "eject-backoff", "base time an endpoint stays ejected")
	fs.Var(intValue{&c.MaxEjectionPercent}, "max-ejection-percent", "most endpoints, in percent, ejected at once")
	fs.Var(intValue{&c.SubsetSize}, "subset-size", "endpoints of each upstream to connect to, chosen by deterministic subsetting; 0 means every endpoint")
	fs.StringVar(&l.subsetID, "subset-id", "", "this agent's place among its peers, i/C for client i of C, which makes the subsets exactly balanced (default: the hash of $POD_NAME, statistically balanced)")
	fs.StringVar(&c.SubsetPeers, "subset-peers", "", "Service in the pod's namespace selecting this agent's pod and its peers; the agent's place i/C is its $POD_IP's rank among their ready pod IPs")
	return fs, l
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

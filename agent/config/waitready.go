package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// WaitReadyCommand is the name of the subcommand that waits for an agent's
// /readyz: roundabout-agent wait-ready [flags].
const WaitReadyCommand = "wait-ready"

// DefaultWaitReadyTimeout is wait-ready's --timeout default.
const DefaultWaitReadyTimeout = 2 * time.Minute

const waitReadyUsage = `Usage:
  roundabout-agent wait-ready [--admin-addr HOST:PORT] [--timeout DURATION]

Polls http://HOST:PORT/readyz of a running agent and exits 0 once it answers
200, or 1 when the timeout passes first, naming the address and the last
answer or error. Where the agent is not a native sidecar, a postStart hook
running it holds the pod's other containers until the agent is ready.

Flags:
`

// WaitReady is the validated configuration of the wait-ready subcommand.
type WaitReady struct {
	// AdminAddr is the host:port of the agent's admin server. An empty or
	// unspecified host (":9901", "0.0.0.0:9901") is reached on loopback.
	AdminAddr string
	// Timeout is how long to wait for /readyz to answer 200.
	Timeout time.Duration
}

// ParseWaitReady parses the arguments that follow "wait-ready", writing
// usage and flag syntax errors to w. Errors name the flag. With -h or
// --help it returns flag.ErrHelp.
func ParseWaitReady(w io.Writer, args []string) (*WaitReady, error) {
	c := &WaitReady{AdminAddr: DefaultAdminAddr, Timeout: DefaultWaitReadyTimeout}
	fs := flag.NewFlagSet("roundabout-agent "+WaitReadyCommand, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), waitReadyUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "host:port of the agent's admin server")
	fs.Var(durationValue{&c.Timeout}, "timeout", "how long to wait for /readyz to answer 200")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected argument %q: every setting is a flag", WaitReadyCommand, fs.Arg(0))
	}
	err := errors.Join(validateHostPort("admin-addr", c.AdminAddr), validatePositive("timeout", c.Timeout))
	if err == nil {
		if _, port, _ := net.SplitHostPort(c.AdminAddr); port == "0" {
			err = fmt.Errorf("--admin-addr=%q: port 0 names no server; want the agent's admin port, such as %s",
				c.AdminAddr, DefaultAdminAddr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", WaitReadyCommand, err)
	}
	return c, nil
}

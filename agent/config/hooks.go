package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// The subcommands a pod's lifecycle hooks run where the agent is a regular
// container rather than a native sidecar: roundabout-agent <command> [flags].
const (
	// WaitReadyCommand, as the agent's postStart hook, returns once the
	// agent is ready, holding the pod's next containers until then.
	WaitReadyCommand = "wait-ready"
	// DrainWaitCommand, as the agent's preStop hook, returns once no client
	// connection to the agent is left, holding the agent's SIGTERM until
	// the app has closed its connections.
	DrainWaitCommand = "drain-wait"
)

// Hook is the validated configuration of a hook subcommand.
type Hook struct {
	// Command is WaitReadyCommand or DrainWaitCommand.
	Command string
	// AdminAddr is the host:port of the agent's admin server, with $(VAR)
	// references expanded from the environment. An empty or unspecified
	// host (":9901", "0.0.0.0:9901") is reached on loopback.
	AdminAddr string
	// Timeout is how long to wait.
	Timeout time.Duration
}

// hookUsage is each subcommand's usage text; %s is its name.
var hookUsage = map[string]string{
	WaitReadyCommand: `Usage:
  roundabout-agent %s [--admin-addr HOST:PORT] [--timeout DURATION]

Asks http://HOST:PORT/readyz of a running agent every 100ms and exits 0 once
it answers 200, or 1 when the timeout passes first, naming the address and
the last answer or error.

Flags:
`,
	DrainWaitCommand: `Usage:
  roundabout-agent %s [--admin-addr HOST:PORT] [--timeout DURATION]

Asks http://HOST:PORT/connections of a running agent every 100ms and exits 0
once no client connection is open, once the agent no longer answers, or when
the timeout passes, saying how many connections were left.

Flags:
`,
}

// hookTimeouts are the --timeout defaults: a startup probe's two minutes,
// and a pod's default termination grace period.
var hookTimeouts = map[string]time.Duration{WaitReadyCommand: 2 * time.Minute, DrainWaitCommand: 30 * time.Second}

// IsHook reports whether name is a hook subcommand.
func IsHook(name string) bool { _, ok := hookUsage[name]; return ok }

// ParseHook parses the arguments that follow the subcommand command,
// writing usage and flag syntax errors to w. $(VAR) in --admin-addr is
// replaced with the variable from lookupEnv, as the kubelet would in a
// container's command but does not in a hook's; $$ is a literal $. Errors
// name the flag. With -h or --help it returns flag.ErrHelp.
func ParseHook(w io.Writer, command string, args []string, lookupEnv func(string) (string, bool)) (*Hook, error) {
	usage, ok := hookUsage[command]
	if !ok {
		return nil, fmt.Errorf("unknown subcommand %q", command)
	}
	c := &Hook{Command: command, AdminAddr: DefaultAdminAddr, Timeout: hookTimeouts[command]}
	fs := flag.NewFlagSet("roundabout-agent "+command, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage, command)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "host:port of the agent's admin server; $(VAR) is taken from the environment")
	fs.Var(durationValue{&c.Timeout}, "timeout", "how long to wait")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected argument %q: every setting is a flag", command, fs.Arg(0))
	}
	if err := c.validate(lookupEnv); err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	return c, nil
}

func (c *Hook) validate(lookupEnv func(string) (string, bool)) error {
	addr, err := expandEnv(c.AdminAddr, lookupEnv)
	if err != nil {
		return fmt.Errorf("--admin-addr=%q: %w", c.AdminAddr, err)
	}
	c.AdminAddr = addr
	err = errors.Join(validateHostPort("admin-addr", c.AdminAddr), validatePositive("timeout", c.Timeout))
	if err != nil {
		return err
	}
	if _, port, _ := net.SplitHostPort(c.AdminAddr); port == "0" {
		return fmt.Errorf("--admin-addr=%q: port 0 names no server; want the agent's admin port, such as %s",
			c.AdminAddr, DefaultAdminAddr)
	}
	return nil
}

// expandEnv replaces each $(NAME) in s with the variable NAME, and $$ with
// $. A variable that is not set is an error that names it.
func expandEnv(s string, lookupEnv func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
			continue
		case '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				return "", fmt.Errorf("unterminated $( at %q", s[i:])
			}
			name := s[i+2 : i+end]
			v, ok := lookupEnv(name)
			if !ok {
				return "", fmt.Errorf("$(%s) is not set in the environment", name)
			}
			b.WriteString(v)
			s = s[i+end+1:]
			continue
		}
		b.WriteByte('$')
		s = s[i+1:]
	}
}

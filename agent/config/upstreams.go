package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Upstream is one proxied upstream and where the agent serves it.
type Upstream struct {
	// Name is the upstream as given to --upstream: a label with a static
	// endpoint source, or service[.namespace]:port with Kubernetes discovery.
	Name string
	// Listen is the host:port the upstream's proxy listens on.
	Listen string
}

// listValue is a repeatable string flag.
type listValue struct{ values *[]string }

func (v listValue) String() string {
	if v.values == nil {
		return ""
	}
	return strings.Join(*v.values, ",")
}

func (v listValue) Set(s string) error {
	*v.values = append(*v.values, s)
	return nil
}

// pairUpstreams gives every --upstream its listen address: its own
// name=listen form, else the --listen at the same position among the
// upstreams without one, else 127.0.0.1:<port> when its port is a number, or
// DefaultListen for a single upstream.
func pairUpstreams(names, listens []string) ([]Upstream, error) {
	if len(names) == 0 {
		return nil, errors.New("--upstream is required: service[.namespace]:port, or a name with --endpoints or --endpoints-file")
	}
	out := make([]Upstream, 0, len(names))
	next := 0
	for _, n := range names {
		up, err := pairOne(n, listens, &next, len(names) == 1)
		if err != nil {
			return nil, err
		}
		out = append(out, up)
	}
	if next < len(listens) {
		return nil, fmt.Errorf("--listen=%q has no --upstream to pair with", listens[next])
	}
	return out, nil
}

func pairOne(name string, listens []string, next *int, single bool) (Upstream, error) {
	if n, listen, ok := strings.Cut(name, "="); ok {
		return Upstream{Name: strings.TrimSpace(n), Listen: strings.TrimSpace(listen)}, nil
	}
	if *next < len(listens) {
		*next++
		return Upstream{Name: name, Listen: listens[*next-1]}, nil
	}
	if single {
		return Upstream{Name: name, Listen: DefaultListen}, nil
	}
	if port := portOf(name); port != "" {
		return Upstream{Name: name, Listen: net.JoinHostPort("127.0.0.1", port)}, nil
	}
	return Upstream{}, fmt.Errorf("--upstream=%q: no listen address; give a --listen for it or write it as %s=host:port", name, name)
}

// portOf returns the numeric port of service[.namespace]:port, or "".
func portOf(name string) string {
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return ""
	}
	if _, err := strconv.ParseUint(name[i+1:], 10, 16); err != nil {
		return ""
	}
	return name[i+1:]
}

// validateUpstreams checks names and listen addresses, and that no two
// listeners (nor the admin and lookaside servers) share an address.
func (c *Config) validateUpstreams() error {
	var errs []error
	seen := map[string]string{c.AdminAddr: "--admin-addr"}
	if c.LookasideAddr != "" {
		if c.LookasideAddr == c.AdminAddr && !strings.HasSuffix(c.AdminAddr, ":0") {
			errs = append(errs, fmt.Errorf("--lookaside-addr=%s is also --admin-addr; want distinct addresses", c.LookasideAddr))
		}
		seen[c.LookasideAddr] = "--lookaside-addr"
	}
	for _, up := range c.Upstreams {
		if strings.TrimSpace(up.Name) == "" {
			errs = append(errs, errors.New("--upstream: empty name"))
		}
		errs = append(errs, validateHostPort("listen", up.Listen))
		if other, dup := seen[up.Listen]; dup && !strings.HasSuffix(up.Listen, ":0") {
			errs = append(errs, fmt.Errorf("--upstream=%q listens on %s, already used by %s; want distinct addresses", up.Name, up.Listen, other))
		}
		seen[up.Listen] = "--upstream=" + up.Name
	}
	if c.Static() && len(c.Upstreams) > 1 {
		errs = append(errs, errors.New("--endpoints and --endpoints-file serve exactly one --upstream; Kubernetes discovery serves several"))
	}
	return errors.Join(errs...)
}

// Static reports whether endpoints come from --endpoints or
// --endpoints-file rather than from Kubernetes.
func (c *Config) Static() bool { return len(c.Endpoints) > 0 || c.EndpointsFile != "" }

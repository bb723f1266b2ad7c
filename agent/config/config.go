// Package config turns the agent's command line into a validated Config.
//
// Every flag has a default except --upstream and the endpoint source
// (--endpoints or --endpoints-file). Errors name the flag, the bad value and
// what is allowed.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/subset"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Config is the agent's validated configuration.
type Config struct {
	// Upstreams are the upstreams to serve, each on its own listener, in
	// the order given.
	Upstreams []Upstream
	// Endpoints is the fixed endpoint list from --endpoints, canonical,
	// deduplicated and sorted; empty when EndpointsFile is set.
	Endpoints []string
	// EndpointsFile is the file to read endpoints from and watch; empty
	// when Endpoints is set. Without either, endpoints come from the
	// Kubernetes EndpointSlices of each upstream's Service.
	EndpointsFile string
	// Kubeconfig is the kubeconfig file for Kubernetes discovery; empty
	// means the in-cluster service account.
	Kubeconfig string
	// AnnotationsFile is the downward-API file of the pod's annotations,
	// watched for strategy and hash-header changes; empty means none.
	AnnotationsFile string
	// LookasideAddr is where the lookaside Resolve service listens; empty
	// disables it.
	LookasideAddr string
	// Strategy is the balancing strategy's registered name.
	Strategy string
	// HashHeader is the lower-case request header hashed by ring-hash;
	// empty means none, and ring-hash then falls back to round-robin.
	HashHeader string
	// AdminAddr is the host:port of the admin server (/metrics, /healthz,
	// /readyz, /debug/endpoints).
	AdminAddr string
	// DrainTimeout bounds how long requests in flight may take to finish on
	// shutdown and on endpoints being removed.
	DrainTimeout time.Duration
	// LogLevel is one of debug, info, warn and error.
	LogLevel string
	// MaxConcurrentStreams is the most streams the local client may have
	// open on one connection; more are refused.
	MaxConcurrentStreams int
	// MaxHeaderListSize bounds one request or response header block, in
	// bytes as HTTP/2 counts them.
	MaxHeaderListSize int
	// StreamWindow is the flow-control window of one stream, and so the
	// most bytes the agent buffers per stream and direction.
	StreamWindow int
	// ProbeAfter is how long a request may wait with nothing read on its
	// endpoint's connection before the agent pings the connection; zero
	// turns probes off.
	ProbeAfter time.Duration
	// ProbeTimeout is how long a probe may go unanswered before the
	// connection is closed and the endpoint ejected.
	ProbeTimeout time.Duration
	// KeepaliveTime is how long a connection with long-running requests may
	// stay quiet after an answered ping before the agent pings it again.
	KeepaliveTime time.Duration
	// KeepaliveTimeout is how long a keepalive ping may go unanswered
	// before the connection is closed.
	KeepaliveTimeout time.Duration
	// EjectFailures is how many consecutive failures eject an endpoint.
	EjectFailures int
	// EjectBackoff is the base ejection time; it grows with repeated
	// ejections of the same endpoint.
	EjectBackoff time.Duration
	// MaxEjectionPercent caps the share of an upstream's endpoints that may
	// be ejected at once, from 0 to 100.
	MaxEjectionPercent int
	// SubsetSize is how many of each upstream's endpoints the agent
	// connects to; 0 means every one.
	SubsetSize int
	// SubsetID is the agent's place i/C among its peers from --subset-id;
	// not Exact when the flag is absent.
	SubsetID subset.Position
	// SubsetPeers names the Service in the pod's namespace whose pods are
	// the agent's peers, from whose EndpointSlices it learns its place;
	// empty means none.
	SubsetPeers string
}

// Defaults of the flags that have one. Those the webhook must agree with
// come from the annotations contract, and the connection's from transport;
// the rest are the agent's own.
const (
	DefaultListen               = annotations.DefaultListenHost + ":50051"
	DefaultStrategy             = annotations.DefaultStrategy
	DefaultDrainTimeout         = pool.DefaultDrainTimeout
	DefaultLogLevel             = annotations.DefaultLogLevel
	DefaultMaxConcurrentStreams = transport.DefaultMaxConcurrentStreams
	DefaultMaxHeaderListSize    = transport.DefaultMaxHeaderListSize
	DefaultStreamWindow         = transport.DefaultStreamWindow
	DefaultProbeAfter           = transport.DefaultProbeAfter
	DefaultProbeTimeout         = transport.DefaultProbeTimeout
	DefaultKeepaliveTime        = 20 * time.Second
	DefaultKeepaliveTimeout     = transport.DefaultKeepaliveTimeout
	DefaultEjectFailures        = pool.DefaultEjectFailures
	DefaultEjectBackoff         = pool.DefaultEjectBackoff
	DefaultMaxEjectionPercent   = 50
	DefaultSubsetSize           = annotations.DefaultSubsetSize
)

// DefaultAdminAddr is --admin-addr's default: the contract's admin port on
// loopback.
var DefaultAdminAddr = net.JoinHostPort(annotations.DefaultListenHost, strconv.Itoa(annotations.DefaultAdminPort))

// Parse parses args, the command line without the program name, writing
// usage and flag syntax errors to standard error. strategies are the
// names --strategy accepts. With -h or --help it returns flag.ErrHelp.
func Parse(args []string, strategies []string) (*Config, error) {
	return ParseTo(os.Stderr, args, strategies)
}

// ParseTo is Parse writing usage and flag syntax errors to w.
func ParseTo(w io.Writer, args []string, strategies []string) (*Config, error) {
	c := defaults()
	fs, lists := c.flagSet(w)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var pairErr error
	c.Upstreams, pairErr = pairUpstreams(lists.upstreams, lists.listens)
	err := errors.Join(
		c.validateEndpoints(lists.endpoints, given),
		pairErr,
		c.validate(strategies),
		c.validateSubset(lists.subsetID, given),
	)
	if err == nil {
		err = c.validateUpstreams()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func defaults() *Config {
	return &Config{
		Strategy:             DefaultStrategy,
		AdminAddr:            DefaultAdminAddr,
		DrainTimeout:         DefaultDrainTimeout,
		LogLevel:             DefaultLogLevel,
		MaxConcurrentStreams: DefaultMaxConcurrentStreams,
		MaxHeaderListSize:    DefaultMaxHeaderListSize,
		StreamWindow:         DefaultStreamWindow,
		ProbeAfter:           DefaultProbeAfter,
		ProbeTimeout:         DefaultProbeTimeout,
		KeepaliveTime:        DefaultKeepaliveTime,
		KeepaliveTimeout:     DefaultKeepaliveTimeout,
		EjectFailures:        DefaultEjectFailures,
		EjectBackoff:         DefaultEjectBackoff,
		MaxEjectionPercent:   DefaultMaxEjectionPercent,
		SubsetSize:           DefaultSubsetSize,
	}
}

package gateway

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Defaults for the variables read by ConfigFromEnv.
const (
	DefaultServerPort = 50051
	DefaultHTTPPort   = 9091
	DefaultTimeout    = 5 * time.Second
)

// Environment variables read by ConfigFromEnv.
const (
	EnvServerHost = "GRPC_SERVER_HOST"
	EnvServerPort = "GRPC_SERVER_PORT"
	EnvHTTPPort   = "HTTP_PORT"
	EnvTimeout    = "GREET_TIMEOUT"
	EnvLBPolicy   = "GRPC_LB_POLICY"
	EnvDNSServer  = "GRPC_DNS_SERVER"
)

// Load-balancing policies accepted in GRPC_LB_POLICY.
const (
	// PolicyPickFirst sends every call over one connection to one address:
	// the unmodified client, and the default.
	PolicyPickFirst = "pick_first"
	// PolicyRoundRobin resolves the host with DNS and spreads calls over every address.
	PolicyRoundRobin = "round_robin"
)

// LookupFunc reads one environment variable; os.LookupEnv satisfies it.
type LookupFunc func(key string) (string, bool)

// Config is everything the gateway needs to start.
type Config struct {
	ServerHost string
	ServerPort int
	HTTPPort   int
	// Timeout is the deadline of each upstream Greet call.
	Timeout  time.Duration
	LBPolicy string
	// DNSServer ("host:port"), when set with round_robin, is the DNS server
	// asked instead of the system resolver.
	DNSServer string
}

// ConfigFromEnv builds a Config from environment variables. Every error names
// the variable at fault.
func ConfigFromEnv(lookup LookupFunc) (Config, error) {
	cfg := Config{LBPolicy: PolicyPickFirst}
	var err error
	if cfg.ServerHost, err = required(lookup, EnvServerHost); err != nil {
		return Config{}, err
	}
	if cfg.ServerPort, err = port(lookup, EnvServerPort, DefaultServerPort); err != nil {
		return Config{}, err
	}
	if cfg.HTTPPort, err = port(lookup, EnvHTTPPort, DefaultHTTPPort); err != nil {
		return Config{}, err
	}
	if cfg.Timeout, err = timeout(lookup, EnvTimeout); err != nil {
		return Config{}, err
	}
	if cfg.LBPolicy, err = policy(lookup, EnvLBPolicy); err != nil {
		return Config{}, err
	}
	cfg.DNSServer, _ = lookup(EnvDNSServer)
	return cfg, cfg.validateDNSServer()
}

// Target is the gRPC dial target. pick_first uses passthrough, which hands
// host:port to the dialer as is, so every call shares one connection;
// round_robin uses the DNS resolver so that every address gets a connection.
func (c Config) Target() string {
	hostPort := net.JoinHostPort(c.ServerHost, strconv.Itoa(c.ServerPort))
	if c.LBPolicy != PolicyRoundRobin {
		return "passthrough:///" + hostPort
	}
	return "dns://" + c.DNSServer + "/" + hostPort
}

// ServiceConfig is the default gRPC service config for the chosen policy.
func (c Config) ServiceConfig() string {
	return fmt.Sprintf(`{"loadBalancingConfig":[{%q:{}}]}`, c.LBPolicy)
}

// HTTPAddress is the address the REST server listens on (all interfaces).
func (c Config) HTTPAddress() string {
	return ":" + strconv.Itoa(c.HTTPPort)
}

func (c Config) validateDNSServer() error {
	if c.DNSServer == "" {
		return nil
	}
	if c.LBPolicy != PolicyRoundRobin {
		return fmt.Errorf("%s: %q is only used with %s=%s", EnvDNSServer, c.DNSServer, EnvLBPolicy, PolicyRoundRobin)
	}
	if _, _, err := net.SplitHostPort(c.DNSServer); err != nil || strings.Contains(c.DNSServer, "/") {
		return fmt.Errorf("%s: %q is not a host:port address", EnvDNSServer, c.DNSServer)
	}
	return nil
}

func required(lookup LookupFunc, key string) (string, error) {
	v, _ := lookup(key)
	if v == "" {
		return "", fmt.Errorf("%s: must be set to the greet server's host name", key)
	}
	return v, nil
}

func port(lookup LookupFunc, key string, def int) (int, error) {
	raw, ok := lookup(key)
	if !ok || raw == "" {
		return def, nil
	}
	p, err := strconv.Atoi(raw)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s: %q is not a port number (1-65535)", key, raw)
	}
	return p, nil
}

func timeout(lookup LookupFunc, key string) (time.Duration, error) {
	raw, ok := lookup(key)
	if !ok || raw == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration (e.g. 5s)", key, raw)
	}
	return d, nil
}

func policy(lookup LookupFunc, key string) (string, error) {
	raw, _ := lookup(key)
	switch raw {
	case "", PolicyPickFirst:
		return PolicyPickFirst, nil
	case PolicyRoundRobin:
		return PolicyRoundRobin, nil
	}
	return "", fmt.Errorf("%s: unknown policy %q (want %s or %s)", key, raw, PolicyPickFirst, PolicyRoundRobin)
}

package server

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"time"
)

// DefaultPort is the gRPC port used when GRPC_PORT is unset.
const DefaultPort = 50051

// Environment variables read by ConfigFromEnv.
const (
	EnvPodName  = "POD_NAME"
	EnvPodIP    = "POD_IP"
	EnvPort     = "GRPC_PORT"
	EnvDelay    = "GREET_DELAY"
	EnvFailRate = "GREET_FAIL_RATE"
)

// LookupFunc reads one environment variable; os.LookupEnv satisfies it.
type LookupFunc func(key string) (string, bool)

// Config is everything the greet server needs to start.
type Config struct {
	// PodName and PodIP identify this replica in every response.
	PodName string
	PodIP   string
	// Port is the TCP port to listen on.
	Port int
	// Delay is added before every response message.
	Delay time.Duration
	// FailRate is the share of RPCs, in [0, 1], answered with UNAVAILABLE.
	FailRate float64
}

// ListenAddress is PodIP:Port, or :Port (all addresses) when PodIP is empty.
func (c Config) ListenAddress() string {
	return net.JoinHostPort(c.PodIP, strconv.Itoa(c.Port))
}

// ConfigFromEnv builds a Config from environment variables. Every error names
// the variable at fault.
func ConfigFromEnv(lookup LookupFunc) (Config, error) {
	cfg := Config{Port: DefaultPort}
	cfg.PodName, _ = lookup(EnvPodName)
	cfg.PodIP, _ = lookup(EnvPodIP)
	if err := parsePodIP(cfg.PodIP); err != nil {
		return Config{}, err
	}
	var err error
	if cfg.Port, err = parsePort(lookup, EnvPort, DefaultPort); err != nil {
		return Config{}, err
	}
	if cfg.Delay, err = parseDelay(lookup, EnvDelay); err != nil {
		return Config{}, err
	}
	if cfg.FailRate, err = parseRate(lookup, EnvFailRate); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func parsePodIP(ip string) error {
	if ip != "" && net.ParseIP(ip) == nil {
		return fmt.Errorf("%s: %q is not an IP address", EnvPodIP, ip)
	}
	return nil
}

// parsePort reads a TCP port in [1, 65535], or def when the variable is unset or empty.
func parsePort(lookup LookupFunc, key string, def int) (int, error) {
	raw, ok := lookup(key)
	if !ok || raw == "" {
		return def, nil
	}
	port, err := strconv.Atoi(raw)
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("%s: %q is not a port number (1-65535)", key, raw)
	}
	return port, nil
}

func parseDelay(lookup LookupFunc, key string) (time.Duration, error) {
	raw, ok := lookup(key)
	if !ok || raw == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a duration (e.g. 50ms): %w", key, raw, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s: %q must not be negative", key, raw)
	}
	return d, nil
}

func parseRate(lookup LookupFunc, key string) (float64, error) {
	raw, ok := lookup(key)
	if !ok || raw == "" {
		return 0, nil
	}
	rate, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(rate) || rate < 0 || rate > 1 {
		return 0, fmt.Errorf("%s: %q is not a number between 0 and 1", key, raw)
	}
	return rate, nil
}

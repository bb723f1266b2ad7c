package config

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roundabout-dev/roundabout/agent/discovery/static"
	"github.com/roundabout-dev/roundabout/agent/subset"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// validateEndpoints checks that exactly one endpoint source is given and
// parses --endpoints into c.Endpoints.
func (c *Config) validateEndpoints(list string, given map[string]bool) error {
	switch {
	case given["endpoints"] && given["endpoints-file"]:
		return errors.New("--endpoints and --endpoints-file are both set; exactly one of them is allowed")
	case !given["endpoints"] && !given["endpoints-file"]:
		return nil // Kubernetes discovery
	case given["endpoints-file"]:
		if strings.TrimSpace(c.EndpointsFile) == "" {
			return errors.New(`--endpoints-file="": want the path of an endpoints file`)
		}
		return nil
	}
	addrs, err := static.ParseAddrs(splitList(list))
	if err != nil {
		return fmt.Errorf("--endpoints=%q: %w; want host:port entries with port 1-65535, comma-separated", list, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("--endpoints=%q: no endpoint listed; want host:port entries, comma-separated", list)
	}
	c.Endpoints = addrs
	return nil
}

// splitList splits a comma-separated list, dropping blank entries.
func splitList(s string) []string {
	var out []string
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// validate checks every flag other than the endpoint source.
func (c *Config) validate(strategies []string) error {
	err := errors.Join(
		validateStrategy(c.Strategy, strategies),
		validateHashHeader(c.HashHeader),
		validateHostPort("admin-addr", c.AdminAddr),
		validateOptionalHostPort("lookaside-addr", c.LookasideAddr),
		validatePositive("drain-timeout", c.DrainTimeout),
		validateLogLevel(c.LogLevel),
		validateBetween("max-concurrent-streams", c.MaxConcurrentStreams, 1, 1<<20),
		validateBetween("max-header-list-size", c.MaxHeaderListSize, 4<<10, 16<<20),
		validateBetween("stream-window", c.StreamWindow, 16<<10, 16<<20),
		validateNotNegative("probe-after", c.ProbeAfter),
		validatePositive("probe-timeout", c.ProbeTimeout),
		validatePositive("keepalive-time", c.KeepaliveTime),
		validatePositive("keepalive-timeout", c.KeepaliveTimeout),
		validateAtLeast("eject-failures", c.EjectFailures, 1),
		validatePositive("eject-backoff", c.EjectBackoff),
		validateBetween("max-ejection-percent", c.MaxEjectionPercent, 0, 100),
	)
	c.HashHeader = strings.ToLower(c.HashHeader)
	return err
}

// validateSubset checks --subset-size, parses --subset-id into c.SubsetID
// and checks --subset-peers, of which at most one of the last two may be
// given.
func (c *Config) validateSubset(id string, given map[string]bool) error {
	var errs []error
	if c.SubsetSize < 0 || c.SubsetSize > annotations.MaxSubsetSize {
		errs = append(errs, fmt.Errorf("--subset-size=%d: must be from 0 to %d; 0 means every endpoint", c.SubsetSize, annotations.MaxSubsetSize))
	}
	if given["subset-id"] {
		i, n, err := annotations.ParseSubsetID(id)
		if err != nil {
			errs = append(errs, flagError("subset-id", err))
		} else {
			c.SubsetID = subset.Of(i, n)
		}
	}
	if given["subset-peers"] {
		errs = append(errs, flagError("subset-peers", annotations.ValidSubsetPeers(c.SubsetPeers)))
	}
	if given["subset-id"] && given["subset-peers"] {
		errs = append(errs, errors.New("--subset-id and --subset-peers are both set; the place i/C comes from one of them"))
	}
	return errors.Join(errs...)
}

func validateHostPort(flagName, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if _, perr := strconv.ParseUint(port, 10, 16); perr != nil {
			err = fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
	}
	if err != nil {
		return fmt.Errorf("--%s=%q: %v; want host:port, such as %s", flagName, addr, err, DefaultAdminAddr)
	}
	return nil
}

func validateOptionalHostPort(flagName, addr string) error {
	if addr == "" {
		return nil
	}
	return validateHostPort(flagName, addr)
}

func validateStrategy(name string, allowed []string) error {
	if slices.Contains(allowed, name) {
		return nil
	}
	sorted := slices.Sorted(slices.Values(allowed))
	return fmt.Errorf("--strategy=%q: unknown strategy; allowed: %s", name, strings.Join(sorted, ", "))
}

// validateHashHeader accepts what the hash-header annotation accepts
// (annotations.ValidHashHeader), before it is lower-cased. Empty means
// unset.
func validateHashHeader(name string) error {
	if name == "" {
		return nil
	}
	return flagError("hash-header", annotations.ValidHashHeader(name))
}

func validatePositive(flagName string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--%s=%s: must be greater than 0, such as 30s", flagName, d)
	}
	return nil
}

func validateNotNegative(flagName string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("--%s=%s: must not be negative; 0 turns it off", flagName, d)
	}
	return nil
}

func validateAtLeast(flagName string, n, lo int) error {
	if n < lo {
		return fmt.Errorf("--%s=%d: must be at least %d", flagName, n, lo)
	}
	return nil
}

func validateBetween(flagName string, n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("--%s=%d: must be from %d to %d", flagName, n, lo, hi)
	}
	return nil
}

func validateLogLevel(level string) error {
	return flagError("log-level", annotations.ValidLogLevel(level))
}

// flagError words err, from one of the contract's validators, for the flag
// that carries the same setting as the annotation: the flag, its value and
// the contract's problem.
func flagError(flagName string, err error) error {
	var ae *annotations.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("--%s=%q: %s", flagName, ae.Value, ae.Problem)
	}
	return err
}

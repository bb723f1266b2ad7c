// Package balancer defines how the agent picks an endpoint for one request.
//
// A strategy is a Builder registered under its Name. Builders turn the current
// set of usable endpoints into an immutable Picker, which the agent asks for
// an endpoint for every attempt of an RPC or stream. When the endpoint set or
// the strategy changes, the agent builds a new Picker and swaps it in
// atomically, so requests already in flight keep the endpoint they were
// given.
//
// Strategies never see connections, gRPC or Kubernetes: only endpoints and
// the load figures recorded on them for every request. Each lives in its own
// subpackage (roundrobin, random, leastrequest, peakewma, ringhash), supplies
// only a PickerBuilder, and gets its Builder from NewBuilder, which keeps the
// rules they all share. Each registers itself when imported; importing
// agent/balancer/all registers them all. Every Pick is allocation-free; each
// package's documentation says what a pick costs, and its benchmarks measure
// it.
package balancer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// ErrNoEndpoint is the error of a pick with no endpoint to give, such as
// every pick from a picker built over no endpoints (see Builder).
var ErrNoEndpoint = errors.New("no usable endpoint")

// Endpoint is one server a picker may choose.
type Endpoint struct {
	// Addr is the endpoint's host:port; it identifies the endpoint.
	Addr string
	// Load holds the endpoint's live load figures. It outlives pickers, so a
	// strategy swap keeps each endpoint's history.
	Load *Load
}

// PickInfo describes the request being routed.
type PickInfo struct {
	// HashKey is the value of the configured hash header, if the request had it.
	HashKey string
	// HasHashKey reports whether the request carried the hash header at all.
	HasHashKey bool
}

// Picker chooses an endpoint for one request. Implementations must be safe
// for concurrent use; they are never mutated after Build.
type Picker interface {
	Pick(info PickInfo) (Endpoint, error)
}

// Builder makes pickers for one strategy.
type Builder interface {
	// Name is the strategy's name as given to --strategy and the
	// roundabout.dev/strategy annotation.
	Name() string
	// Build returns a picker over endpoints, which are sorted by Addr and
	// owned by the picker afterwards. The endpoint set may be empty: every
	// pick from a picker built over no endpoints fails with ErrNoEndpoint.
	// An endpoint without load figures is given fresh ones, so it reads as
	// idle and unmeasured.
	Build(endpoints []Endpoint) Picker
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Builder{}
)

// Register makes a strategy available by its name. It is meant to be called
// from a strategy package's init function.
func Register(b Builder) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[b.Name()] = b
}

// Get returns the builder registered under name, or an error that names the
// allowed values.
func Get(name string) (Builder, error) {
	registryMu.RLock()
	b, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown strategy %q (allowed: %s)", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Names lists the registered strategies in sorted order.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// errPicker always fails; it stands in while there is no endpoint.
type errPicker struct{ err error }

func (p errPicker) Pick(PickInfo) (Endpoint, error) { return Endpoint{}, p.err }

// NewErrPicker returns a picker whose every Pick fails with err.
func NewErrPicker(err error) Picker { return errPicker{err: err} }

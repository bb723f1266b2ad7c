// Package ringhash implements the ring-hash strategy: requests carrying the
// same hash key go to the same endpoint, and a change of N endpoints to N+1
// (or back) moves only about 1/(N+1) of the keys.
//
// Each endpoint is placed on a 64-bit ring at VirtualNodes points, the
// xxhash of "addr_i" for i in [0, VirtualNodes), as Envoy and gRPC name
// them. A key belongs to the first point at or after xxhash(key), wrapping
// around. Points depend only on the endpoint's address, so adding an
// endpoint takes keys only for itself and removing one hands only its own
// keys to the others. Requests without the hash header go round-robin.
//
// Over a subset (package agent/subset), the ring a client builds is the
// ring of every endpoint without the points of those outside its subset.
// A key whose owner is in the client's subset therefore goes to that
// owner, the same server for every client that has it; a key whose owner
// is outside goes to the next endpoint of the client's subset clockwise
// from the key, which differs from client to client. Keys keep one server
// across all clients only while every client has every endpoint:
// --subset-size 0, or a Service no bigger than the subset size.
//
// Cost: a keyed pick is one hash of the key and a binary search over the
// ring, and no allocation; an unkeyed pick is a round-robin pick.
// BenchmarkPick and BenchmarkPickWithoutKey measure them. A ring costs 12
// bytes per point, VirtualNodes points per endpoint, and is built once per
// picker; BenchmarkBuild measures that.
package ringhash

import (
	"fmt"
	"math/rand/v2"

	"github.com/cespare/xxhash/v2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/roundrobin"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Name is the strategy's name in --strategy and the strategy annotation.
const Name = annotations.StrategyRingHash

const (
	// DefaultVirtualNodes is the number of ring points per endpoint when
	// Config.VirtualNodes is zero. It keeps every endpoint's share of keys
	// within about 10% of a fair share.
	DefaultVirtualNodes = 150
	// MaxVirtualNodes bounds Config.VirtualNodes, and so the ring's memory.
	MaxVirtualNodes = 4096
)

func init() {
	balancer.Register(newBuilder(DefaultVirtualNodes, nil))
}

// Config configures the ring-hash strategy.
type Config struct {
	// VirtualNodes is the number of ring points per endpoint. More points
	// spread keys more evenly (an endpoint's share strays from fair by about
	// 1/sqrt(VirtualNodes)) at 12 bytes of memory each. Zero means
	// DefaultVirtualNodes; otherwise it must be between 1 and
	// MaxVirtualNodes.
	VirtualNodes int
	// Source draws the starting offset of the round-robin fallback for
	// requests without a hash key. Nil means the runtime's global generator.
	Source rand.Source
}

// NewBuilder returns a ring-hash builder configured by cfg, or an error
// naming the field that is out of range.
func NewBuilder(cfg Config) (balancer.Builder, error) {
	switch {
	case cfg.VirtualNodes == 0:
		cfg.VirtualNodes = DefaultVirtualNodes
	case cfg.VirtualNodes < 0 || cfg.VirtualNodes > MaxVirtualNodes:
		return nil, fmt.Errorf("ring-hash: VirtualNodes is %d; it must be between 1 and %d, or 0 for the default %d",
			cfg.VirtualNodes, MaxVirtualNodes, DefaultVirtualNodes)
	}
	return newBuilder(cfg.VirtualNodes, cfg.Source), nil
}

func newBuilder(vnodes int, src rand.Source) balancer.Builder {
	fallback := roundrobin.NewBuilder(roundrobin.Config{Source: src})
	return balancer.NewBuilder(Name, pickerBuilder{vnodes: vnodes, fallback: fallback})
}

type pickerBuilder struct {
	vnodes   int
	fallback balancer.Builder
}

func (b pickerBuilder) Build(endpoints []balancer.Endpoint) balancer.Picker {
	return &picker{
		ring:      newRing(endpoints, b.vnodes),
		endpoints: endpoints,
		fallback:  b.fallback.Build(endpoints),
	}
}

type picker struct {
	ring      ring
	endpoints []balancer.Endpoint
	fallback  balancer.Picker
}

func (p *picker) Pick(info balancer.PickInfo) (balancer.Endpoint, error) {
	if !info.HasHashKey {
		return p.fallback.Pick(info)
	}
	return p.endpoints[p.ring.owner(xxhash.Sum64String(info.HashKey))], nil
}

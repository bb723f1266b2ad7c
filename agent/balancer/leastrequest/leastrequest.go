// Package leastrequest implements the least-request strategy with the power
// of two choices: each pick draws two distinct endpoints at random and takes
// the one with fewer requests in flight.
//
// Comparing two random endpoints rather than scanning all of them keeps a
// pick constant-time and stops every agent from piling onto the same
// momentarily idle endpoint, while still steering load away from endpoints
// that are slow to answer (Mitzenmacher, "The Power of Two Random Choices").
// Ties go to either endpoint with equal probability.
//
// Cost: a pick is two random draws and two atomic loads and no allocation,
// independent of the number of endpoints; BenchmarkPick measures it.
package leastrequest

import (
	"math/rand/v2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/pickrand"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Name is the strategy's name in --strategy and the strategy annotation.
const Name = annotations.StrategyLeastRequest

func init() {
	balancer.Register(NewBuilder(Config{}))
}

// Config configures the least-request strategy.
type Config struct {
	// Source supplies the randomness that draws the two candidates. Nil
	// means the runtime's global generator, which needs no seeding or lock.
	// A non-nil source is shared by every picker the builder makes and
	// guarded by a lock, so a seeded source gives reproducible picks.
	Source rand.Source
}

// NewBuilder returns a least-request builder configured by cfg.
func NewBuilder(cfg Config) balancer.Builder {
	return balancer.NewBuilder(Name, pickerBuilder{rand: pickrand.New(cfg.Source)})
}

type pickerBuilder struct {
	rand *pickrand.Rand
}

func (b pickerBuilder) Build(endpoints []balancer.Endpoint) balancer.Picker {
	return &picker{endpoints: endpoints, rand: b.rand}
}

type picker struct {
	endpoints []balancer.Endpoint
	rand      *pickrand.Rand
}

func (p *picker) Pick(balancer.PickInfo) (balancer.Endpoint, error) {
	if len(p.endpoints) == 1 {
		return p.endpoints[0], nil
	}
	i, j := p.rand.Pair(len(p.endpoints))
	a, b := p.endpoints[i], p.endpoints[j]
	if b.Load.InFlight() < a.Load.InFlight() {
		return b, nil
	}
	return a, nil
}

// Package random implements the random strategy: every pick is an
// independent, uniform choice among the endpoints.
//
// It keeps no state between picks, so it is the strategy least affected by
// many agents acting at once.
//
// Cost: with the default source a pick is one draw from the runtime's
// per-thread generator and no allocation, independent of the number of
// endpoints; an injected source adds a lock. BenchmarkPick measures it.
package random

import (
	"math/rand/v2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/pickrand"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Name is the strategy's name in --strategy and the strategy annotation.
const Name = annotations.StrategyRandom

func init() {
	balancer.Register(NewBuilder(Config{}))
}

// Config configures the random strategy.
type Config struct {
	// Source supplies the randomness. Nil means the runtime's global
	// generator, which needs no seeding or lock. A non-nil source is shared
	// by every picker the builder makes and guarded by a lock, so a seeded
	// source gives a reproducible sequence of picks.
	Source rand.Source
}

// NewBuilder returns a random builder configured by cfg.
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
	return p.endpoints[p.rand.IntN(len(p.endpoints))], nil
}

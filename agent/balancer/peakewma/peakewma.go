// Package peakewma implements the peak-EWMA strategy of Finagle and Linkerd:
// each pick draws two distinct endpoints at random and takes the one with
// the lower cost, where
//
//	cost = EWMA latency * (requests in flight + 1)
//
// The EWMA (see balancer.Load) jumps to latency peaks at once and decays
// towards zero while an endpoint is idle, so a slow endpoint is shunned
// quickly and retried once it has rested. An endpoint that has never
// answered costs nothing while idle, so it is tried; once it has requests in
// flight but still no latency sample it costs a large penalty, so it is not
// flooded before its first answer shows how fast it is.
//
// Cost: a pick is two random draws, one clock read and, per candidate, a
// short-held lock and an exponential, and no allocation, independent of the
// number of endpoints. BenchmarkPick measures it; BenchmarkPickInjectedClock,
// whose fixed clock skips both the clock read and the decay, shows what those
// two add.
package peakewma

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/pickrand"
	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Name is the strategy's name in --strategy and the strategy annotation.
const Name = annotations.StrategyPeakEWMA

// penalty is the cost of an endpoint with requests in flight and no latency
// sample yet, as in Finagle: far above any measured cost (it stands for
// about 39 hours of latency), yet finite, so two such endpoints still compare
// by their requests in flight.
const penalty = float64(math.MaxInt64 >> 16)

func init() {
	balancer.Register(NewBuilder(Config{}))
}

// Config configures the peak-EWMA strategy.
type Config struct {
	// Now reads the clock the latency averages are decayed to. Nil means
	// time.Now. It must be the clock whose readings are passed to
	// balancer.Load.End, which the agent reads with time.Now.
	Now func() time.Time
	// Source supplies the randomness that draws the two candidates. Nil
	// means the runtime's global generator, which needs no seeding or lock.
	// A non-nil source is shared by every picker the builder makes and
	// guarded by a lock, so a seeded source gives reproducible picks.
	Source rand.Source
}

// NewBuilder returns a peak-EWMA builder configured by cfg.
func NewBuilder(cfg Config) balancer.Builder {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return balancer.NewBuilder(Name, pickerBuilder{now: now, rand: pickrand.New(cfg.Source)})
}

type pickerBuilder struct {
	now  func() time.Time
	rand *pickrand.Rand
}

func (b pickerBuilder) Build(endpoints []balancer.Endpoint) balancer.Picker {
	return &picker{endpoints: endpoints, now: b.now, rand: b.rand}
}

type picker struct {
	endpoints []balancer.Endpoint
	now       func() time.Time
	rand      *pickrand.Rand
}

func (p *picker) Pick(balancer.PickInfo) (balancer.Endpoint, error) {
	if len(p.endpoints) == 1 {
		return p.endpoints[0], nil
	}
	i, j := p.rand.Pair(len(p.endpoints))
	a, b := p.endpoints[i], p.endpoints[j]
	now := p.now()
	if cost(b.Load, now) < cost(a.Load, now) {
		return b, nil
	}
	return a, nil
}

// cost is the expected wait for a new request on the endpoint, in
// nanoseconds: its latency average times the requests it would be sharing
// the endpoint with.
func cost(l *balancer.Load, now time.Time) float64 {
	inflight := float64(l.InFlight())
	ewma := l.EWMA(now)
	if ewma == 0 && inflight > 0 {
		return penalty + inflight
	}
	return float64(ewma) * (inflight + 1)
}

package balancertest

import (
	"errors"
	"fmt"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
)

// MaxRequests bounds one simulation.
const MaxRequests = 1_000_000

// Simulation sends requests at a fixed rate to endpoints that each answer in
// a fixed time, recording load on the endpoints the way the agent does.
type Simulation struct {
	// Endpoints are the endpoints the picker was built over.
	Endpoints []balancer.Endpoint
	// Latency is each endpoint's service time, by index into Endpoints.
	Latency []time.Duration
	// Interval is the time between two requests; it must be positive.
	Interval time.Duration
	// Requests is how many requests to send, between 1 and MaxRequests.
	Requests int
	// Clock is advanced by Interval before every request; it must be the
	// clock the picker reads.
	Clock *Clock
}

// Run sends the requests through p and returns how many each endpoint got,
// by index into Endpoints. Requests still in flight at the end are left so.
func (s Simulation) Run(p balancer.Picker) ([]int, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	index := make(map[string]int, len(s.Endpoints))
	for i, ep := range s.Endpoints {
		index[ep.Addr] = i
	}
	counts := make([]int, len(s.Endpoints))
	pending := make([][]time.Time, len(s.Endpoints)) // finish times, oldest first
	for range s.Requests {
		s.Clock.Advance(s.Interval)
		now := s.Clock.Now()
		s.complete(pending, now)
		ep, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			return counts, fmt.Errorf("pick at %v: %w", now.Sub(Epoch), err)
		}
		i, ok := index[ep.Addr]
		if !ok {
			return counts, fmt.Errorf("picker returned unknown endpoint %q", ep.Addr)
		}
		counts[i]++
		ep.Load.Begin()
		pending[i] = append(pending[i], now.Add(s.Latency[i]))
	}
	return counts, nil
}

// complete ends every request whose finish time has come.
func (s Simulation) complete(pending [][]time.Time, now time.Time) {
	for i, queue := range pending {
		n := 0
		for n < len(queue) && !queue[n].After(now) {
			s.Endpoints[i].Load.End(s.Latency[i], queue[n])
			n++
		}
		pending[i] = queue[n:]
	}
}

func (s Simulation) validate() error {
	switch {
	case len(s.Endpoints) == 0:
		return errors.New("simulation: Endpoints is empty")
	case len(s.Latency) != len(s.Endpoints):
		return fmt.Errorf("simulation: Latency has %d entries for %d endpoints", len(s.Latency), len(s.Endpoints))
	case s.Interval <= 0:
		return fmt.Errorf("simulation: Interval %v must be positive", s.Interval)
	case s.Requests < 1 || s.Requests > MaxRequests:
		return fmt.Errorf("simulation: Requests %d must be between 1 and %d", s.Requests, MaxRequests)
	case s.Clock == nil:
		return errors.New("simulation: Clock is nil")
	}
	return nil
}

// SlowShareBound checks the outcome of a simulation in which endpoint slow
// is much slower than all others: it must have received less than half the
// requests of the least-picked other endpoint.
func SlowShareBound(counts []int, slow int) error {
	least := -1
	for i, c := range counts {
		if i != slow && (least < 0 || c < least) {
			least = c
		}
	}
	if least < 0 {
		return errors.New("no endpoint besides the slow one")
	}
	if 2*counts[slow] >= least {
		return fmt.Errorf("slow endpoint got %d requests, not less than half of the least-picked other endpoint's %d (all: %v)",
			counts[slow], least, counts)
	}
	return nil
}

package balancertest

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
)

// rotation ignores load, so it shows what the simulation does on its own.
type rotation struct {
	eps  []balancer.Endpoint
	next atomic.Uint64
}

func (r *rotation) Pick(balancer.PickInfo) (balancer.Endpoint, error) {
	return r.eps[(r.next.Add(1)-1)%uint64(len(r.eps))], nil
}

func TestSimulationAloneDoesNotFavourFastEndpoints(t *testing.T) {
	eps := Endpoints(3)
	sim := Simulation{
		Endpoints: eps,
		Latency:   []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond},
		Interval:  time.Millisecond,
		Requests:  3000,
		Clock:     NewClock(),
	}
	counts, err := sim.Run(&rotation{eps: eps})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range counts {
		if c != 1000 {
			t.Errorf("endpoint %d got %d requests; want 1000 from a load-blind rotation", i, c)
		}
	}
	if err := SlowShareBound(counts, 2); err == nil {
		t.Error("SlowShareBound accepted an even split")
	}
	// The slow endpoint has 100ms/3ms ~ 33 requests in flight, the fast ones ~3.
	if got := eps[2].Load.InFlight(); got < 30 || got > 35 {
		t.Errorf("slow endpoint has %d requests in flight; want about 33", got)
	}
	if got := eps[2].Load.EWMA(sim.Clock.Now()); got < 99*time.Millisecond || got > 100*time.Millisecond {
		t.Errorf("slow endpoint EWMA = %v; want just under 100ms", got)
	}
}

func TestSimulationRejectsBadInput(t *testing.T) {
	eps := Endpoints(2)
	good := Simulation{Endpoints: eps, Latency: make([]time.Duration, 2), Interval: 1, Requests: 1, Clock: NewClock()}
	for field, bad := range map[string]Simulation{
		"Endpoints": {Latency: good.Latency, Interval: 1, Requests: 1, Clock: good.Clock},
		"Latency":   {Endpoints: eps, Interval: 1, Requests: 1, Clock: good.Clock},
		"Interval":  {Endpoints: eps, Latency: good.Latency, Requests: 1, Clock: good.Clock},
		"Requests":  {Endpoints: eps, Latency: good.Latency, Interval: 1, Requests: MaxRequests + 1, Clock: good.Clock},
		"Clock":     {Endpoints: eps, Latency: good.Latency, Interval: 1, Requests: 1},
	} {
		if _, err := bad.Run(&rotation{eps: eps}); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: error %v does not name the field", field, err)
		}
	}
	if _, err := good.Run(&rotation{eps: eps}); err != nil {
		t.Errorf("good simulation: %v", err)
	}
}

func TestEndpointsAreSorted(t *testing.T) {
	eps := Endpoints(300)
	for i := 1; i < len(eps); i++ {
		if eps[i-1].Addr >= eps[i].Addr {
			t.Fatalf("endpoint %d %q is not after %q", i, eps[i].Addr, eps[i-1].Addr)
		}
	}
}

package peakewma_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/balancer/peakewma"
)

var t0 = balancertest.Epoch

func build(eps []balancer.Endpoint, clock *balancertest.Clock, seed uint64) balancer.Picker {
	return peakewma.NewBuilder(peakewma.Config{Now: clock.Now, Source: rand.NewPCG(seed, seed)}).Build(eps)
}

// load gives ep a latency sample of rtt at t0 and leaves inflight requests
// in flight.
func load(ep balancer.Endpoint, rtt time.Duration, inflight int) {
	if rtt > 0 {
		ep.Load.Begin()
		ep.Load.End(rtt, t0)
	}
	for range inflight {
		ep.Load.Begin()
	}
}

// pickPair builds a picker over two endpoints, so both are always the
// candidates, and checks which one wins every time.
func pickPair(t *testing.T, eps []balancer.Endpoint, clock *balancertest.Clock, want int, why string) {
	t.Helper()
	p := build(eps, clock, 1)
	for range 20 {
		ep, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if ep.Addr != eps[want].Addr {
			t.Fatalf("picked %s; want %s: %s", ep.Addr, eps[want].Addr, why)
		}
	}
}

func TestLowerLatencyWins(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], 100*time.Millisecond, 0)
	load(eps[1], 10*time.Millisecond, 0)
	pickPair(t, eps, balancertest.NewClock(), 1, "10ms beats 100ms at equal load")
}

func TestCostWeighsRequestsInFlight(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], 10*time.Millisecond, 9) // cost 10ms * 10
	load(eps[1], 50*time.Millisecond, 0) // cost 50ms * 1
	pickPair(t, eps, balancertest.NewClock(), 1, "50ms idle beats 10ms with 9 in flight")
}

func TestUnmeasuredIdleEndpointIsTried(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], time.Millisecond, 0)
	pickPair(t, eps, balancertest.NewClock(), 1, "an idle endpoint with no sample costs nothing")
}

func TestUnmeasuredBusyEndpointIsNotFlooded(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], time.Second, 100)
	load(eps[1], 0, 1)
	pickPair(t, eps, balancertest.NewClock(), 0, "an endpoint awaiting its first answer is avoided")
}

func TestUnmeasuredBusyEndpointsCompareByInFlight(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], 0, 2)
	load(eps[1], 0, 1)
	pickPair(t, eps, balancertest.NewClock(), 1, "of two unmeasured endpoints, fewer in flight wins")
}

// TestIdleSlowEndpointIsRetried shows the injected clock is the one read: a
// minute after its 100ms peak, an idle endpoint's average has decayed below
// a steady 10ms one, so it is tried again.
func TestIdleSlowEndpointIsRetried(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], 100*time.Millisecond, 0)
	clock := balancertest.NewClock()
	clock.Advance(time.Minute)
	eps[1].Load.Begin()
	eps[1].Load.End(10*time.Millisecond, clock.Now())
	pickPair(t, eps, clock, 0, "a rested endpoint's decayed average is the lower")
}

// TestSlowEndpointGetsLessTraffic sends a request every millisecond to three
// endpoints, one ten times slower than the others; it must get less than
// half the share of either fast one, where a load-blind strategy would give
// it a third.
func TestSlowEndpointGetsLessTraffic(t *testing.T) {
	eps := balancertest.Endpoints(3)
	clock := balancertest.NewClock()
	sim := balancertest.Simulation{
		Endpoints: eps,
		Latency:   []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond},
		Interval:  time.Millisecond,
		Requests:  20000,
		Clock:     clock,
	}
	counts, err := sim.Run(build(eps, clock, 3))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("requests per endpoint (fast, fast, slow): %v", counts)
	if err := balancertest.SlowShareBound(counts, 2); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointWithoutLoadIsTried(t *testing.T) {
	eps := balancertest.Endpoints(2)
	load(eps[0], time.Millisecond, 0)
	eps[1].Load = nil
	pickPair(t, eps, balancertest.NewClock(), 1, "an endpoint without load figures reads as idle and unmeasured")
}

func TestSingleEndpoint(t *testing.T) {
	eps := balancertest.Endpoints(1)
	load(eps[0], 0, 3)
	ep, err := build(eps, balancertest.NewClock(), 4).Pick(balancer.PickInfo{})
	if err != nil || ep.Addr != eps[0].Addr {
		t.Fatalf("Pick over one endpoint = %v, %v; want %s", ep.Addr, err, eps[0].Addr)
	}
}

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(balancertest.BenchName(n), func(b *testing.B) {
			eps := balancertest.Endpoints(n)
			for _, ep := range eps {
				ep.Load.Begin()
				ep.Load.End(time.Millisecond, time.Now())
			}
			p := peakewma.NewBuilder(peakewma.Config{}).Build(eps)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Pick(balancer.PickInfo{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPickInjectedClock leaves out the clock read, which dominates a
// pick on virtual machines whose clock source is not the TSC.
func BenchmarkPickInjectedClock(b *testing.B) {
	eps := balancertest.Endpoints(3)
	for _, ep := range eps {
		ep.Load.Begin()
		ep.Load.End(time.Millisecond, t0)
	}
	p := peakewma.NewBuilder(peakewma.Config{Now: func() time.Time { return t0 }}).Build(eps)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Pick(balancer.PickInfo{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestContract(t *testing.T) {
	balancertest.Contract(t, peakewma.NewBuilder(peakewma.Config{}))
}

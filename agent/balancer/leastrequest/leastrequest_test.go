package leastrequest_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/balancer/leastrequest"
)

func build(eps []balancer.Endpoint, seed uint64) balancer.Picker {
	return leastrequest.NewBuilder(leastrequest.Config{Source: rand.NewPCG(seed, seed)}).Build(eps)
}

func pickCounts(t *testing.T, p balancer.Picker, picks int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range picks {
		ep, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			t.Fatal(err)
		}
		counts[ep.Addr]++
	}
	return counts
}

func begin(ep balancer.Endpoint, n int) {
	for range n {
		ep.Load.Begin()
	}
}

// TestMostLoadedLosesEveryPair: with in-flight counts 0, 1 and 2 the most
// loaded endpoint loses every comparison, and the idle one wins both pairs
// it is drawn into, two thirds of all picks.
func TestMostLoadedLosesEveryPair(t *testing.T) {
	eps := balancertest.Endpoints(3)
	begin(eps[1], 1)
	begin(eps[2], 2)
	counts := pickCounts(t, build(eps, 1), 3000)
	if c := counts[eps[2].Addr]; c != 0 {
		t.Errorf("most loaded endpoint got %d picks; want 0 (all: %v)", c, counts)
	}
	if c := counts[eps[0].Addr]; c < 1900 || c > 2100 {
		t.Errorf("idle endpoint got %d of 3000 picks; want about 2000 (all: %v)", c, counts)
	}
}

// TestTiesAreBrokenAtRandom: with equal loads every endpoint gets an even
// share, so no endpoint is favoured by its position.
func TestTiesAreBrokenAtRandom(t *testing.T) {
	eps := balancertest.Endpoints(3)
	counts := pickCounts(t, build(eps, 2), 30000)
	for _, ep := range eps {
		if c := counts[ep.Addr]; c < 9500 || c > 10500 {
			t.Errorf("%s got %d of 30000 tied picks; want 10000 +-5%% (all: %v)", ep.Addr, c, counts)
		}
	}
}

// TestSlowEndpointGetsLessTraffic sends a request every millisecond to three
// endpoints, one ten times slower than the others. Requests pile up in
// flight on the slow one, so it must get less than half the share of either
// fast one; a load-blind strategy would give it a third.
func TestSlowEndpointGetsLessTraffic(t *testing.T) {
	eps := balancertest.Endpoints(3)
	sim := balancertest.Simulation{
		Endpoints: eps,
		Latency:   []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, 10 * time.Millisecond},
		Interval:  time.Millisecond,
		Requests:  20000,
		Clock:     balancertest.NewClock(),
	}
	counts, err := sim.Run(build(eps, 3))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("requests per endpoint (fast, slow, fast): %v", counts)
	if err := balancertest.SlowShareBound(counts, 1); err != nil {
		t.Fatal(err)
	}
}

func TestSingleEndpoint(t *testing.T) {
	eps := balancertest.Endpoints(1)
	begin(eps[0], 10)
	ep, err := build(eps, 4).Pick(balancer.PickInfo{})
	if err != nil || ep.Addr != eps[0].Addr {
		t.Fatalf("Pick over one endpoint = %v, %v; want %s", ep.Addr, err, eps[0].Addr)
	}
}

func TestEndpointWithoutLoadReadsIdle(t *testing.T) {
	eps := balancertest.Endpoints(2)
	begin(eps[0], 1)
	eps[1].Load = nil
	ep, err := build(eps, 5).Pick(balancer.PickInfo{})
	if err != nil || ep.Addr != eps[1].Addr {
		t.Fatalf("Pick = %v, %v; want the endpoint without load figures, read as idle", ep.Addr, err)
	}
}

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(balancertest.BenchName(n), func(b *testing.B) {
			p := leastrequest.NewBuilder(leastrequest.Config{}).Build(balancertest.Endpoints(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Pick(balancer.PickInfo{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestContract(t *testing.T) {
	balancertest.Contract(t, leastrequest.NewBuilder(leastrequest.Config{}))
}

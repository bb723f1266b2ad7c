package roundrobin_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/balancer/roundrobin"
)

// TestExactRotation checks that, from whatever offset a picker starts at, it
// walks the endpoints in order and 300 picks over 3 give exactly 100 each.
func TestExactRotation(t *testing.T) {
	for seed := range uint64(10) {
		eps := balancertest.Endpoints(3)
		p := roundrobin.NewBuilder(roundrobin.Config{Source: rand.NewPCG(seed, seed)}).Build(eps)
		counts := map[string]int{}
		prev := -1
		for range 300 {
			ep, _ := p.Pick(balancer.PickInfo{})
			counts[ep.Addr]++
			i := indexOf(eps, ep.Addr)
			if prev >= 0 && i != (prev+1)%3 {
				t.Fatalf("seed %d: %s follows %s; want the next endpoint in order", seed, ep.Addr, eps[prev].Addr)
			}
			prev = i
		}
		for _, ep := range eps {
			if counts[ep.Addr] != 100 {
				t.Fatalf("seed %d: %s got %d of 300 picks; want exactly 100 (all: %v)", seed, ep.Addr, counts[ep.Addr], counts)
			}
		}
	}
}

func TestStartingOffsetVaries(t *testing.T) {
	eps := balancertest.Endpoints(3)
	b := roundrobin.NewBuilder(roundrobin.Config{Source: rand.NewPCG(1, 2)})
	first := map[string]bool{}
	for range 50 {
		ep, _ := b.Build(eps).Pick(balancer.PickInfo{})
		first[ep.Addr] = true
	}
	if len(first) != 3 {
		t.Fatalf("50 pickers started at %d distinct endpoints; want all 3", len(first))
	}
}

func TestConcurrentPicksStayExact(t *testing.T) {
	eps := balancertest.Endpoints(3)
	p := roundrobin.NewBuilder(roundrobin.Config{}).Build(eps)
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			local := map[string]int{}
			for range 750 {
				ep, _ := p.Pick(balancer.PickInfo{})
				local[ep.Addr]++
			}
			mu.Lock()
			defer mu.Unlock()
			for a, c := range local {
				counts[a] += c
			}
		})
	}
	wg.Wait()
	for _, ep := range eps {
		if counts[ep.Addr] != 1000 {
			t.Fatalf("%s got %d of 3000 concurrent picks; want exactly 1000 (all: %v)", ep.Addr, counts[ep.Addr], counts)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(balancertest.BenchName(n), func(b *testing.B) {
			p := roundrobin.NewBuilder(roundrobin.Config{}).Build(balancertest.Endpoints(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Pick(balancer.PickInfo{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func indexOf(eps []balancer.Endpoint, addr string) int {
	for i, ep := range eps {
		if ep.Addr == addr {
			return i
		}
	}
	return -1
}

func TestContract(t *testing.T) {
	balancertest.Contract(t, roundrobin.NewBuilder(roundrobin.Config{}))
}

package random_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/balancer/random"
)

// TestUniform checks each endpoint's share of 30000 picks against 10000.
// The standard deviation of one count is about 82, so the 5% bound (500) is
// six deviations wide: a seeded source keeps the test deterministic and a
// biased picker cannot pass it.
func TestUniform(t *testing.T) {
	const n, picks = 3, 30000
	eps := balancertest.Endpoints(n)
	p := random.NewBuilder(random.Config{Source: rand.NewPCG(7, 11)}).Build(eps)
	counts := map[string]int{}
	for range picks {
		ep, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			t.Fatal(err)
		}
		counts[ep.Addr]++
	}
	want := picks / n
	for _, ep := range eps {
		if c := counts[ep.Addr]; c < want*95/100 || c > want*105/100 {
			t.Errorf("%s got %d of %d picks; want %d +-5%% (all: %v)", ep.Addr, c, picks, want, counts)
		}
	}
}

func TestSeededSourceReplays(t *testing.T) {
	eps := balancertest.Endpoints(5)
	a := random.NewBuilder(random.Config{Source: rand.NewPCG(1, 2)}).Build(eps)
	b := random.NewBuilder(random.Config{Source: rand.NewPCG(1, 2)}).Build(eps)
	changed := false
	var first string
	for i := range 100 {
		x, _ := a.Pick(balancer.PickInfo{})
		y, _ := b.Pick(balancer.PickInfo{})
		if x.Addr != y.Addr {
			t.Fatalf("pick %d: same seed chose %s and %s", i, x.Addr, y.Addr)
		}
		if i == 0 {
			first = x.Addr
		}
		changed = changed || x.Addr != first
	}
	if !changed {
		t.Fatal("100 random picks all chose the same endpoint")
	}
}

func TestConcurrentPicks(t *testing.T) {
	eps := balancertest.Endpoints(3)
	for _, cfg := range []random.Config{{}, {Source: rand.NewPCG(3, 4)}} {
		p := random.NewBuilder(cfg).Build(eps)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 1000 {
					if _, err := p.Pick(balancer.PickInfo{}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(balancertest.BenchName(n), func(b *testing.B) {
			p := random.NewBuilder(random.Config{}).Build(balancertest.Endpoints(n))
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
	balancertest.Contract(t, random.NewBuilder(random.Config{}))
}

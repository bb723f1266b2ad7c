package ringhash_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/balancer/ringhash"
)

const numKeys = 10000

func build(t testing.TB, eps []balancer.Endpoint) balancer.Picker {
	t.Helper()
	b, err := ringhash.NewBuilder(ringhash.Config{Source: rand.NewPCG(1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	// Builders own the slice they are given; keep the caller's intact.
	return b.Build(slices.Clone(eps))
}

func key(i int) balancer.PickInfo {
	return balancer.PickInfo{HashKey: "user-" + strconv.Itoa(i), HasHashKey: true}
}

// assign maps each of numKeys keys to the address it is picked for.
func assign(t *testing.T, p balancer.Picker) []string {
	t.Helper()
	addrs := make([]string, numKeys)
	for i := range addrs {
		ep, err := p.Pick(key(i))
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ep.Addr
	}
	return addrs
}

func TestSameKeySameEndpoint(t *testing.T) {
	eps := balancertest.Endpoints(5)
	first := assign(t, build(t, eps))
	if again := assign(t, build(t, balancertest.Endpoints(5))); !slices.Equal(first, again) {
		t.Fatal("a second ring over the same addresses maps keys differently")
	}
	p := build(t, eps)
	for i := range 100 {
		for range 3 {
			if ep, _ := p.Pick(key(i)); ep.Addr != first[i] {
				t.Fatalf("key %d went to %s, earlier to %s", i, ep.Addr, first[i])
			}
		}
	}
}

func TestKeysSpreadEvenly(t *testing.T) {
	for _, n := range []int{3, 10} {
		counts := map[string]int{}
		for _, a := range assign(t, build(t, balancertest.Endpoints(n))) {
			counts[a]++
		}
		fair := numKeys / n
		for a, c := range counts {
			if c < fair*75/100 || c > fair*125/100 {
				t.Errorf("%d endpoints: %s owns %d of %d keys; want %d +-25%%", n, a, c, numKeys, fair)
			}
		}
		if len(counts) != n {
			t.Errorf("%d endpoints: only %d own keys", n, len(counts))
		}
	}
}

// TestAddingAnEndpointMovesItsShareOnly grows 3 endpoints to 4: about a
// quarter of the keys move, all of them to the new endpoint.
func TestAddingAnEndpointMovesItsShareOnly(t *testing.T) {
	eps := balancertest.Endpoints(4)
	before := assign(t, build(t, eps[:3]))
	after := assign(t, build(t, eps))
	moved := 0
	for i := range before {
		if before[i] == after[i] {
			continue
		}
		moved++
		if after[i] != eps[3].Addr {
			t.Fatalf("key %d moved from %s to %s, not to the added %s", i, before[i], after[i], eps[3].Addr)
		}
	}
	checkMoved(t, moved, 4)
}

// TestRemovingAnEndpointMovesItsKeysOnly shrinks 4 endpoints to 3, removing
// one from the middle so the others' indexes shift: only the removed
// endpoint's keys, about a quarter, move.
func TestRemovingAnEndpointMovesItsKeysOnly(t *testing.T) {
	eps := balancertest.Endpoints(4)
	removed := eps[1].Addr
	before := assign(t, build(t, eps))
	after := assign(t, build(t, slices.Delete(slices.Clone(eps), 1, 2)))
	moved := 0
	for i := range before {
		if before[i] == after[i] {
			continue
		}
		moved++
		if before[i] != removed {
			t.Fatalf("key %d moved from %s, which was not removed, to %s", i, before[i], after[i])
		}
	}
	checkMoved(t, moved, 4)
}

// checkMoved asserts the moved fraction is within [0.5/n, 1.5/n], n being
// the size of the larger endpoint set.
func checkMoved(t *testing.T, moved, n int) {
	t.Helper()
	frac := float64(moved) / numKeys
	t.Logf("%d of %d keys moved (%.3f; 1/%d = %.3f)", moved, numKeys, frac, n, 1/float64(n))
	if frac < 0.5/float64(n) || frac > 1.5/float64(n) {
		t.Fatalf("%.3f of keys moved; want within [%.3f, %.3f]", frac, 0.5/float64(n), 1.5/float64(n))
	}
}

func TestWithoutKeyGoesRoundRobin(t *testing.T) {
	eps := balancertest.Endpoints(3)
	p := build(t, eps)
	counts := map[string]int{}
	for range 300 {
		ep, err := p.Pick(balancer.PickInfo{HashKey: "ignored"})
		if err != nil {
			t.Fatal(err)
		}
		counts[ep.Addr]++
	}
	for _, ep := range eps {
		if counts[ep.Addr] != 100 {
			t.Fatalf("%s got %d of 300 unkeyed picks; want exactly 100 (all: %v)", ep.Addr, counts[ep.Addr], counts)
		}
	}
}

func TestEmptyKeyIsAKey(t *testing.T) {
	p := build(t, balancertest.Endpoints(3))
	first, _ := p.Pick(balancer.PickInfo{HasHashKey: true})
	for range 10 {
		if ep, _ := p.Pick(balancer.PickInfo{HasHashKey: true}); ep.Addr != first.Addr {
			t.Fatalf("empty key went to %s and %s; want one endpoint", first.Addr, ep.Addr)
		}
	}
}

func TestSingleEndpointOwnsEveryKey(t *testing.T) {
	eps := balancertest.Endpoints(1)
	for i, a := range assign(t, build(t, eps)) {
		if a != eps[0].Addr {
			t.Fatalf("key %d went to %s; want %s", i, a, eps[0].Addr)
		}
	}
}

func TestVirtualNodesValidation(t *testing.T) {
	for _, v := range []int{-1, ringhash.MaxVirtualNodes + 1} {
		_, err := ringhash.NewBuilder(ringhash.Config{VirtualNodes: v})
		if err == nil || !strings.Contains(err.Error(), "VirtualNodes") || !strings.Contains(err.Error(), strconv.Itoa(v)) {
			t.Errorf("VirtualNodes %d: error %v; want one naming the field and value", v, err)
		}
	}
	for _, v := range []int{0, 1, ringhash.MaxVirtualNodes} {
		b, err := ringhash.NewBuilder(ringhash.Config{VirtualNodes: v})
		if err != nil {
			t.Fatalf("VirtualNodes %d: %v", v, err)
		}
		if _, err := b.Build(balancertest.Endpoints(2)).Pick(key(1)); err != nil {
			t.Fatalf("VirtualNodes %d: Pick: %v", v, err)
		}
	}
}

func BenchmarkPick(b *testing.B) {
	keys := make([]balancer.PickInfo, 1024)
	for i := range keys {
		keys[i] = key(i)
	}
	for _, n := range []int{3, 100} {
		b.Run(balancertest.BenchName(n), func(b *testing.B) {
			p := build(b, balancertest.Endpoints(n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.Pick(keys[i&1023]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkPickWithoutKey(b *testing.B) {
	p := build(b, balancertest.Endpoints(3))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Pick(balancer.PickInfo{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	eps := balancertest.Endpoints(100)
	bld, err := ringhash.NewBuilder(ringhash.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		bld.Build(eps)
	}
}

func TestContract(t *testing.T) {
	b, err := ringhash.NewBuilder(ringhash.Config{Source: rand.NewPCG(1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	balancertest.Contract(t, b, balancer.PickInfo{}, key(1), key(2))
}

package ringhash

import (
	"slices"
	"strconv"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/subset"
)

// TestRingOverASubset checks what a client connected to a subset of the
// endpoints picks for a key: the key's owner on the ring of every endpoint
// when the owner is in the subset, so every client with the owner in its
// subset sends the key to the same server; otherwise the first endpoint of
// the subset clockwise from the key on that ring. Both hold because an
// endpoint's points depend on its address alone, so the ring over a subset
// is the full ring without the points of the endpoints outside it.
func TestRingOverASubset(t *testing.T) {
	const servers, clients, k, keys = 60, 24, 10, 2000
	all := balancertest.Endpoints(servers)
	addrs := make([]string, len(all))
	for i, e := range all {
		addrs[i] = e.Addr
	}
	full := newRing(all, DefaultVirtualNodes)
	b := newBuilder(DefaultVirtualNodes, nil)

	var same, elsewhere int
	for i := range clients {
		chosen := subset.Select(addrs, k, subset.Of(i, clients))
		eps := make([]balancer.Endpoint, len(chosen))
		for j, a := range chosen {
			eps[j] = balancer.Endpoint{Addr: a}
		}
		p := b.Build(eps)
		for key := range keys {
			info := balancer.PickInfo{HashKey: "user-" + strconv.Itoa(key), HasHashKey: true}
			got, err := p.Pick(info)
			if err != nil {
				t.Fatal(err)
			}
			h := xxhash.Sum64String(info.HashKey)
			owner := all[full.owner(h)].Addr
			if _, in := slices.BinarySearch(chosen, owner); in {
				same++
				if got.Addr != owner {
					t.Fatalf("client %d of %d has %s, the owner of key %d, in its subset but sent the key to %s", i, clients, owner, key, got.Addr)
				}
				continue
			}
			elsewhere++
			if want := nextInSubset(full, all, h, chosen); got.Addr != want {
				t.Fatalf("client %d: key %d, owned by %s outside its subset, went to %s; want %s, the next subset endpoint clockwise",
					i, key, owner, got.Addr, want)
			}
		}
	}
	t.Logf("%d clients with subsets of %d of %d endpoints: %d key lookups hit the owner, %d went to the next subset endpoint clockwise",
		clients, k, servers, same, elsewhere)
	if same == 0 || elsewhere == 0 {
		t.Fatal("the test covers only one of the two cases")
	}
}

// nextInSubset walks the full ring clockwise from h to the first point of
// an endpoint in chosen.
func nextInSubset(full ring, all []balancer.Endpoint, h uint64, chosen []string) string {
	i, _ := slices.BinarySearch(full.hashes, h)
	for n := range len(full.hashes) {
		addr := all[full.owners[(i+n)%len(full.hashes)]].Addr
		if _, in := slices.BinarySearch(chosen, addr); in {
			return addr
		}
	}
	return ""
}

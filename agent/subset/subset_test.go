package subset

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func addrs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1) + ":50051"
	}
	slices.Sort(out)
	return out
}

func TestSelectWindow(t *testing.T) {
	s := addrs(10)
	tests := []struct {
		k    int
		pos  Position
		want []string
	}{
		{0, Of(3, 4), s},
		{10, Of(3, 4), s},
		{12, Of(3, 4), s},
		{3, Of(0, 4), s[0:3]},
		{3, Of(1, 4), s[3:6]},                       // ceil(10/4) = 3
		{3, Of(3, 4), slices.Concat(s[:1], s[8:])},  // ceil(30/4) = 8, wraps
		{4, Of(2, 3), slices.Concat(s[:1], s[7:])},  // ceil(20/3) = 7
		{2, Position{Hash: 1 << 63}, s[5:7]},        // x = 1/2
		{2, Position{Hash: 1<<63 + 1}, s[6:8]},      // just past 1/2
		{2, Position{Hash: math.MaxUint64}, s[0:2]}, // ceil(x·10) = 10 = 0 mod 10
		{1, Position{Hash: 0}, s[0:1]},              // x = 0
		{3, Of(0, 1), s[0:3]},                       // a lone client starts at 0
	}
	for _, tt := range tests {
		if got := Select(s, tt.k, tt.pos); !slices.Equal(got, tt.want) {
			t.Errorf("Select(k=%d, %v) = %v, want %v", tt.k, tt.pos, got, tt.want)
		}
	}
	if got := Select(nil, 3, Of(0, 2)); len(got) != 0 {
		t.Errorf("Select over no endpoint = %v", got)
	}
	in := addrs(5)
	out := Select(in, 0, Of(0, 1))
	out[0] = "changed"
	if in[0] == "changed" {
		t.Error("Select returned the caller's slice")
	}
}

func TestHashedIsInjectable(t *testing.T) {
	var got string
	p := Hashed("gateway-7d9f-abcde", func(s string) uint64 { got = s; return 1 << 62 })
	if got != "gateway-7d9f-abcde" || p.Exact() || p.Start(100) != 25 || p.String() != "hash:4000000000000000" {
		t.Fatalf("Hashed with an injected hash: %+v (hashed %q), start %d", p, got, p.Start(100))
	}
	if a, b := Hashed("a", nil), Hashed("a", nil); a != b || a == Hashed("b", nil) {
		t.Fatal("the default hash is not a function of the name")
	}
	if Of(3, 10).String() != "3/10" {
		t.Fatal(Of(3, 10).String())
	}
}

func TestOfRejectsPlacesOutsidePeers(t *testing.T) {
	for _, bad := range [][2]int{{0, 0}, {-1, 3}, {3, 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Of(%d, %d) did not panic", bad[0], bad[1])
				}
			}()
			Of(bad[0], bad[1])
		}()
	}
}

// TestExactBalance checks the bound for every combination of a grid of
// client counts, server counts and subset sizes: with i/C known, every
// server has floor(C·k/S) or ceil(C·k/S) clients.
func TestExactBalance(t *testing.T) {
	sizes := []int{1, 2, 3, 5, 7, 10, 16, 33, 64, 100}
	for _, c := range sizes {
		for _, s := range sizes {
			servers := addrs(s)
			for _, k := range []int{1, 2, 3, s / 2, s - 1, s} {
				if k < 1 || k > s {
					continue
				}
				counts := connections(servers, exact(c), k)
				lo, hi := c*k/s, (c*k+s-1)/s
				for _, n := range counts {
					if n < lo || n > hi {
						t.Fatalf("C=%d S=%d k=%d: a server has %d clients, want %d..%d (%v)", c, s, k, n, lo, hi, counts)
					}
				}
			}
		}
	}
}

// exact is the positions of c clients that know their place.
func exact(c int) []Position {
	out := make([]Position, c)
	for i := range out {
		out[i] = Of(i, c)
	}
	return out
}

// connections counts the clients of every server, in sorted order.
func connections(servers []string, clients []Position, k int) []int {
	idx := make(map[string]int, len(servers))
	for i, s := range servers {
		idx[s] = i
	}
	counts := make([]int, len(servers))
	for _, p := range clients {
		for _, a := range Select(servers, k, p) {
			counts[idx[a]]++
		}
	}
	return counts
}

// randomConnections is the comparison: every client picks k distinct
// servers uniformly at random.
func randomConnections(rng *rand.Rand, s, c, k int) []int {
	counts := make([]int, s)
	for range c {
		for _, j := range rng.Perm(s)[:k] {
			counts[j]++
		}
	}
	return counts
}

type spread struct {
	min, max, none int
	mean           float64
}

func spreadOf(counts []int) spread {
	sp := spread{min: math.MaxInt}
	total := 0
	for _, n := range counts {
		sp.min, sp.max = min(sp.min, n), max(sp.max, n)
		if n == 0 {
			sp.none++
		}
		total += n
	}
	sp.mean = float64(total) / float64(len(counts))
	return sp
}

func TestTenClientsOfTenOverAHundred(t *testing.T) {
	servers := addrs(100)
	det := spreadOf(connections(servers, exact(10), 10))
	if det.min != 1 || det.max != 1 {
		t.Fatalf("deterministic: servers have %d..%d clients, want exactly 1", det.min, det.max)
	}
	rng := rand.New(rand.NewPCG(14, 1))
	var none, worst int
	const trials = 200
	for range trials {
		r := spreadOf(randomConnections(rng, 100, 10, 10))
		none += r.none
		worst = max(worst, r.max)
	}
	// Each server is missed by all ten clients with probability 0.9^10.
	frac := float64(none) / (100 * trials)
	t.Logf("10 clients × 10 of 100 servers: deterministic every server 1 client; random %.1f%% of servers with none (expected %.1f%%), up to %d clients on one",
		100*frac, 100*math.Pow(0.9, 10), worst)
	if frac < 0.30 || frac > 0.40 {
		t.Fatalf("random choice leaves %.1f%% of servers without a client, expected about 35%%", 100*frac)
	}
}

// TestSimulation runs thousands of clients over hundreds of servers,
// compares the connection and load spread with random choice and with the
// statistical fallback, and measures the churn of server and client
// changes.
func TestSimulation(t *testing.T) {
	const c, s, k = 3000, 300, 20 // 200 connections per server
	servers := addrs(s)
	rng := rand.New(rand.NewPCG(14, 2))

	det := spreadOf(connections(servers, exact(c), k))
	rnd := spreadOf(randomConnections(rng, s, c, k))
	hashed := make([]Position, c)
	for i := range hashed {
		hashed[i] = Hashed("gateway-"+strconv.Itoa(i), nil)
	}
	stat := spreadOf(connections(servers, hashed, k))
	for _, r := range []struct {
		name string
		sp   spread
	}{{"exact i/C", det}, {"hash of name", stat}, {"random", rnd}} {
		t.Logf("C=%d clients × k=%d of S=%d servers, %s: connections per server min %d, max %d, mean %.1f; load per server (requests spread evenly over each subset) min %.3f, max %.3f of the mean",
			c, k, s, r.name, r.sp.min, r.sp.max, r.sp.mean, float64(r.sp.min)/r.sp.mean, float64(r.sp.max)/r.sp.mean)
	}
	if det.min != c*k/s || det.max != (c*k+s-1)/s {
		t.Fatalf("exact: %d..%d connections per server, want %d..%d", det.min, det.max, c*k/s, (c*k+s-1)/s)
	}
	if rnd.max-rnd.min <= det.max-det.min || stat.max-stat.min <= det.max-det.min {
		t.Fatalf("random (%d..%d) or hashed (%d..%d) spread no worse than exact (%d..%d)",
			rnd.min, rnd.max, stat.min, stat.max, det.min, det.max)
	}

	t.Run("server churn", func(t *testing.T) {
		var worst, total, n int
		for range 20 {
			// Remove one server, then add one at a new address.
			gone := rng.IntN(s)
			fewer := slices.Delete(slices.Clone(servers), gone, gone+1)
			more := slices.Clone(servers)
			added := "10.9." + strconv.Itoa(rng.IntN(250)) + "." + strconv.Itoa(rng.IntN(250)) + ":50051"
			i, _ := slices.BinarySearch(more, added)
			more = slices.Insert(more, i, added)
			for _, next := range [][]string{fewer, more} {
				for _, p := range exact(c) {
					moved := newEndpoints(Select(servers, k, p), Select(next, k, p))
					worst, total, n = max(worst, moved), total+moved, n+1
				}
				if sp := spreadOf(connections(next, exact(c), k)); sp.max-sp.min > 1 {
					t.Fatalf("after a server change: %d..%d connections per server", sp.min, sp.max)
				}
			}
		}
		t.Logf("one server added or removed: new connections per client mean %.3f, max %d (k=%d)", float64(total)/float64(n), worst, k)
		if worst > 2 {
			t.Fatalf("a client opened %d new connections for one server change, want at most 2", worst)
		}
	})

	t.Run("client churn", func(t *testing.T) {
		for _, tc := range []struct{ c, s, k int }{{c, s, k}, {300, 300, 20}, {10, 100, 10}} {
			worst, mean := clientChurn(rng, addrs(tc.s), tc.c, tc.k)
			bound := min(tc.k, int(math.Ceil(float64(tc.s)/float64(tc.c)))+1)
			t.Logf("C=%d S=%d k=%d, one client added or removed: new connections per remaining client mean %.3f, max %d (S/C = %.2f)",
				tc.c, tc.s, tc.k, mean, worst, float64(tc.s)/float64(tc.c))
			if worst > bound {
				t.Fatalf("C=%d S=%d k=%d: a client opened %d new connections, want at most %d", tc.c, tc.s, tc.k, worst, bound)
			}
		}
	})
}

// clientChurn adds a client at a random rank among c, then removes one,
// and returns the most and the mean new connections of a client that was
// there before and after.
func clientChurn(rng *rand.Rand, servers []string, c, k int) (int, float64) {
	var worst, total, n int
	for range 20 {
		// Added at rank r: clients below r keep i, the others become i+1,
		// all of C+1.
		r := rng.IntN(c + 1)
		for i := range c {
			j := i
			if i >= r {
				j++
			}
			moved := newEndpoints(Select(servers, k, Of(i, c)), Select(servers, k, Of(j, c+1)))
			worst, total, n = max(worst, moved), total+moved, n+1
		}
		// Client r removed: those above it become i-1, of C-1.
		r = rng.IntN(c)
		for i := range c {
			if i == r || c == 1 {
				continue
			}
			j := i
			if i > r {
				j--
			}
			moved := newEndpoints(Select(servers, k, Of(i, c)), Select(servers, k, Of(j, c-1)))
			worst, total, n = max(worst, moved), total+moved, n+1
		}
	}
	return worst, float64(total) / float64(n)
}

// newEndpoints counts the endpoints of next that were not in prev, both
// sorted: the connections a client opens (and, for an unchanged subset
// size, closes) on a change.
func newEndpoints(prev, next []string) int {
	n := 0
	for _, a := range next {
		if _, ok := slices.BinarySearch(prev, a); !ok {
			n++
		}
	}
	return n
}

// Package subset chooses which of an upstream's endpoints one client
// connects to, so that C clients of a Service of S endpoints hold C·k
// connections instead of C·S, spread evenly over the servers.
//
// The scheme is the ring of Finagle's deterministic aperture. The S
// endpoint addresses, sorted, are S points on a ring; a client sits at a
// position x in [0, 1) and takes the k endpoints with sorted index
// (ceil(x·S) + m) mod S, m = 0..k-1: the k points from x·S onwards.
//
// When the client knows its place i among C peers, x = i/C and the client
// covers the arc [i·S/C, i·S/C + k). Server j is covered by the clients i
// with i·S/C in (j-k, j], an interval of length C·k/S of the peers' ring,
// so every server gets ⌊C·k/S⌋ or ⌈C·k/S⌉ clients: exact balance, with
// 10 clients of subset 10 over 100 servers each server has exactly one.
// The start index is computed as ceil(i·S/C) in integers, so no rounding
// breaks it.
//
// Membership changes move few connections. One server added or removed
// shifts the window by at most one index and inserts or removes one point,
// so each client changes at most two of its endpoints. One client added or
// removed renumbers the others: client i's position moves from i/C to
// i/(C+1) below the new client and to (i+1)/(C+1) above it, by up to
// S/(C+1) endpoints, most for the clients next to the change. The churn of
// a client change is therefore a fraction of S/C endpoints per client on
// average (about a third of it in the simulation): small when clients
// outnumber servers, up to a whole subset for some clients when S/C is
// larger than k.
//
// Without i/C, x = hash(name)/2^64 of the client's name: every client
// still takes k consecutive endpoints, but the number of clients per
// server is only statistically even.
package subset

import (
	"fmt"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Position is a client's place on the ring.
type Position struct {
	// I and C place the client exactly: client I of C, 0 <= I < C. C is 0
	// when the place is not known and Hash places the client.
	I, C int
	// Hash is the client's position as a fraction of 2^64, used when C is
	// 0.
	Hash uint64
}

// Of is the position of client i of c. It panics unless 0 <= i < c.
func Of(i, c int) Position {
	if c <= 0 || i < 0 || i >= c {
		panic(fmt.Sprintf("subset: client %d of %d is not a place among peers", i, c))
	}
	return Position{I: i, C: c}
}

// Hasher hashes a client's name to its statistical position.
type Hasher func(string) uint64

// Hashed is the statistical position of the client called name: its hash
// over 2^64. A nil hash means xxhash64.
func Hashed(name string, hash Hasher) Position {
	if hash == nil {
		hash = xxhash.Sum64String
	}
	return Position{Hash: hash(name)}
}

// Exact reports whether the position is a known place among peers, which
// makes the balance exact rather than statistical.
func (p Position) Exact() bool { return p.C > 0 }

// String is "i/C" for an exact position and "hash:<hex>" for a statistical
// one.
func (p Position) String() string {
	if p.Exact() {
		return fmt.Sprintf("%d/%d", p.I, p.C)
	}
	return fmt.Sprintf("hash:%016x", p.Hash)
}

// Start is the sorted index of the first of the client's endpoints among
// s endpoints: ceil(x·s) mod s, in integers. It is 0 when s is 0.
func (p Position) Start(s int) int {
	if s <= 0 {
		return 0
	}
	if p.Exact() {
		// ceil(i·s/c); i < c, so it is at most s.
		return ((p.I*s + p.C - 1) / p.C) % s
	}
	hi, lo := bits.Mul64(p.Hash, uint64(s)) // hash·s / 2^64 = hi + lo/2^64
	if lo != 0 {
		hi++
	}
	return int(hi % uint64(s))
}

// Select returns the k endpoints of sorted, which must be sorted and
// without duplicates, that the client at pos takes, in sorted order. A k
// of 0, or one at least len(sorted), takes every endpoint. The result is
// a new slice.
func Select(sorted []string, k int, pos Position) []string {
	s := len(sorted)
	if k <= 0 || k >= s {
		return append([]string(nil), sorted...)
	}
	start := pos.Start(s)
	out := make([]string, 0, k)
	if end := start + k; end <= s {
		return append(out, sorted[start:end]...)
	}
	// The window wraps: its tail is at the front of the sorted list.
	out = append(out, sorted[:start+k-s]...)
	return append(out, sorted[start:]...)
}

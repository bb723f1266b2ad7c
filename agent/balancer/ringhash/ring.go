package ringhash

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
)

// ring is the sorted set of points of a consistent-hash ring, held as two
// parallel slices so the binary search walks dense hashes only.
type ring struct {
	hashes []uint64 // ascending
	owners []uint32 // owners[i] is the endpoint index of hashes[i]
}

type point struct {
	hash  uint64
	owner uint32
}

// newRing places vnodes points for each endpoint. Points that collide are
// ordered by address, so every agent builds the same ring.
func newRing(endpoints []balancer.Endpoint, vnodes int) ring {
	points := make([]point, 0, len(endpoints)*vnodes)
	var buf []byte
	for i, ep := range endpoints {
		for v := range vnodes {
			buf = strconv.AppendInt(append(append(buf[:0], ep.Addr...), '_'), int64(v), 10)
			points = append(points, point{hash: xxhash.Sum64(buf), owner: uint32(i)})
		}
	}
	slices.SortFunc(points, func(a, b point) int {
		if c := cmp.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return cmp.Compare(endpoints[a.owner].Addr, endpoints[b.owner].Addr)
	})
	r := ring{hashes: make([]uint64, len(points)), owners: make([]uint32, len(points))}
	for i, p := range points {
		r.hashes[i], r.owners[i] = p.hash, p.owner
	}
	return r
}

// owner returns the endpoint index of the first point at or after h,
// wrapping around past the largest.
func (r ring) owner(h uint64) uint32 {
	i, _ := slices.BinarySearch(r.hashes, h)
	if i == len(r.hashes) {
		i = 0
	}
	return r.owners[i]
}

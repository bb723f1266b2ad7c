// Package pickrand holds the randomness the strategies draw from: either the
// runtime's global generator or an injected, lock-guarded source, so tests
// can replay an exact sequence of picks.
package pickrand

import (
	"math/rand/v2"
	"sync"
)

// Rand draws uniform integers for pickers. It is safe for concurrent use. A
// nil *Rand draws from the runtime's global generator.
type Rand struct {
	mu sync.Mutex
	r  *rand.Rand // nil: the runtime's global generator
}

// New returns a Rand over src. A nil src means the runtime's global
// generator, which is safe for concurrent use without a lock and needs no
// seeding. A non-nil src is guarded by a lock, because sources such as
// rand.PCG are not safe for concurrent use.
func New(src rand.Source) *Rand {
	if src == nil {
		return &Rand{}
	}
	return &Rand{r: rand.New(src)}
}

// IntN returns a uniform int in [0, n). n must be positive.
func (r *Rand) IntN(n int) int {
	if r == nil || r.r == nil {
		return rand.IntN(n)
	}
	r.mu.Lock()
	v := r.r.IntN(n)
	r.mu.Unlock()
	return v
}

// Pair returns two distinct indexes in [0, n), n >= 2. The ordered pair is
// uniform over all n*(n-1) possibilities, so either index is equally likely
// to come first: a caller that keeps i on a tie breaks ties at random.
func (r *Rand) Pair(n int) (i, j int) {
	i = r.IntN(n)
	j = r.IntN(n - 1)
	if j >= i {
		j++
	}
	return i, j
}

// Package balancertest drives pickers in tests: endpoints with fresh load
// figures, a manual clock, and a traffic simulation on that clock.
package balancertest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roundabout-dev/roundabout/agent/balancer"
)

// Epoch is where a new Clock starts.
var Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock is a clock that moves only when told to. It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading Epoch.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Endpoints returns n endpoints with fresh load figures, sorted by Addr as
// builders expect.
func Endpoints(n int) []balancer.Endpoint {
	eps := make([]balancer.Endpoint, n)
	for i := range eps {
		eps[i] = balancer.Endpoint{
			Addr: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250+1),
			Load: balancer.NewLoad(balancer.DefaultDecay),
		}
	}
	slices.SortFunc(eps, func(a, b balancer.Endpoint) int { return strings.Compare(a.Addr, b.Addr) })
	return eps
}

// BenchName names a benchmark over n endpoints.
func BenchName(n int) string { return fmt.Sprintf("endpoints=%d", n) }

package demo

import (
	"context"
	"sync"
	"time"
)

// firstSeen records when each name was first seen, and lets a reader wait
// for a name.
type firstSeen struct {
	mu    sync.Mutex
	first map[string]time.Time
	order []string
	more  chan struct{} // closed and replaced on every new name
}

func newFirstSeen() *firstSeen {
	return &firstSeen{first: map[string]time.Time{}, more: make(chan struct{})}
}

// record notes name at at, unless it was seen before.
func (f *firstSeen) record(name string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.first[name]; ok {
		return
	}
	f.first[name] = at
	f.order = append(f.order, name)
	close(f.more)
	f.more = make(chan struct{})
}

// wait returns when name was first seen, waiting until deadline.
func (f *firstSeen) wait(ctx context.Context, name string, deadline time.Time) (time.Time, bool) {
	return f.waitFor(ctx, deadline, func() (time.Time, bool) {
		at, ok := f.first[name]
		return at, ok
	})
}

// waitCount returns the first n names seen, waiting until deadline.
func (f *firstSeen) waitCount(ctx context.Context, n int, deadline time.Time) ([]string, bool) {
	var names []string
	_, ok := f.waitFor(ctx, deadline, func() (time.Time, bool) {
		names = append([]string(nil), f.order...)
		return time.Time{}, len(names) >= n
	})
	return names, ok
}

// waitFor re-evaluates cond, under the lock, on every new name until it
// holds, deadline passes or ctx ends.
func (f *firstSeen) waitFor(ctx context.Context, deadline time.Time, cond func() (time.Time, bool)) (time.Time, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		f.mu.Lock()
		at, ok := cond()
		more := f.more
		f.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-more:
		case <-timer.C:
			return time.Time{}, false
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

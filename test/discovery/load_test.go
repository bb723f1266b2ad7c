package discovery

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Bounds of one steady load: each worker calls at most once per loadPace,
// at most loadMaxCalls times, for at most the duration given to startLoad.
const (
	loadPace     = 2 * time.Millisecond
	loadMaxCalls = 100_000
)

// load is a steady stream of calls through the agent from a few workers.
type load struct {
	a        *agent
	ok, fail atomic.Int64
	firstErr atomic.Value // error
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	waiters map[string]chan time.Time // pod name -> when it first answered
}

// startLoad runs workers until stop, or until limit has passed.
func startLoad(t testing.TB, a *agent, workers int, limit time.Duration) *load {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	l := &load{a: a, cancel: cancel, waiters: map[string]chan time.Time{}}
	for range workers {
		l.wg.Add(1)
		go l.work(ctx)
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) work(ctx context.Context) {
	defer l.wg.Done()
	tick := time.NewTicker(loadPace)
	defer tick.Stop()
	for range loadMaxCalls {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pod, err := l.a.greet(context.Background())
		if err != nil {
			l.fail.Add(1)
			l.firstErr.CompareAndSwap(nil, err)
			continue
		}
		l.ok.Add(1)
		l.served(pod, time.Now())
	}
}

// answeredBy returns a channel that receives the time of the first response
// from pod after this call.
func (l *load) answeredBy(pod string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	l.mu.Lock()
	l.waiters[pod] = ch
	l.mu.Unlock()
	return ch
}

func (l *load) served(pod string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.waiters[pod]; ok {
		ch <- at
		delete(l.waiters, pod)
	}
}

// stop ends the load and waits for calls in flight.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// err is the first failed call, or nil.
func (l *load) err() error {
	err, _ := l.firstErr.Load().(error)
	return err
}

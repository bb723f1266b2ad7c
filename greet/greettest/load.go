package greettest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// Result is one call of an OpenLoad.
type Result struct {
	// Start is when the call was sent.
	Start time.Time
	// Pod is the pod that answered, empty when the call failed.
	Pod string
	Err error
}

// OpenLoad sends unary Greet calls at a fixed rate whether or not earlier
// ones have returned, as independent clients do, each with its own
// deadline: the arrival rate stays the same when a server hangs.
type OpenLoad struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []Result
}

// StartOpenLoad sends n calls through c at rate per second, each with the
// given deadline, and returns at once.
func StartOpenLoad(c greetv1.GreetServiceClient, rate, n int, deadline time.Duration) *OpenLoad {
	l := &OpenLoad{}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer tick.Stop()
		for range n {
			<-tick.C
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				l.call(c, deadline)
			}()
		}
	}()
	return l
}

func (l *OpenLoad) call(c greetv1.GreetServiceClient, deadline time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	r := Result{Start: time.Now()}
	resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Hung"})
	r.Err = err
	if err == nil {
		r.Pod, _ = server.PodName(resp.GetResult())
	}
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
}

// AnsweredBy returns how many calls so far pod answered.
func (l *OpenLoad) AnsweredBy(pod string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.results {
		if r.Pod == pod {
			n++
		}
	}
	return n
}

// Wait waits for every call, which the calls' deadlines bound, and fails tb
// when they have not all returned within limit.
func (l *OpenLoad) Wait(tb testing.TB, limit time.Duration) []Result {
	tb.Helper()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		tb.Fatalf("the load did not end within %v", limit)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.results
}

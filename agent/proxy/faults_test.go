package proxy_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// load sends Greet calls from workers until stop is closed or max calls
// were made, and counts outcomes per pod.
type load struct {
	done     chan struct{} // closed when every worker returned
	mu       sync.Mutex
	byPod    map[string]int
	failures atomic.Int64
	calls    atomic.Int64
}

func runLoad(t *testing.T, c greetv1.GreetServiceClient, workers, max int, stop <-chan struct{}) *load {
	l := &load{byPod: map[string]int{}, done: make(chan struct{})}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.calls.Add(1) <= int64(max) {
				select {
				case <-stop:
					return
				default:
				}
				l.one(c)
			}
		}()
	}
	go func() { wg.Wait(); close(l.done) }()
	t.Cleanup(wg.Wait)
	return l
}

// wait waits until the workers made all their calls.
func (l *load) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(limit):
		t.Fatalf("load did not finish within %v (%d calls)", limit, l.calls.Load())
	}
}

func (l *load) one(c greetv1.GreetServiceClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Load"})
	if err != nil {
		l.failures.Add(1)
		return
	}
	name, _ := greetserver.PodName(resp.GetResult())
	l.mu.Lock()
	l.byPod[name]++
	l.mu.Unlock()
}

func (l *load) count(pod string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byPod[pod]
}

func withLogs(t *testing.T) (agentOption, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core()))
	return func(p *pool.Config, x *proxy.Config) {
		p.Logger, x.Logger = log, log
		p.EjectFailures = 3
		p.MaxEjectionPercent = 50
		p.EjectBackoff = 500 * time.Millisecond
		p.BackoffMax = 200 * time.Millisecond
	}, logs
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestKilledServerLosesOnlyItsInFlightRequests(t *testing.T) {
	const workers = 4
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0,
		greettest.WithDelay(2*time.Millisecond))
	opt, logs := withLogs(t)
	a := startAgent(t, "round-robin", addrs(pods), opt)
	stop := make(chan struct{})
	defer close(stop)
	l := runLoad(t, greetClient(t, a.addr), workers, 20000, stop)
	waitFor(t, "traffic on every pod", 10*time.Second, func() bool { return l.count(pods[1].PodName()) > 50 })

	pods[1].Kill()
	waitFor(t, "the ejection log line", 10*time.Second, func() bool {
		return logs.FilterMessage("endpoint ejected").Len() > 0
	})
	killedAt, failedAtEjection := l.count(pods[1].PodName()), l.failures.Load()
	before := l.count(pods[0].PodName())
	waitFor(t, "traffic to go on", 10*time.Second, func() bool { return l.count(pods[0].PodName()) > before+200 })
	if f := l.failures.Load(); f > workers {
		t.Fatalf("%d requests failed; only the %d in flight to the killed pod may", f, workers)
	}
	if got := l.count(pods[1].PodName()); got != killedAt {
		t.Fatalf("killed pod served %d requests after the ejection", got-killedAt)
	}
	t.Logf("failed requests: %d at ejection, %d in total", failedAtEjection, l.failures.Load())

	restarted := greettest.Start(t, pods[1].Addr(), pods[1].PodName())
	waitFor(t, "the restarted pod to serve again", 15*time.Second, func() bool { return restarted.Requests() > 20 })
}

// TestGracefulStopLosesNothing stops a server the way a pod is stopped
// (GOAWAY, then drain) under load: requests it refused are retried on the
// others and no request fails.
func TestGracefulStopLosesNothing(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0,
		greettest.WithDelay(time.Millisecond))
	opt, _ := withLogs(t)
	a := startAgent(t, "round-robin", addrs(pods), opt)
	stop := make(chan struct{})
	l := runLoad(t, greetClient(t, a.addr), 8, 20000, stop)
	waitFor(t, "traffic on every pod", 10*time.Second, func() bool { return l.count(pods[1].PodName()) > 50 })
	pods[1].Stop()
	before := l.count(pods[0].PodName())
	waitFor(t, "traffic to go on", 10*time.Second, func() bool { return l.count(pods[0].PodName()) > before+300 })
	close(stop)
	if f := l.failures.Load(); f != 0 {
		t.Fatalf("%d requests failed while a server stopped gracefully", f)
	}
}

// TestRemovedEndpointDrains removes an endpoint with requests in flight:
// they complete, and no request picked after the removal reaches it.
func TestRemovedEndpointDrains(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0,
		greettest.WithDelay(20*time.Millisecond))
	opt, _ := withLogs(t)
	a := startAgent(t, "round-robin", addrs(pods), opt)
	stop := make(chan struct{})
	l := runLoad(t, greetClient(t, a.addr), 12, 20000, stop)
	waitFor(t, "traffic on every pod", 10*time.Second, func() bool { return l.count(pods[2].PodName()) > 20 })
	a.pool.Update(toDiscovery(addrs(pods[:2]))) // the new picker is published when Update returns
	// Requests picked before the removal may still be on their way. Each
	// worker is sequential, so once every worker has been through many more
	// requests, all of those have arrived and been answered.
	more := func(n int) {
		before := l.count(pods[0].PodName())
		waitFor(t, "traffic to go on", 10*time.Second, func() bool { return l.count(pods[0].PodName()) > before+n })
	}
	more(100)
	served := pods[2].Requests()
	if answered := int64(l.count(pods[2].PodName())); answered != served {
		t.Fatalf("removed pod received %d requests but %d were answered", served, answered)
	}
	more(100)
	close(stop)
	if got := pods[2].Requests(); got != served {
		t.Fatalf("removed pod received %d new requests", got-served)
	}
	if f := l.failures.Load(); f != 0 {
		t.Fatalf("%d requests failed while an endpoint was removed", f)
	}
}

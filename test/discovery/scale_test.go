package discovery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// newPodWithin is how soon a pod that became ready must get traffic.
const newPodWithin = time.Second

// TestScaleUpNewPodGetsTrafficWithinOneSecond: under a steady stream of
// calls, a pod added to the slice answers within a second of the update.
func TestScaleUpNewPodGetsTrafficWithinOneSecond(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	a1 := greettest.Start(t, "10.244.0.11:50051", "pod-a")
	b1 := greettest.Start(t, "10.244.0.12:50051", "pod-b")
	s := newSlice(ns, "greetserver", "greetserver-1", ready(a1, b1)...)
	c.put(t, s)
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(t, a1, b1)
	l := startLoad(t, a, 2, 30*time.Second)

	newPod := greettest.Start(t, "10.244.0.13:50051", "pod-c")
	first := l.answeredBy(newPod.PodName())
	s.Endpoints = ready(a1, b1, newPod)
	updated := time.Now()
	c.put(t, s)
	select {
	case at := <-first:
		t.Logf("new pod answered %s after the slice update", at.Sub(updated).Round(time.Millisecond))
	case <-time.After(newPodWithin):
		t.Fatalf("new pod got no call within %s of the slice update (agent endpoints %v)", newPodWithin, a.pool.ReadyAddrs())
	}
	l.stop()
	if l.fail.Load() != 0 {
		t.Errorf("%d of %d calls failed during scale-up, first: %v", l.fail.Load(), l.fail.Load()+l.ok.Load(), l.err())
	}
}

// TestScaleDownAndTerminating: a pod marked terminating (not ready, still
// serving) and a pod removed from the slice get no new calls once the
// update has reached the agent, and a call in flight on the terminating pod
// completes.
func TestScaleDownAndTerminating(t *testing.T) {
	const slowCall = 1500 * time.Millisecond
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	stay := greettest.Start(t, "10.244.0.11:50051", "pod-a")
	removed := greettest.Start(t, "10.244.0.12:50051", "pod-b")
	leaving := greettest.Start(t, "10.244.0.13:50051", "pod-c", greettest.WithDelay(slowCall))
	s := newSlice(ns, "greetserver", "greetserver-1", ready(stay, removed, leaving)...)
	c.put(t, s)
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(t, stay, removed, leaving)

	inFlight := callsInFlightOn(t, a, leaving)
	s.Endpoints = append(ready(stay, removed), terminating(leaving)...)
	c.put(t, s)
	a.waitEndpoints(t, stay, removed)
	select {
	case <-inFlight:
		t.Fatalf("the call on %s ended before the update reached the agent; the test proves nothing", leaving.PodName())
	default:
	}
	before := leaving.Requests()
	if got := greettest.Tally(a.greetN(t, 40)); got["pod-a"] != 20 || got["pod-b"] != 20 {
		t.Errorf("calls after %s turned terminating = %v, want 20 each on pod-a and pod-b", leaving.PodName(), got)
	}
	if after := leaving.Requests(); after != before {
		t.Errorf("terminating pod got %d new calls after the update", after-before)
	}
	if err := <-inFlight; err != nil {
		t.Errorf("call in flight on the terminating pod: %v, want success", err)
	}

	s.Endpoints = ready(stay)
	c.put(t, s)
	a.waitEndpoints(t, stay)
	before = removed.Requests()
	if got := greettest.Tally(a.greetN(t, 20)); got["pod-a"] != 20 {
		t.Errorf("calls after scale-down = %v, want all 20 on pod-a", got)
	}
	if after := removed.Requests(); after != before {
		t.Errorf("removed pod got %d new calls after the update", after-before)
	}
}

// callsInFlightOn starts round-robin calls until one is running on pod,
// and returns the outcome of the calls once all have ended.
func callsInFlightOn(t *testing.T, a *agent, pod *greettest.Server) <-chan error {
	t.Helper()
	n := a.pool.ReadyCount()
	results := make(chan error, n)
	for range n {
		go func() {
			_, err := a.greet(context.Background())
			results <- err
		}()
	}
	deadline := time.Now().Add(waitTimeout)
	for pod.Requests() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if pod.Requests() == 0 {
		t.Fatalf("no call reached %s within %s", pod.PodName(), waitTimeout)
	}
	done := make(chan error, 1)
	go func() {
		var first error
		for range n {
			if err := <-results; err != nil && first == nil {
				first = err
			}
		}
		done <- first
	}()
	return done
}

// TestAllTerminatingStillServed: when no pod is ready but some are serving
// while terminating (the end of a rollout), calls go to those, as kube-proxy
// sends them; once they stop serving too, calls fail with UNAVAILABLE.
func TestAllTerminatingStillServed(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	pods := greettest.StartPods(t, []string{"10.244.0.11", "10.244.0.12", "10.244.0.13"}, greetPort)
	s := newSlice(ns, "greetserver", "greetserver-1", ready(pods...)...)
	c.put(t, s)
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(t, pods...)

	s.Endpoints = append(terminating(pods[0], pods[1]), stopping(pods[2])...)
	c.put(t, s)
	a.waitEndpoints(t, pods[0], pods[1])
	if got := greettest.Tally(a.greetN(t, 20)); got["greet-0"] != 10 || got["greet-1"] != 10 {
		t.Errorf("calls with every pod terminating = %v, want 10 each on the two still serving", got)
	}

	s.Endpoints = stopping(pods...)
	c.put(t, s)
	a.waitEndpoints(t)
	if _, err := a.greet(context.Background()); status.Code(err) != codes.Unavailable {
		t.Errorf("Greet with no pod serving = %v, want UNAVAILABLE", err)
	}
}

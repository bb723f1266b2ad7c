package discovery

import (
	"fmt"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// resyncTimeout bounds how long after the API server is back a slice change
// may take to reach the agent: the informer's watch retries back off.
const resyncTimeout = 45 * time.Second

// TestAPIServerRestartKeepsTrafficFlowing: with the API server stopped and
// started again under a steady load, no call fails, the outage and the
// recovery are each logged once, and a slice change made after the restart
// reaches the agent.
func TestAPIServerRestartKeepsTrafficFlowing(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	a1 := greettest.Start(t, "10.244.0.11:50051", "pod-a")
	b1 := greettest.Start(t, "10.244.0.12:50051", "pod-b")
	s := newSlice(ns, "greetserver", "greetserver-1", ready(a1, b1)...)
	c.put(t, s)
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(t, a1, b1)
	l := startLoad(t, a, 2, 2*resyncTimeout)

	apiserver := c.Env.ControlPlane.APIServer
	stopping := time.Now()
	if err := apiserver.Stop(); err != nil {
		t.Errorf("stop kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver stopped in %s", time.Since(stopping).Round(time.Millisecond))
	a.waitLog(t, "EndpointSlice watch failing")
	okWhileDown := l.ok.Load()
	if err := apiserver.Start(); err != nil {
		t.Fatalf("start kube-apiserver again: %v", err)
	}
	if l.ok.Load() == okWhileDown {
		t.Errorf("no call succeeded while the API server was restarting")
	}

	newPod := greettest.Start(t, "10.244.0.13:50051", "pod-c")
	first := l.answeredBy(newPod.PodName())
	s.Endpoints = ready(a1, b1, newPod)
	c.put(t, s)
	select {
	case <-first:
	case <-time.After(resyncTimeout):
		t.Fatalf("pod added after the restart got no call within %s (agent endpoints %v)", resyncTimeout, a.pool.ReadyAddrs())
	}
	l.stop()

	if n := l.fail.Load(); n != 0 {
		t.Errorf("%d of %d calls failed across the restart, first: %v", n, n+l.ok.Load(), l.err())
	}
	t.Logf("%d calls across the API server restart, none failed", l.ok.Load())
	for _, msg := range []string{"EndpointSlice watch failing", "EndpointSlice watch resumed"} {
		if n := a.logs.FilterMessageSnippet(msg).Len(); n != 1 {
			t.Errorf("%q logged %d times, want once", msg, n)
		}
	}
}

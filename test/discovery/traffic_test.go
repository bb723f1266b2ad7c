package discovery

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// TestTrafficSpreads: three ready pods in one slice share round-robin calls
// exactly; the slice of another Service in the namespace is not used.
func TestTrafficSpreads(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	pods := greettest.StartPods(t, []string{"10.244.0.11", "10.244.0.12", "10.244.0.13"}, greetPort)
	c.put(t, newSlice(ns, "greetserver", "greetserver-1", ready(pods...)...))
	other := greettest.Start(t, "10.244.0.14:50051", "other-service")
	c.put(t, newSlice(ns, "otherserver", "otherserver-1", ready(other)...))
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(t, pods...)

	got := greettest.Tally(a.greetN(t, 300))
	for _, p := range pods {
		if got[p.PodName()] != 100 {
			t.Errorf("calls per pod = %v, want 100 on each of %d pods", got, len(pods))
			break
		}
	}
	if n := other.Requests(); n != 0 {
		t.Errorf("a pod of another Service in the namespace got %d calls", n)
	}
}

// TestNamedPortResolves: the upstream names the Service port "grpc"; the
// slice also lists an "http" port, which must not be used.
func TestNamedPortResolves(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"http": 8080, "grpc": greetPort})
	pods := greettest.StartPods(t, []string{"10.244.0.11", "10.244.0.12"}, greetPort)
	s := newSlice(ns, "greetserver", "greetserver-1", ready(pods...)...)
	s.Ports = append([]discoveryv1.EndpointPort{slicePort("http", 8080)}, s.Ports...)
	c.put(t, s)
	a := startAgent(t, c, "greetserver."+ns+":grpc")
	a.waitEndpoints(t, pods...)

	got := greettest.Tally(a.greetN(t, 20))
	if got["greet-0"] != 10 || got["greet-1"] != 10 {
		t.Errorf("calls per pod = %v, want 10 each", got)
	}
}

// TestTwoSlicesOf150EndpointsAllUsed: 150 pods spread over two slices
// (100 + 50) are all connected and all receive calls.
func TestTwoSlicesOf150EndpointsAllUsed(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	hosts := make([]string, 150)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("10.244.0.%d", 10+i)
	}
	pods := greettest.StartPods(t, hosts, greetPort)
	c.put(t, newSlice(ns, "greetserver", "greetserver-1", ready(pods[:100]...)...))
	c.put(t, newSlice(ns, "greetserver", "greetserver-2", ready(pods[100:]...)...))
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(t, pods...)

	const workers, perWorker = 4, 150
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if _, err := a.greet(context.Background()); err != nil {
					t.Errorf("Greet through the agent: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	counts := greettest.Requests(pods)
	for i, n := range counts {
		if n == 0 {
			t.Errorf("pod %s at %s got no call of %d", pods[i].PodName(), pods[i].Addr(), workers*perWorker)
		}
	}
	t.Logf("calls per pod: min %d, max %d over %d pods", minOf(counts), maxOf(counts), len(pods))
}

func minOf(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []int64) int64 {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// TestDualStackSlices: a dual-stack Service has an IPv4 and an IPv6 slice;
// the pods of both are used, the IPv6 one dialled in brackets.
func TestDualStackSlices(t *testing.T) {
	c := needCluster(t)
	netnstest.AddAddr(t, "fd00:10:244::12/128")
	ns := c.namespace(t)
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	v4 := greettest.Start(t, "10.244.0.11:50051", "pod-v4")
	v6 := greettest.Start(t, "[fd00:10:244::12]:50051", "pod-v6")
	c.put(t, newSlice(ns, "greetserver", "greetserver-v4", ready(v4)...))
	s6 := newSlice(ns, "greetserver", "greetserver-v6", ready(v6)...)
	s6.AddressType = discoveryv1.AddressTypeIPv6
	c.put(t, s6)
	a := startAgent(t, c, "greetserver."+ns+":grpc")
	a.waitEndpoints(t, v4, v6)

	if got := greettest.Tally(a.greetN(t, 20)); got["pod-v4"] != 10 || got["pod-v6"] != 10 {
		t.Errorf("calls per pod = %v, want 10 each", got)
	}
}

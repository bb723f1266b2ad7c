package discovery

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// latencyUpdates is how many slice updates TestSliceUpdateToFirstRequest
// measures, and how many distinct new pods the measurement rotates through.
const latencyUpdates = 25

// TestSliceUpdateToFirstRequest measures, under a steady stream of calls,
// the time from an EndpointSlice update that adds a ready pod to the first
// call that pod answers, and logs its distribution.
func TestSliceUpdateToFirstRequest(t *testing.T) {
	c := needCluster(t)
	d := measureUpdateToFirstRequest(t, c, latencyUpdates)
	t.Logf("EndpointSlice update -> first call served by the new pod, %d updates:", len(d))
	t.Logf("  p50 %s  p90 %s  p99 %s  max %s", pct(d, 0.50), pct(d, 0.90), pct(d, 0.99), pct(d, 1))
	if p99 := pct(d, 0.99); p99 > newPodWithin {
		t.Errorf("p99 %s, want at most %s", p99, newPodWithin)
	}
}

// BenchmarkSliceUpdateToFirstRequest reports the same figures as
// TestSliceUpdateToFirstRequest for b.N updates; run it with -benchtime=25x
// or more.
func BenchmarkSliceUpdateToFirstRequest(b *testing.B) {
	c := needCluster(b)
	d := measureUpdateToFirstRequest(b, c, b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(ms(pct(d, 0.50)), "p50-ms")
	b.ReportMetric(ms(pct(d, 0.99)), "p99-ms")
}

// measureUpdateToFirstRequest runs n updates. Each replaces the previous
// new pod with the next one, so every update makes the agent dial a pod it
// has no connection to, and the picker chooses among three endpoints.
func measureUpdateToFirstRequest(tb testing.TB, c *kubeCluster, n int) []time.Duration {
	tb.Helper()
	ns := c.namespace(tb)
	c.service(tb, ns, "greetserver", map[string]int32{"grpc": greetPort})
	base := []*greettest.Server{
		greettest.Start(tb, "10.244.0.11:50051", "pod-a"), greettest.Start(tb, "10.244.0.12:50051", "pod-b")}
	candidates := make([]*greettest.Server, min(n, latencyUpdates))
	for i := range candidates {
		candidates[i] = greettest.Start(tb, fmt.Sprintf("10.244.0.%d:%d", 20+i, greetPort), fmt.Sprintf("new-%d", i))
	}
	s := newSlice(ns, "greetserver", "greetserver-1", ready(base...)...)
	c.put(tb, s)
	a := startAgent(tb, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitEndpoints(tb, base...)
	l := startLoad(tb, a, 4, time.Duration(n+5)*2*waitTimeout)
	durations := make([]time.Duration, 0, n)
	for i := range n {
		pod := candidates[i%len(candidates)]
		durations = append(durations, updateAndWait(tb, c, a, l, s, append(ready(base...), ready(pod)...), pod))
		a.waitEndpoints(tb, base[0], base[1], pod)
	}
	l.stop()
	if l.fail.Load() != 0 {
		tb.Errorf("%d calls failed during the measurement, first: %v", l.fail.Load(), l.err())
	}
	return durations
}

// updateAndWait writes s with eps and returns how long pod took to answer
// its first call after the write began.
func updateAndWait(tb testing.TB, c *kubeCluster, a *agent, l *load, s *discoveryv1.EndpointSlice, eps []discoveryv1.Endpoint, pod *greettest.Server) time.Duration {
	tb.Helper()
	first := l.answeredBy(pod.PodName())
	s.Endpoints = eps
	began := time.Now()
	c.put(tb, s)
	select {
	case at := <-first:
		return at.Sub(began)
	case <-time.After(waitTimeout):
		tb.Fatalf("%s got no call within %s of the slice update (agent endpoints %v)", pod.PodName(), waitTimeout, a.pool.ReadyAddrs())
		return 0
	}
}

// pct is the q-quantile of d, nearest rank.
func pct(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)].Round(100 * time.Microsecond)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

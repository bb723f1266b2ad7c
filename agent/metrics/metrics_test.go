package metrics

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
)

func newTestMetrics(t testing.TB) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg), reg
}

func TestEndpointCountsRequestsByCode(t *testing.T) {
	m, _ := newTestMetrics(t)
	e := m.Upstream("greet").Endpoint("10.0.0.1:50051")
	for range 3 {
		e.Begin()
		e.End(codes.OK, time.Millisecond)
	}
	e.Begin()
	e.End(codes.Unavailable, time.Second)
	e.Begin()

	checkValue(t, m.requests.WithLabelValues("greet", "10.0.0.1:50051", "OK"), 3)
	checkValue(t, m.requests.WithLabelValues("greet", "10.0.0.1:50051", "Unavailable"), 1)
	checkValue(t, m.inFlight.WithLabelValues("greet", "10.0.0.1:50051"), 1)
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Fatalf("duration series = %d, want 1", n)
	}
	want := `
# HELP roundabout_agent_requests_total RPCs finished, by upstream, endpoint and gRPC status code; NoEndpoint and Retried count what the agent did itself.
# TYPE roundabout_agent_requests_total counter
roundabout_agent_requests_total{code="NoEndpoint",endpoint="none",upstream="greet"} 0
roundabout_agent_requests_total{code="OK",endpoint="10.0.0.1:50051",upstream="greet"} 3
roundabout_agent_requests_total{code="Unavailable",endpoint="10.0.0.1:50051",upstream="greet"} 1
`
	if err := testutil.CollectAndCompare(m.requests, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestEndObservesDuration(t *testing.T) {
	m, reg := newTestMetrics(t)
	e := m.Upstream("greet").Endpoint("a:1")
	e.Begin()
	e.End(codes.OK, 3*time.Millisecond)
	e.Begin()
	e.End(codes.OK, 2*time.Second)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "roundabout_agent_request_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 2 || h.GetSampleSum() < 2.003 || h.GetSampleSum() > 2.0031 {
			t.Fatalf("histogram count=%d sum=%v, want 2 and 2.003", h.GetSampleCount(), h.GetSampleSum())
		}
		return
	}
	t.Fatal("request_duration_seconds not gathered")
}

func TestOutOfRangeCodeCountsAsUnknown(t *testing.T) {
	m, _ := newTestMetrics(t)
	e := m.Upstream("greet").Endpoint("a:1")
	e.Begin()
	e.End(codes.Code(99), 0)
	checkValue(t, m.requests.WithLabelValues("greet", "a:1", "Unknown"), 1)
}

func TestEndpointIsCachedPerAddr(t *testing.T) {
	m, _ := newTestMetrics(t)
	u := m.Upstream("greet")
	if u != m.Upstream("greet") {
		t.Fatal("Upstream returned a different value for the same name")
	}
	first := u.Endpoint("a:1")
	if again := u.Endpoint("a:1"); again != first {
		t.Fatal("Endpoint returned a different value for the same addr")
	}
	if first == u.Endpoint("b:1") {
		t.Fatal("Endpoint returned the same value for different addrs")
	}
}

func TestForgetDeletesEndpointSeries(t *testing.T) {
	m, _ := newTestMetrics(t)
	u := m.Upstream("greet")
	gone, kept := u.Endpoint("a:1"), u.Endpoint("b:1")
	for _, e := range []*Endpoint{gone, kept} {
		e.Begin()
		e.End(codes.OK, 0)
		e.Ejected()
	}
	u.Forget("a:1")

	if n := testutil.CollectAndCount(m.inFlight); n != 1 {
		t.Fatalf("in-flight series after Forget = %d, want 1", n)
	}
	if n := testutil.CollectAndCount(m.ejections); n != 1 {
		t.Fatalf("ejection series after Forget = %d, want 1", n)
	}
	// kept's OK counter and the upstream's "none" counter remain.
	if n := testutil.CollectAndCount(m.requests); n != 2 {
		t.Fatalf("request series after Forget = %d, want 2", n)
	}
	// A late End on the forgotten endpoint must not bring a new code back.
	gone.End(codes.Internal, 0)
	if n := testutil.CollectAndCount(m.requests); n != 2 {
		t.Fatalf("request series after late End = %d, want 2", n)
	}
	if u.Endpoint("a:1") == gone {
		t.Fatal("Endpoint after Forget returned the forgotten value")
	}
}

func TestSetStrategyReplacesOldSeries(t *testing.T) {
	m, _ := newTestMetrics(t)
	u := m.Upstream("greet")
	u.SetStrategy("round-robin")
	u.SetStrategy("peak-ewma")
	want := `
# HELP roundabout_agent_strategy_info Balancing strategy in use for an upstream; the value is always 1.
# TYPE roundabout_agent_strategy_info gauge
roundabout_agent_strategy_info{strategy="peak-ewma",upstream="greet"} 1
`
	if err := testutil.CollectAndCompare(m.strategy, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestSetEndpointsAndNoEndpoint(t *testing.T) {
	m, _ := newTestMetrics(t)
	u := m.Upstream("greet")
	u.SetEndpoints("ready", 3)
	u.SetEndpoints("ejected", 1)
	u.SetEndpoints("ready", 2)
	u.NoEndpoint()
	u.NoEndpoint()
	checkValue(t, m.endpoints.WithLabelValues("greet", "ready"), 2)
	checkValue(t, m.endpoints.WithLabelValues("greet", "ejected"), 1)
	u.SetDiscovered(1000)
	u.SetDiscovered(999)
	checkValue(t, m.discovered.WithLabelValues("greet"), 999)
	checkValue(t, m.requests.WithLabelValues("greet", NoEndpoint, CodeNoEndpoint), 2)
	if n := testutil.CollectAndCount(m.requests); n != 1 {
		t.Fatalf("request series = %d, want only the NoEndpoint one", n)
	}
}

// TestRetriedAndAbandonedAttempts: a retried attempt leaves the in-flight
// gauge, is counted as Retried and observes no duration, since the call
// goes on elsewhere; an abandoned one only leaves the gauge.
func TestRetriedAndAbandonedAttempts(t *testing.T) {
	m, reg := newTestMetrics(t)
	e := m.Upstream("greet").Endpoint("a:1")
	for range 3 {
		e.Begin()
	}
	e.Retried()
	e.Abandon()
	checkValue(t, m.requests.WithLabelValues("greet", "a:1", CodeRetried), 1)
	checkValue(t, m.inFlight.WithLabelValues("greet", "a:1"), 1)
	if n := testutil.CollectAndCount(m.requests); n != 2 {
		t.Fatalf("request series = %d, want Retried and the NoEndpoint one", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "roundabout_agent_request_duration_seconds" {
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != 0 {
				t.Fatalf("%d durations observed for attempts that did not end a call", n)
			}
		}
	}
}

// TestCancelledAndDeadlineCodesAreNamed: the two ways a client ends a call
// are exported under their own gRPC names.
func TestCancelledAndDeadlineCodesAreNamed(t *testing.T) {
	m, _ := newTestMetrics(t)
	e := m.Upstream("greet").Endpoint("a:1")
	e.Begin()
	e.End(codes.Canceled, time.Millisecond)
	e.Begin()
	e.End(codes.DeadlineExceeded, 2*time.Second)
	checkValue(t, m.requests.WithLabelValues("greet", "a:1", "Canceled"), 1)
	checkValue(t, m.requests.WithLabelValues("greet", "a:1", "DeadlineExceeded"), 1)
}

func TestMetricNamesArePrefixed(t *testing.T) {
	m, reg := newTestMetrics(t)
	u := m.Upstream("greet")
	u.SetStrategy("random")
	u.SetEndpoints("ready", 1)
	e := u.Endpoint("a:1")
	e.Begin()
	e.End(codes.OK, 0)
	e.Ejected()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 6 {
		t.Fatalf("gathered %d metric families, want 6", len(mfs))
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "roundabout_agent_") {
			t.Errorf("metric %q lacks the roundabout_agent_ prefix", mf.GetName())
		}
	}
}

func TestConcurrentEndAndForget(t *testing.T) {
	m, _ := newTestMetrics(t)
	u := m.Upstream("greet")
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				e := u.Endpoint("a:1")
				e.Begin()
				e.End(codes.Code((w+i)%numCodes), time.Microsecond)
				if i%100 == 0 {
					u.Forget("a:1")
				}
			}
		}()
	}
	wg.Wait()
	u.Forget("a:1")
	if n := testutil.CollectAndCount(m.requests); n != 1 {
		t.Fatalf("request series after final Forget = %d, want only the none series", n)
	}
}

func checkValue(t *testing.T, c prometheus.Collector, want float64) {
	t.Helper()
	if got := testutil.ToFloat64(c); got != want {
		t.Fatalf("value = %v, want %v", got, want)
	}
}

func BenchmarkEndpointEnd(b *testing.B) {
	m, _ := newTestMetrics(b)
	e := m.Upstream("greet").Endpoint("10.0.0.1:50051")
	e.Begin()
	e.End(codes.OK, time.Millisecond) // resolve the OK child outside the loop
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Begin()
		e.End(codes.OK, time.Millisecond)
	}
}

func BenchmarkEndpointEndParallel(b *testing.B) {
	m, _ := newTestMetrics(b)
	e := m.Upstream("greet").Endpoint("10.0.0.1:50051")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.Begin()
			e.End(codes.OK, time.Millisecond)
		}
	})
}

// TestNilRecordsNothing: metrics that are off are a nil *Upstream, and
// every update through it or its endpoints is a no-op.
func TestNilRecordsNothing(t *testing.T) {
	var u *Upstream
	u.SetStrategy("round-robin")
	u.SetEndpoints("ready", 1)
	u.NoEndpoint()
	u.Forget("a:1")
	e := u.Endpoint("a:1")
	if e != nil {
		t.Fatalf("Endpoint on a nil Upstream = %v, want nil", e)
	}
	e.Begin()
	e.End(codes.OK, time.Millisecond)
	e.Begin()
	e.Retried()
	e.Begin()
	e.Abandon()
	e.Ejected()
}

package pool_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// report accounts one attempt on e that ended with res.
func report(e *pool.Endpoint, res transport.Result) {
	a := e.Begin(time.Time{})
	a.End(res, false)
}

func debugOf(t *testing.T, p *pool.Pool, addr string) pool.EndpointDebug {
	t.Helper()
	for _, e := range p.Debug().Endpoints {
		if e.Addr == addr {
			return e
		}
	}
	t.Fatalf("endpoint %s not in the pool", addr)
	return pool.EndpointDebug{}
}

// TestAttemptAccountsInOnePlace: an attempt is in flight from Begin to its
// Cancel or End, in the load figures and the metrics alike; a cancelled
// attempt leaves no other trace, an ended one is counted by its outcome,
// sampled for latency and reported to outlier detection; finishing an
// attempt twice changes nothing.
func TestAttemptAccountsInOnePlace(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2"}, 0)
	reg := prometheus.NewRegistry()
	p, _ := newPool(t, pool.Config{Metrics: metrics.New(reg).Upstream("greet"), EjectFailures: 1000})
	p.Update(endpoints(pods))
	eventually(t, "a connected endpoint", func() bool { return p.ReadyCount() == 1 })
	addr := pods[0].Addr()
	e := pick(t, p, addr)
	counter := func(code string) float64 {
		return gathered(t, reg, "roundabout_agent_requests_total", addr, code)
	}
	inFlight := func() (int64, float64) {
		return debugOf(t, p, addr).InFlight, gathered(t, reg, "roundabout_agent_requests_in_flight", addr, "")
	}

	cancelled := e.Begin(time.Time{})
	if l, m := inFlight(); l != 1 || m != 1 {
		t.Fatalf("after Begin: in flight %d in the load figures and %v in the metrics, want 1 and 1", l, m)
	}
	if cancelled.Endpoint() != e {
		t.Fatal("Endpoint() is not the endpoint the attempt began on")
	}
	cancelled.Cancel()
	cancelled.Cancel()
	cancelled.End(transport.Result{Code: codes.OK}, false)
	if l, m := inFlight(); l != 0 || m != 0 {
		t.Fatalf("after Cancel: in flight %d and %v, want 0 and 0", l, m)
	}
	if d := debugOf(t, p, addr); d.Requests != 0 || d.EWMAMs != 0 {
		t.Fatalf("a cancelled attempt left %d requests and a %vms latency average, want none", d.Requests, d.EWMAMs)
	}

	retried := e.Begin(time.Time{})
	retried.End(transport.Result{Code: codes.Unavailable, Retryable: true}, true)
	ended := e.Begin(time.Now().Add(-time.Second))
	time.Sleep(time.Millisecond)
	ended.End(transport.Result{Code: codes.OK}, false)
	ended.End(transport.Result{Code: codes.Internal}, false)
	ended.Cancel()

	if l, m := inFlight(); l != 0 || m != 0 {
		t.Fatalf("after End: in flight %d and %v, want 0 and 0", l, m)
	}
	if counter(metrics.CodeRetried) != 1 || counter("OK") != 1 || counter("Internal") != 0 {
		t.Fatalf("Retried = %v, OK = %v, Internal = %v; want 1, 1, 0",
			counter(metrics.CodeRetried), counter("OK"), counter("Internal"))
	}
	d := debugOf(t, p, addr)
	if d.Requests != 2 || d.Failures != 1 {
		t.Fatalf("outlier detection saw %d requests and %d failures, want 2 and 1", d.Requests, d.Failures)
	}
	if d.EWMAMs <= 0 {
		t.Fatal("an ended attempt left no latency sample")
	}
	if sum := histogramSum(t, reg); sum < 1 {
		t.Fatalf("observed call duration %vs; want the call's, from its first attempt a second earlier", sum)
	}
}

// gathered reads the counter or gauge name of endpoint (and code, for a
// series that has one), zero when it is not exported.
func gathered(t *testing.T, reg *prometheus.Registry, name, endpoint, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == endpoint && labels["code"] == code {
				return m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func histogramSum(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "roundabout_agent_request_duration_seconds" {
			var sum float64
			for _, m := range mf.GetMetric() {
				if h := m.GetHistogram(); h.GetSampleCount() != 1 {
					t.Fatalf("%d call durations observed, want 1", h.GetSampleCount())
				}
				sum += m.GetHistogram().GetSampleSum()
			}
			return sum
		}
	}
	t.Fatal("no call duration observed")
	return 0
}

package proxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

func withMetrics(reg *prometheus.Registry) agentOption {
	m := metrics.New(reg)
	return func(p *pool.Config, _ *proxy.Config) { p.Metrics = m.Upstream("greet") }
}

// requests reads roundabout_agent_requests_total for endpoint and code.
func requests(t *testing.T, reg *prometheus.Registry, endpoint, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "roundabout_agent_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == endpoint && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func endpointDebug(t *testing.T, a *agent, addr string) pool.EndpointDebug {
	t.Helper()
	for _, e := range a.pool.Debug().Endpoints {
		if e.Addr == addr {
			return e
		}
	}
	t.Fatalf("endpoint %s not in the pool", addr)
	return pool.EndpointDebug{}
}

// TestCancelAndDeadlineAreCountedByName: a call whose deadline passes is
// counted as DeadlineExceeded and a call its client cancels as Canceled,
// whichever side's reset arrives first; both count as failures of an
// endpoint that had not begun to answer, and neither is Internal.
func TestCancelAndDeadlineAreCountedByName(t *testing.T) {
	slow := greettest.Start(t, "127.0.0.2:0", "slow", greettest.WithDelay(5*time.Second))
	reg := prometheus.NewRegistry()
	a := startAgent(t, "round-robin", []string{slow.Addr()}, withMetrics(reg), func(p *pool.Config, _ *proxy.Config) {
		p.EjectFailures = 100 // counted, not ejected
	})
	c := greetClient(t, a.addr)
	req := &greetv1.GreetRequest{FirstName: "x"}
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		_, err := c.Greet(ctx, req)
		cancel()
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("call past its deadline: %v", err)
		}
	}
	for _, deadline := range []time.Duration{10 * time.Second, 0} {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if deadline > 0 {
			ctx, cancel = context.WithTimeout(ctx, deadline)
		}
		ctx, stop := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, stop)
		_, err := c.Greet(ctx, req)
		cancel()
		if status.Code(err) != codes.Canceled {
			t.Fatalf("cancelled call (deadline %v): %v", deadline, err)
		}
	}
	ep := slow.Addr()
	waitFor(t, "five calls accounted", 5*time.Second, func() bool { return endpointDebug(t, a, ep).Requests == 5 })
	if got := requests(t, reg, ep, "DeadlineExceeded"); got != 3 {
		t.Errorf("DeadlineExceeded = %v, want 3", got)
	}
	if got := requests(t, reg, ep, "Canceled"); got != 2 {
		t.Errorf("Canceled = %v, want 2", got)
	}
	if got := requests(t, reg, ep, "Internal"); got != 0 {
		t.Errorf("Internal = %v, want 0", got)
	}
	if d := endpointDebug(t, a, ep); d.Failures != 5 {
		t.Errorf("%d of 5 calls counted as failures of the endpoint, want all", d.Failures)
	}
}

// TestDeadlinesEjectAHungServer: calls that time out on one endpoint eject
// it; the other keeps serving.
func TestDeadlinesEjectAHungServer(t *testing.T) {
	hung := greettest.Start(t, "127.0.0.2:0", "hung", greettest.WithDelay(time.Minute))
	fine := greettest.Start(t, "127.0.0.3:0", "fine")
	opt, logs := withLogs(t)
	a := startAgent(t, "round-robin", []string{hung.Addr(), fine.Addr()}, opt)
	c := greetClient(t, a.addr)
	for i := 0; logs.FilterMessage("endpoint ejected").Len() == 0; i++ {
		if i == 20 {
			t.Fatal("20 calls and the endpoint whose calls time out is not ejected")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		c.Greet(ctx, &greetv1.GreetRequest{FirstName: "x"})
		cancel()
	}
	if e := logs.FilterMessage("endpoint ejected").All()[0]; e.ContextMap()["endpoint"] != hung.Addr() {
		t.Fatalf("ejected %v", e.ContextMap()["endpoint"])
	}
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "x"})
		cancel()
		if err != nil {
			t.Fatalf("call after the ejection: %v", err)
		}
	}
}

// TestCancelAfterResponseIsNotAFailure: a stream the client cancels once
// the server is answering says nothing against the server.
func TestCancelAfterResponseIsNotAFailure(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "streaming", greettest.WithDelay(20*time.Millisecond))
	reg := prometheus.NewRegistry()
	a := startAgent(t, "round-robin", []string{srv.Addr()}, withMetrics(reg))
	c := greetClient(t, a.addr)
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		stream, err := c.GreetManyTimes(ctx, &greetv1.GreetManyTimesRequest{
			Greeting: &greetv1.GreetRequest{FirstName: "s"}, Count: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	waitFor(t, "three calls accounted", 5*time.Second, func() bool { return endpointDebug(t, a, srv.Addr()).Requests == 3 })
	if d := endpointDebug(t, a, srv.Addr()); d.Failures != 0 {
		t.Fatalf("%d streams cancelled mid-response counted as failures", d.Failures)
	}
	if got := requests(t, reg, srv.Addr(), "Canceled"); got != 3 {
		t.Fatalf("Canceled = %v, want 3", got)
	}
}

// TestAgentOutcomesHaveTheirOwnCodes: a request refused by one server and
// sent again to another is Retried on the first and OK on the second; a
// request with nowhere to go is NoEndpoint.
func TestAgentOutcomesHaveTheirOwnCodes(t *testing.T) {
	m := startMute(t, true)
	m.refusing.Store(true)
	fine := greettest.Start(t, "127.0.0.3:0", "fine")
	reg := prometheus.NewRegistry()
	a := startAgent(t, "round-robin", []string{m.ln.Addr().String(), fine.Addr()}, withMetrics(reg), func(p *pool.Config, _ *proxy.Config) {
		p.EjectFailures = 100
	})
	c := greetClient(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 4 {
		if _, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	refused := float64(m.refused.Load())
	if refused == 0 {
		t.Fatal("round robin sent nothing to the refusing server")
	}
	waitFor(t, "every refused attempt accounted", 5*time.Second, func() bool {
		return requests(t, reg, m.ln.Addr().String(), metrics.CodeRetried) == refused
	})
	if got := requests(t, reg, m.ln.Addr().String(), "Unavailable"); got != 0 {
		t.Errorf("Unavailable = %v for refused attempts that were retried", got)
	}
	if got := requests(t, reg, fine.Addr(), "OK"); got != 4 {
		t.Errorf("OK = %v, want 4", got)
	}

	a.pool.Update(nil)
	_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "x"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("call with no endpoint: %v", err)
	}
	if got := requests(t, reg, metrics.NoEndpoint, metrics.CodeNoEndpoint); got != 1 {
		t.Errorf("NoEndpoint = %v, want 1", got)
	}
}

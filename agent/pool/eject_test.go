package pool_test

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
)

func pick(t *testing.T, p *pool.Pool, addr string) *pool.Endpoint {
	t.Helper()
	for range 100 {
		if e, _, err := p.Pick(balancer.PickInfo{}); err == nil && e.Addr == addr {
			return e
		}
	}
	t.Fatalf("%s never picked", addr)
	return nil
}

func failures(p *pool.Pool, addr string) int64 {
	for _, e := range p.Debug().Endpoints {
		if e.Addr == addr {
			return e.Failures
		}
	}
	return -1
}

// TestWhatCountsAsAFailure: the endpoint is blamed for transport failures,
// UNAVAILABLE, and deadlines or cancellations before it began to answer;
// not for a cancellation once it was answering nor for its own statuses.
func TestWhatCountsAsAFailure(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3"}, 0)
	p, _ := newPool(t, pool.Config{EjectFailures: 1000})
	p.Update(endpoints(pods))
	eventually(t, "two connected endpoints", func() bool { return p.ReadyCount() == 2 })
	e := pick(t, p, pods[0].Addr())
	for _, c := range []struct {
		res  transport.Result
		fail bool
	}{
		{transport.Result{Code: codes.OK}, false},
		{transport.Result{Code: codes.NotFound}, false},
		{transport.Result{Code: codes.Internal}, false},
		{transport.Result{Code: codes.Unavailable}, true},
		{transport.Result{Code: codes.Unavailable, Err: transport.ErrGoingAway, Retryable: true}, true},
		{transport.Result{Code: codes.Internal, Err: errors.New("stream reset")}, true},
		{transport.Result{Code: codes.DeadlineExceeded}, true},
		{transport.Result{Code: codes.Canceled}, true},
		{transport.Result{Code: codes.DeadlineExceeded, Responded: true}, false},
		{transport.Result{Code: codes.Canceled, Responded: true}, false},
	} {
		before := failures(p, e.Addr)
		report(e, c.res)
		if got := failures(p, e.Addr) - before; got != map[bool]int64{true: 1, false: 0}[c.fail] {
			t.Errorf("%+v counted %d failures, want failure=%v", c.res, got, c.fail)
		}
	}
}

// TestReadmissionNeedsAPingWithinThePingPolicy ejects an endpoint again
// and again without a request reaching it: each re-admission needs an
// answered PING, and since the server sends nothing in between, the third
// one comes on a new connection rather than as a third PING the server's
// ping policy would count against the agent.
func TestReadmissionNeedsAPingWithinThePingPolicy(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	p, logs := newPool(t, pool.Config{EjectFailures: 1, EjectBackoff: 10 * time.Millisecond, MaxEjectionPercent: 50})
	p.Update(endpoints(pods))
	eventually(t, "three connected endpoints", func() bool { return p.ReadyCount() == 3 })
	e := pick(t, p, pods[0].Addr())
	for i := 1; i <= 4; i++ {
		report(e, transport.Result{Code: codes.Unavailable})
		if p.ReadyCount() != 2 {
			t.Fatalf("ejection %d did not take the endpoint out", i)
		}
		eventually(t, "re-admission", func() bool { return p.ReadyCount() == 3 })
		if n := logs.FilterMessage("endpoint re-admitted").Len(); n != i {
			t.Fatalf("%d re-admission lines after %d ejections", n, i)
		}
	}
	if logs.FilterMessage("endpoint connection renewed: the server allows no PING on it before it sends data").Len() == 0 {
		t.Fatal("four PING re-admissions on one connection without server data")
	}
	if n := logs.FilterMessage("endpoint connection going away; reconnecting").Len(); n != 0 {
		t.Fatal("the server sent GOAWAY")
	}
	if pods[0].Requests() != 0 {
		t.Fatalf("%d requests reached the ejected endpoint", pods[0].Requests())
	}
}

package proxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// BenchmarkUnary measures unary Greet calls from 50 concurrent callers on one
// client connection, directly to one server and through the agent over
// three, with its metrics on as the agent runs. Client, agent and servers
// share the machine, so only the ratio of the two means anything; make bench
// gives the figures with separate processes.
func BenchmarkUnary(b *testing.B) {
	pods := greettest.StartPods(b, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	b.Run("direct", func(b *testing.B) { benchUnary(b, pods[0].Addr()) })
	b.Run("agent", func(b *testing.B) {
		a := startAgentTB(b, "round-robin", addrs(pods), withMetrics(prometheus.NewRegistry()))
		benchUnary(b, a.addr)
	})
}

func benchUnary(b *testing.B, addr string) {
	c := greetv1.NewGreetServiceClient(dial(b, addr))
	req := &greetv1.GreetRequest{FirstName: "Bench", LastName: "Mark"}
	b.SetParallelism(25)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Greet(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAccounting measures what every request costs outside the
// transport, as call.send and call.Done spend it: a pick, and an attempt's
// accounting from Begin to End (load figures, outlier detection, metrics
// on), over three endpoints from as many callers as there are processors.
func BenchmarkAccounting(b *testing.B) {
	pods := greettest.StartPods(b, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	rr, err := balancer.Get("round-robin")
	if err != nil {
		b.Fatal(err)
	}
	p := pool.New(pool.Config{Upstream: "greet", Logger: zap.NewNop(),
		Metrics: metrics.New(prometheus.NewRegistry()).Upstream("greet")}, rr)
	b.Cleanup(func() { p.Close(context.Background()) })
	p.Update(toDiscovery(addrs(pods)))
	a := &agent{pool: p}
	a.waitReady(b, len(pods))
	res := transport.Result{Code: codes.OK, Responded: true}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e, _, err := p.Pick(balancer.PickInfo{})
			if err != nil {
				b.Error(err)
				return
			}
			att := e.Begin(time.Time{})
			att.End(res, false)
		}
	})
}

package proxy_test

import (
	"context"
	"testing"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// BenchmarkUnary measures unary Greet calls from 50 concurrent callers on one
// client connection, directly to one server and through the agent over
// three. Client, agent and servers share the machine, so only the ratio of
// the two means anything; make bench gives the figures with separate
// processes.
func BenchmarkUnary(b *testing.B) {
	pods := greettest.StartPods(b, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	b.Run("direct", func(b *testing.B) { benchUnary(b, pods[0].Addr()) })
	b.Run("agent", func(b *testing.B) {
		a := startAgentTB(b, "round-robin", addrs(pods))
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

package proxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetserver "github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

func TestRoundRobinSpreadsEveryRequest(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	a := startAgent(t, "round-robin", addrs(pods))
	client := greetClient(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var names []string
	for range 300 {
		resp, err := client.Greet(ctx, &greetv1.GreetRequest{FirstName: "Ada", LastName: "Lovelace"})
		if err != nil {
			t.Fatalf("Greet through the agent: %v", err)
		}
		name, ok := greetserver.PodName(resp.GetResult())
		if !ok {
			t.Fatalf("no pod name in %q", resp.GetResult())
		}
		names = append(names, name)
	}
	got := greettest.Tally(names)
	for _, p := range pods {
		if got[p.PodName()] != 100 {
			t.Fatalf("distribution %v, want 100 per pod", got)
		}
	}
}

func addrs(pods []*greettest.Server) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Addr()
	}
	return out
}

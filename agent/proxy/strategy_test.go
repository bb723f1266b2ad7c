package proxy_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"google.golang.org/grpc/metadata"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// TestLoadAwareStrategiesAvoidASlowServer runs concurrent load over two
// fast servers and one 10x slower; load-aware strategies must send the slow
// one at most half the traffic of an average fast one.
func TestLoadAwareStrategiesAvoidASlowServer(t *testing.T) {
	for _, strategy := range []string{"least-request", "peak-ewma"} {
		t.Run(strategy, func(t *testing.T) {
			fast := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3"}, 0, greettest.WithDelay(5*time.Millisecond))
			slow := greettest.Start(t, "127.0.0.4:0", "slow", greettest.WithDelay(50*time.Millisecond))
			pods := append(fast, slow)
			a := startAgent(t, strategy, addrs(pods))
			stop := make(chan struct{})
			l := runLoad(t, greetClient(t, a.addr), 16, 1500, stop)
			l.wait(t, 60*time.Second)
			close(stop)
			fastAvg := float64(l.count(fast[0].PodName())+l.count(fast[1].PodName())) / 2
			slowN := float64(l.count("slow"))
			t.Logf("%s: fast %d/%d, slow %d", strategy, l.count(fast[0].PodName()), l.count(fast[1].PodName()), l.count("slow"))
			if slowN*2 > fastAvg {
				t.Fatalf("slow server got %.0f requests, fast ones %.0f on average; want at most half", slowN, fastAvg)
			}
			if l.failures.Load() != 0 {
				t.Fatalf("%d requests failed", l.failures.Load())
			}
		})
	}
}

func withHashHeader(h string) agentOption {
	return func(_ *pool.Config, x *proxy.Config) { x.HashHeader = h }
}

// podsByKey sends one request per key carrying it in x-user and records
// which pod answered.
func podsByKey(t *testing.T, c greetv1.GreetServiceClient, keys int) map[string]string {
	t.Helper()
	out := make(map[string]string, keys)
	for k := range keys {
		key := fmt.Sprintf("user-%d", k)
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user", key)
		resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Hash"})
		if err != nil {
			t.Fatal(err)
		}
		out[key], _ = greetserver.PodName(resp.GetResult())
	}
	return out
}

func TestRingHashKeepsKeysAndMovesAboutOneNth(t *testing.T) {
	hosts := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	pods := greettest.StartPods(t, hosts, 0)
	a := startAgent(t, "ring-hash", addrs(pods[:3]), withHashHeader("x-user"))
	c := greetClient(t, a.addr)
	const keys = 400
	first := podsByKey(t, c, keys)
	if again := podsByKey(t, c, keys); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatal("the same keys went to different pods on a second pass")
	}
	a.pool.Update(toDiscovery(addrs(pods)))
	a.waitReady(t, 4)
	moved := 0
	for key, pod := range podsByKey(t, c, keys) {
		if pod != first[key] {
			moved++
			if pod != pods[3].PodName() {
				t.Fatalf("key %s moved between old pods (%s -> %s)", key, first[key], pod)
			}
		}
	}
	frac := float64(moved) / keys
	t.Logf("adding a 4th pod moved %.1f%% of keys (ideal 25%%)", frac*100)
	if frac < 0.125 || frac > 0.375 {
		t.Fatalf("moved %.1f%% of keys; want about 1/4", frac*100)
	}
}

// TestStrategySwapUnderLoad swaps the strategy while requests are in
// flight: none fails, and the new strategy serves the next picks.
func TestStrategySwapUnderLoad(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0, greettest.WithDelay(5*time.Millisecond))
	a := startAgent(t, "round-robin", addrs(pods))
	stop := make(chan struct{})
	l := runLoad(t, greetClient(t, a.addr), 8, 3000, stop)
	for _, s := range []string{"least-request", "random", "peak-ewma", "ring-hash", "round-robin"} {
		next := l.calls.Load() + 200
		waitFor(t, "load between swaps", 10*time.Second, func() bool { return l.calls.Load() > next })
		b, err := balancer.Get(s)
		if err != nil {
			t.Fatal(err)
		}
		a.pool.SetStrategy(b)
		if a.pool.Strategy() != s {
			t.Fatalf("strategy %q after swapping to %q", a.pool.Strategy(), s)
		}
	}
	next := l.calls.Load() + 200
	waitFor(t, "load after the swaps", 10*time.Second, func() bool { return l.calls.Load() > next })
	close(stop)
	if f := l.failures.Load(); f != 0 {
		t.Fatalf("%d requests failed across strategy swaps", f)
	}
}

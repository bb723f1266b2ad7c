package discovery

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/balancer/roundrobin"
	k8sdiscovery "github.com/roundabout-dev/roundabout/agent/discovery/kubernetes"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// waitTimeout bounds every wait for the agent to reach a state.
const waitTimeout = 10 * time.Second

// agent is the agent's data path for one upstream, assembled in-process:
// the EndpointSlice source feeds the pool, the proxy serves on loopback.
type agent struct {
	up     k8sdiscovery.Upstream
	pool   *pool.Pool
	client greetv1.GreetServiceClient
	logs   *observer.ObservedLogs
}

func startAgent(t testing.TB, c *kubeCluster, upstream string) *agent {
	t.Helper()
	up, err := k8sdiscovery.ParseUpstream(upstream, "")
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(testLogLevel(t))).Core()))
	b, err := balancer.Get(roundrobin.Name)
	if err != nil {
		t.Fatal(err)
	}
	p := pool.New(pool.Config{Upstream: up.String(), Logger: log}, b)
	px := proxy.New(proxy.Config{Upstream: up.String(), Logger: log}, p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- px.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- k8sdiscovery.New(c.slices, up, log).Watch(ctx, p.Update) }()
	// Everything the agent started has ended when the cleanup returns, so
	// nothing logs to the test's logger after the test.
	t.Cleanup(func() {
		cancel()
		if err := <-watched; err != nil {
			t.Errorf("source Watch: %v", err)
		}
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = px.Shutdown(stopCtx)
		if err := <-served; err != nil {
			t.Errorf("proxy Serve: %v", err)
		}
		p.Close(stopCtx)
	})
	return &agent{up: up, pool: p, client: greetClient(t, ln.Addr().String()), logs: logs}
}

// testLogLevel keeps the agent's lines in a test's output, shown when it
// fails, and out of a benchmark's, which is always printed.
func testLogLevel(t testing.TB) zapcore.Level {
	if _, ok := t.(*testing.B); ok {
		return zap.WarnLevel
	}
	return zap.InfoLevel
}

func greetClient(t testing.TB, addr string) greetv1.GreetServiceClient {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return greetv1.NewGreetServiceClient(cc)
}

// greet makes one call through the agent and returns the pod that answered.
func (a *agent) greet(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := a.client.Greet(ctx, &greetv1.GreetRequest{FirstName: "Ada"})
	if err != nil {
		return "", err
	}
	pod, _ := greetserver.PodName(resp.GetResult())
	return pod, nil
}

// greetN makes n sequential calls and fails t on the first error.
func (a *agent) greetN(t testing.TB, n int) []string {
	t.Helper()
	pods := make([]string, 0, n)
	for range n {
		pod, err := a.greet(context.Background())
		if err != nil {
			t.Fatalf("Greet through the agent after %d calls: %v", len(pods), err)
		}
		pods = append(pods, pod)
	}
	return pods
}

// waitEndpoints waits until the agent has connections to exactly pods.
func (a *agent) waitEndpoints(t testing.TB, pods ...*greettest.Server) {
	t.Helper()
	want := make([]string, len(pods))
	for i, p := range pods {
		want[i] = p.Addr()
	}
	slices.Sort(want)
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if slices.Equal(a.pool.ReadyAddrs(), want) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("agent endpoints = %v after %s, want %v", a.pool.ReadyAddrs(), waitTimeout, want)
}

// waitLog waits until the agent has logged a line containing msg.
func (a *agent) waitLog(t testing.TB, msg string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if a.logs.FilterMessageSnippet(msg).Len() > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("agent did not log %q within %s", msg, waitTimeout)
}

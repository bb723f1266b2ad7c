package proxy_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// agent is a proxy and pool under test, listening on loopback.
type agent struct {
	pool  *pool.Pool
	proxy *proxy.Proxy
	addr  string
}

type agentOption func(*pool.Config, *proxy.Config)

func startAgent(t *testing.T, strategy string, endpoints []string, opts ...agentOption) *agent {
	return startAgentTB(t, strategy, endpoints, opts...)
}

func startAgentTB(t testing.TB, strategy string, endpoints []string, opts ...agentOption) *agent {
	t.Helper()
	b, err := balancer.Get(strategy)
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	pcfg := pool.Config{Upstream: "greet", Logger: log}
	xcfg := proxy.Config{Upstream: "greet", Logger: log}
	for _, o := range opts {
		o(&pcfg, &xcfg)
	}
	p := pool.New(pcfg, b)
	p.Update(toDiscovery(endpoints))
	px := proxy.New(xcfg, p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go px.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		px.Shutdown(ctx)
		p.Close(ctx)
	})
	a := &agent{pool: p, proxy: px, addr: ln.Addr().String()}
	a.waitReady(t, len(endpoints))
	return a
}

func toDiscovery(addrs []string) []discovery.Endpoint {
	out := make([]discovery.Endpoint, len(addrs))
	for i, a := range addrs {
		out[i] = discovery.Endpoint{Addr: a}
	}
	return out
}

// waitReady waits until n endpoints are connected.
func (a *agent) waitReady(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if a.pool.ReadyCount() >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("only %d of %d endpoints connected", a.pool.ReadyCount(), n)
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func greetClient(t *testing.T, addr string) greetv1.GreetServiceClient {
	return greetv1.NewGreetServiceClient(dial(t, addr))
}

func insecureCreds() credentials.TransportCredentials { return insecure.NewCredentials() }

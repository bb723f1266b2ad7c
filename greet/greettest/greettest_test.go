package greettest_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

func greet(t *testing.T, addr string) (string, error) {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := greetv1.NewGreetServiceClient(conn).Greet(ctx, &greetv1.GreetRequest{FirstName: "Ada"})
	return resp.GetResult(), err
}

func TestPodName(t *testing.T) {
	tests := map[string]struct {
		result, name string
		ok           bool
	}{
		"greeting":        {"response from Greet rpc: Hello, Ada from pod: name(greet-1), ip(10.0.0.2).", "greet-1", true},
		"spoofed in name": {"response from Greet rpc: Hello, from pod: name(x), ip(y). from pod: name(greet-2), ip(10.0.0.3).", "greet-2", true},
		"no identity":     {"Hello, Ada", "", false},
	}
	for name, tc := range tests {
		got, ok := greetserver.PodName(tc.result)
		if got != tc.name || ok != tc.ok {
			t.Errorf("%s: PodName = %q, %v; want %q, %v", name, got, ok, tc.name, tc.ok)
		}
	}
}

func TestTally(t *testing.T) {
	got := greettest.Tally([]string{"a", "b", "a"})
	if len(got) != 2 || got["a"] != 2 || got["b"] != 1 {
		t.Errorf("Tally = %v, want a:2 b:1", got)
	}
}

func TestServerCountsAndIdentifies(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.3:0", "greet-x")
	result, err := greet(t, srv.Addr())
	if err != nil {
		t.Fatalf("Greet: %v", err)
	}
	if name, _ := greetserver.PodName(result); name != "greet-x" || srv.PodIP() != "127.0.0.3" {
		t.Errorf("pod = %q at %s, want greet-x at 127.0.0.3", name, srv.PodIP())
	}
	if srv.Requests() != 1 {
		t.Errorf("Requests = %d, want 1", srv.Requests())
	}
}

func TestStartPodsSharesAFreePort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, taken)
	_, port, _ := net.SplitHostPort(pods[0].Addr())
	if port == strconv.Itoa(taken) {
		t.Fatalf("pods use port %s, which is taken on 127.0.0.3", port)
	}
	for i, p := range pods {
		host, got, _ := net.SplitHostPort(p.Addr())
		if got != port || p.PodName() != "greet-"+strconv.Itoa(i) || host != p.PodIP() {
			t.Errorf("pod %d = %s at %s, want greet-%d on port %s", i, p.PodName(), p.Addr(), i, port)
		}
	}
}

func TestKillCutsOpenConnections(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "greet-x")
	conn, err := grpc.NewClient("passthrough:///"+srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := greetv1.NewGreetServiceClient(conn).GreetEveryone(ctx)
	if err != nil {
		t.Fatalf("GreetEveryone: %v", err)
	}
	if err := stream.Send(&greetv1.GreetRequest{FirstName: "Ada"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("Recv: %v", err)
	}
	srv.Kill()
	if _, err := stream.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("Recv on an open stream after Kill = %v, want Unavailable", err)
	}
	if _, err := greet(t, srv.Addr()); status.Code(err) != codes.Unavailable {
		t.Errorf("Greet after Kill = %v, want Unavailable", err)
	}
}

func TestConnBalancerRoundRobinsConnections(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3"}, 0)
	lb := greettest.StartConnBalancer(t, "127.0.0.1:0", pods[0].Addr(), pods[1].Addr())
	var names []string
	for range 4 {
		result, err := greet(t, lb.Addr()) // a new connection each time
		if err != nil {
			t.Fatalf("Greet through balancer: %v", err)
		}
		name, _ := greetserver.PodName(result)
		names = append(names, name)
	}
	want := []string{"greet-0", "greet-1", "greet-0", "greet-1"}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("pods per connection = %v, want %v", names, want)
		}
	}
	if got := lb.Connections(); got[0] != 2 || got[1] != 2 {
		t.Errorf("Connections = %v, want [2 2]", got)
	}
}

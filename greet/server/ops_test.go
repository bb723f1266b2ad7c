package server_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	"github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

func TestHealthIsServing(t *testing.T) {
	srv, _ := startGreet(t, greettest.WithFailRate(1, nil))
	health := healthpb.NewHealthClient(dial(t, srv.Addr()))
	for _, service := range []string{"", greetv1.GreetService_ServiceDesc.ServiceName} {
		resp, err := health.Check(testContext(t), &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", service, resp.GetStatus(), err)
		}
	}
}

func TestReflectionListsGreetService(t *testing.T) {
	srv, _ := startGreet(t)
	stream, err := reflectionpb.NewServerReflectionClient(dial(t, srv.Addr())).ServerReflectionInfo(testContext(t))
	if err != nil {
		t.Fatalf("ServerReflectionInfo: %v", err)
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}
	if err := stream.Send(req); err != nil {
		t.Fatalf("Send: %v", err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"greet.v1.GreetService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, want it to include %s", names, want)
		}
	}
}

func TestFailRateAnswersUnavailable(t *testing.T) {
	srv, client := startGreet(t, greettest.WithFailRate(0.5, alternate(0.1, 0.9)))
	want := []codes.Code{codes.Unavailable, codes.OK, codes.Unavailable, codes.OK}
	for i, code := range want {
		_, err := client.Greet(testContext(t), &greetv1.GreetRequest{FirstName: "Ada"})
		if got := status.Code(err); got != code {
			t.Errorf("call %d: code = %v, want %v", i, got, code)
		}
	}
	if got := srv.Requests(); got != int64(len(want)) {
		t.Errorf("server counted %d requests, want %d", got, len(want))
	}
}

// alternate returns a and b in turn; the greet server calls it once per RPC.
func alternate(a, b float64) func() float64 {
	var n atomic.Int64
	return func() float64 {
		if n.Add(1)%2 == 1 {
			return a
		}
		return b
	}
}

func TestDelayAppliesToEveryResponse(t *testing.T) {
	const delay = 100 * time.Millisecond
	_, client := startGreet(t, greettest.WithDelay(delay))
	start := time.Now()
	if _, err := client.Greet(testContext(t), &greetv1.GreetRequest{FirstName: "Ada"}); err != nil {
		t.Fatalf("Greet: %v", err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("Greet took %v, want at least %v", took, delay)
	}
	ctx, cancel := context.WithTimeout(testContext(t), delay/4)
	defer cancel()
	_, err := client.Greet(ctx, &greetv1.GreetRequest{FirstName: "Ada"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("Greet with a deadline shorter than the delay = %v, want DeadlineExceeded", err)
	}
}

func TestRunDrainsInFlightRPCs(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	arrived := make(chan struct{})
	notify := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		close(arrived) // one call only in this test
		return h(ctx, req)
	}
	cfg := server.Config{PodName: "greet-a", PodIP: "127.0.0.2", Delay: 200 * time.Millisecond}
	srv := server.New(cfg, zaptest.NewLogger(t), server.WithGRPCOptions(grpc.ChainUnaryInterceptor(notify)))
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx, lis, 5*time.Second) }()
	client := greetv1.NewGreetServiceClient(dial(t, lis.Addr().String()))
	got := make(chan error, 1)
	go func() {
		_, err := client.Greet(testContext(t), &greetv1.GreetRequest{FirstName: "Ada"})
		got <- err
	}()
	<-arrived // the call now sleeps in the server's GREET_DELAY
	stop()
	if err := <-got; err != nil {
		t.Errorf("in-flight Greet during shutdown: %v, want success", err)
	}
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil after graceful stop", err)
	}
}

func TestShutdownIsBounded(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	srv := server.New(server.Config{PodName: "greet-a"}, zaptest.NewLogger(t))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	stream, err := greetv1.NewGreetServiceClient(dial(t, lis.Addr().String())).GreetEveryone(testContext(t))
	if err != nil {
		t.Fatalf("GreetEveryone: %v", err)
	}
	if err := stream.Send(&greetv1.GreetRequest{FirstName: "Ada"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := stream.Recv(); err != nil { // the stream is now open on the server and never closed
		t.Fatalf("Recv: %v", err)
	}
	if srv.Shutdown(100 * time.Millisecond) {
		t.Errorf("Shutdown reported a complete drain while a stream was still open")
	}
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve = %v after Shutdown", err)
	}
}

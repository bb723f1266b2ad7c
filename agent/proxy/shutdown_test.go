package proxy_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// TestShutdownClosesWhatIsLeftWhenTimeRunsOut: a request still in flight
// when Shutdown's context ends has its client connection closed; Shutdown
// returns the context's error once the connection has ended, Serve returns
// nil, and after the pool is closed too nothing logs any more.
func TestShutdownClosesWhatIsLeftWhenTimeRunsOut(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.1:0", "pod-0", greettest.WithDelay(time.Minute))
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	b, err := balancer.Get("round-robin")
	if err != nil {
		t.Fatal(err)
	}
	p := pool.New(pool.Config{Upstream: "greet", Logger: log}, b)
	p.Update(toDiscovery([]string{srv.Addr()}))
	px := proxy.New(proxy.Config{Upstream: "greet", Logger: log}, p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() {
		if err := px.Serve(ln); err != nil {
			t.Errorf("Serve after Shutdown = %v, want nil", err)
		}
	})
	a := &agent{pool: p, proxy: px, addr: ln.Addr().String()}
	a.waitReady(t, 1)

	client := greetClient(t, a.addr)
	called := make(chan error, 1)
	go func() {
		_, err := client.Greet(context.Background(), &greetv1.GreetRequest{FirstName: "Ada"})
		called <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Requests() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request did not reach the server")
		}
		time.Sleep(5 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := px.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a request in flight = %v, want %v", err, context.DeadlineExceeded)
	}
	serving.Wait()
	select {
	case err := <-called:
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("the request cut by Shutdown ended with %v, want UNAVAILABLE", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request still runs after Shutdown returned")
	}
	if err := px.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v, want nil", err)
	}
	p.Close(context.Background())
	n := logs.Len()
	srv.Stop() // the server's side of the cut request ends
	if late := logs.All()[n:]; len(late) > 0 {
		t.Fatalf("logged after Shutdown and Close returned: %v", late)
	}
}

package proxy_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"go.uber.org/zap"
)

// TestServerStreamLimitQueuesRequests sends more concurrent calls than the
// server's MAX_CONCURRENT_STREAMS allows on the agent's one connection:
// the agent holds the extra ones until a stream closes, and all succeed.
func TestServerStreamLimitQueuesRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{PodName: "limited", PodIP: "127.0.0.2", Delay: 20 * time.Millisecond}, zap.NewNop(),
		server.WithGRPCOptions(grpc.MaxConcurrentStreams(2)))
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	a := startAgent(t, "round-robin", []string{ln.Addr().String()})
	c := greetClient(t, a.addr)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "q"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("call over a stream-limited server: %v", err)
		}
	}
}

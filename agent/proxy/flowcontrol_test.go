package proxy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// TestSlowReaderBoundsBuffering streams 64 MiB to a client that stops
// reading. With flow control carried end to end, the server must stall
// after a few windows' worth of data instead of the agent buffering it all.
func TestSlowReaderBoundsBuffering(t *testing.T) {
	es, direct := startEcho(t, "127.0.0.2:0")
	a := startAgent(t, "round-robin", []string{direct})
	c := greetv1.NewGreetServiceClient(dialWith(t, a.addr,
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const msg, count = 64 << 10, 1024
	stream, err := c.GreetManyTimes(ctx, &greetv1.GreetManyTimesRequest{
		Greeting: &greetv1.GreetRequest{FirstName: strings.Repeat("m", msg)}, Count: count})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	sent := waitStable(es.sent.Load, 300*time.Millisecond, 10*time.Second)
	// Client window + agent's two stream windows + socket buffers: a few MiB.
	if limit := int64(12 << 20); sent > limit {
		t.Fatalf("server sent %d bytes to a client that read one message; want at most %d", sent, limit)
	}
	if sent == int64(msg*count) {
		t.Fatal("the whole stream was sent; nothing held the server back")
	}
	t.Logf("server stalled after %.1f MiB of %d MiB", float64(sent)/(1<<20), msg*count>>20)
	for i := 1; i < count; i++ {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("message %d after the reader resumed: %v", i, err)
		}
	}
}

// waitStable polls f until its value has not changed for quiet, or until
// limit, and returns the last value. A stalled sender has no event to wait
// for, so stability over a quiet period is the observable.
func waitStable(f func() int64, quiet, limit time.Duration) int64 {
	deadline := time.Now().Add(limit)
	last, since := f(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if v := f(); v != last {
			last, since = v, time.Now()
		} else if time.Since(since) >= quiet {
			break
		}
	}
	return last
}

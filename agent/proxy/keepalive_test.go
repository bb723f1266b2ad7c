package proxy_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// freezer relays TCP to a backend until frozen; then it silently drops
// every byte in both directions and keeps the connections open, which is
// what a client sees when a node dies without closing its sockets.
type freezer struct {
	ln      net.Listener
	backend string
	frozen  atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func startFreezer(t *testing.T, backend string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, backend: backend}
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *freezer) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", f.backend)
		if err != nil {
			c.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, c, b)
		f.mu.Unlock()
		go f.pipe(b, c)
		go f.pipe(c, b)
	}
}

func (f *freezer) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if !f.frozen.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

func (f *freezer) close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// TestKeepaliveDetectsAVanishedServer freezes the path to one server while
// a request is in flight: the agent's PING goes unanswered, the connection
// is closed, the stuck request fails with UNAVAILABLE long before its
// deadline, and later requests go to the other server.
func TestKeepaliveDetectsAVanishedServer(t *testing.T) {
	slow := greettest.Start(t, "127.0.0.2:0", "slow", greettest.WithDelay(300*time.Millisecond))
	healthy := greettest.Start(t, "127.0.0.3:0", "healthy")
	fz := startFreezer(t, slow.Addr())
	opt := func(p *pool.Config, _ *proxy.Config) {
		p.Transport = transport.Config{KeepaliveTime: 100 * time.Millisecond, KeepaliveTimeout: 200 * time.Millisecond}
	}
	a := startAgent(t, "round-robin", []string{fz.ln.Addr().String(), healthy.Addr()}, opt)
	c := greetClient(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for range 2 { // round robin: one of the two goes through the freezer
		go func() {
			_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "k"})
			errs <- err
		}()
	}
	waitFor(t, "a request in flight to the frozen server", 5*time.Second, func() bool { return slow.Requests() == 1 })
	fz.frozen.Store(true)
	start := time.Now()
	stuck := <-errs
	if stuck == nil {
		stuck = <-errs
	}
	if status.Code(stuck) != codes.Unavailable {
		t.Fatalf("request to the vanished server ended with %v, want UNAVAILABLE", stuck)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to give up on the vanished server", d)
	}
	for range 4 {
		resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "k"})
		if err != nil {
			t.Fatalf("request after the vanished server was dropped: %v", err)
		}
		if name, _ := greetserver.PodName(resp.GetResult()); name != "healthy" {
			t.Fatalf("request went to %s", name)
		}
	}
}

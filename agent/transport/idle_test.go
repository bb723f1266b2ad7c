package transport

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// relayTo opens every stream it serves on one upstream connection.
type relayTo struct{ up *Conn }

func (r relayTo) ServeStream(s *Stream) {
	if err := r.up.Open(s, nil); err != nil {
		s.Fail(14, err.Error())
	}
}

// relay is a minimal agent: server-role Conns accepted on a loopback
// listener, each stream relayed on one client-role Conn to a greet server.
type relay struct {
	up    *Conn
	ln    net.Listener
	mu    sync.Mutex
	downs []*Conn
	wg    sync.WaitGroup
}

func startRelay(t *testing.T, cfg Config) *relay {
	t.Helper()
	srv := greettest.Start(t, "127.0.0.1:0", "up")
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	up, err := NewClientConn(nc, cfg, Events{Ready: func() { close(ready) }})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream server sent no SETTINGS")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{up: up, ln: ln}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			down := NewServerConn(nc, Config{}, relayTo{up})
			r.mu.Lock()
			r.downs = append(r.downs, down)
			r.mu.Unlock()
			r.wg.Add(1)
			go func() { defer r.wg.Done(); down.Serve() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, d := range r.downs {
			d.Close()
		}
		r.mu.Unlock()
		up.Close()
		r.wg.Wait()
	})
	return r
}

// waitIdle waits until the upstream Conn runs exactly one goroutine (its
// reader) and holds no pooled buffer, and every downstream Conn runs none
// (its reader is Serve's caller) and holds none. It then checks the
// goroutines themselves: one runs the upstream reader, one per downstream
// Conn runs Serve, and no other runs a Conn's code.
func (r *relay) waitIdle(t *testing.T, when string) {
	t.Helper()
	r.mu.Lock()
	downs := append([]*Conn(nil), r.downs...)
	r.mu.Unlock()
	state := func() string {
		s := fmt.Sprintf("upstream: %d goroutines, %d buffers", r.up.procs.Load(), r.up.bufs.Load())
		for i, d := range downs {
			s += fmt.Sprintf("; downstream %d: %d goroutines, %d buffers", i, d.procs.Load(), d.bufs.Load())
		}
		return s
	}
	idle := func() bool {
		if r.up.procs.Load() != 1 || r.up.bufs.Load() != 0 {
			return false
		}
		for _, d := range downs {
			if d.procs.Load() != 0 || d.bufs.Load() != 0 {
				return false
			}
		}
		return true
	}
	// A goroutine that has counted itself out may still be on its way
	// out for a moment, so the dump is waited for too.
	var readers, serves, others int
	dumped := func() bool {
		readers, serves, others = connGoroutines()
		return readers == 1+len(downs) && serves == len(downs) && others == 0
	}
	deadline := time.Now().Add(5 * time.Second)
	for !idle() || !dumped() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: connections still busy 5s later: %s; %d goroutines read a Conn, %d run Serve, %d run other Conn code; want %d, %d and 0",
				when, state(), readers, serves, others, 1+len(downs), len(downs))
		}
		time.Sleep(time.Millisecond)
	}
}

// connGoroutines counts, from a dump of every goroutine's stack, those in
// a Conn's read loop, those of them called by Serve, and the other
// goroutines running a Conn's code, leaving out the shared timers of the
// health checks and of the PING acknowledgements.
func connGoroutines() (readers, serves, others int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		switch {
		case strings.Contains(g, "transport.(*healthGroup).run"), strings.Contains(g, "transport.(*flusher).sweep"):
			// The health checks' timer, shared by the Conns of a tick,
			// and that of the waiting PING acknowledgements, shared by
			// every Conn: not goroutines of any Conn.
		case strings.Contains(g, "transport.(*Conn).readLoop"):
			readers++
			if strings.Contains(g, "transport.(*Conn).Serve") {
				serves++
			}
		case strings.Contains(g, "agent/transport.(*Conn)"):
			others++
		}
	}
	return readers, serves, others
}

// An idle client-role Conn runs one goroutine, its reader, and holds no
// read or send buffer; a burst of concurrent calls, which starts its writer
// and health checks and fills its buffers, leaves it in that state again
// once the calls ended. Server-role Conns likewise end their writer and
// give their buffers back.
func TestIdleConnRunsOnlyItsReaderAndHoldsNoBuffer(t *testing.T) {
	r := startRelay(t, Config{ProbeAfter: 5 * time.Millisecond, KeepaliveTime: 10 * time.Millisecond})
	r.waitIdle(t, "connected")

	cc, err := grpc.NewClient(r.ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := greetv1.NewGreetServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%4 == 0 {
					// A streamed response of many messages keeps streams
					// open across many reads and writes.
					st, err := client.GreetManyTimes(ctx, &greetv1.GreetManyTimesRequest{Greeting: &greetv1.GreetRequest{FirstName: "many"}, Count: 50})
					if err != nil {
						errs <- err
						return
					}
					for {
						if _, err := st.Recv(); err != nil {
							if err != io.EOF {
								errs <- err
							}
							return
						}
					}
				}
				for range 20 {
					if _, err := client.Greet(ctx, &greetv1.GreetRequest{FirstName: "burst"}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		r.waitIdle(t, fmt.Sprintf("after burst %d", round))
	}
}

// Close returns once every goroutine of the Conn ended, a health check
// waiting for its PING's acknowledgement included, and nothing starts one
// afterwards.
func TestCloseWaitsForItsGoroutinesAndNoneStartsAfter(t *testing.T) {
	a, b := tcpPair(t)
	pings := make(chan struct{}, 16)
	go func() {
		preface := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(b, preface); err != nil {
			return
		}
		fr := http2.NewFramer(b, b)
		fr.WriteSettings()
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if p, ok := f.(*http2.PingFrame); ok && !p.IsAck() {
				pings <- struct{}{} // and never acknowledged
			}
		}
	}()
	ready := make(chan struct{})
	up, err := NewClientConn(a, Config{ProbeAfter: 10 * time.Millisecond, ProbeTimeout: time.Minute}, Events{Ready: func() { close(ready) }})
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	down := newConn(nil, roleServer, Config{})
	s := down.newDownstream(1, []hpack.HeaderField{{Name: ":path", Value: "/x"}}, true)
	if err := up.Open(s, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pings:
	case <-time.After(5 * time.Second):
		t.Fatal("no probe was sent for a request left unanswered")
	}
	// The reader, the writer (a stream is open) and the health check
	// waiting for the probe's acknowledgement.
	if n := up.procs.Load(); n != 3 {
		t.Fatalf("%d goroutines run while a probe is outstanding, want 3", n)
	}
	up.Close()
	if n := up.procs.Load(); n != 0 {
		t.Fatalf("%d goroutines still run once Close returned", n)
	}
	up.wake()
	up.spawn(up.healthCheck)
	if up.takeHealthTick() {
		t.Fatal("a health check is due on a closed connection")
	}
	if n := up.procs.Load(); n != 0 {
		t.Fatalf("%d goroutines started after Close", n)
	}
}

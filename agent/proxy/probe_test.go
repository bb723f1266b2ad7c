package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// mute is an HTTP/2 server that takes requests and answers none unless
// told to. It counts the PINGs it receives and acknowledges them only while
// acking is set, so a test decides whether the agent's probes succeed.
// While refusing is set it resets every request with REFUSED_STREAM.
type mute struct {
	t        *testing.T
	ln       net.Listener
	acking   atomic.Bool
	refusing atomic.Bool
	refused  atomic.Int32
	pings    atomic.Int32
	conns    atomic.Int32 // connections that completed the handshake
	reqs     chan muteStream
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     []net.Conn
}

// muteStream is one request a mute server received.
type muteStream struct {
	c  *muteConn
	id uint32
}

type muteConn struct {
	mu  sync.Mutex // serialises writes
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

func startMute(t *testing.T, acking bool) *mute {
	ln, err := net.Listen("tcp", "127.0.0.7:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &mute{t: t, ln: ln, reqs: make(chan muteStream, 100)}
	m.acking.Store(acking)
	m.wg.Add(1)
	go m.accept()
	t.Cleanup(func() {
		ln.Close()
		m.mu.Lock()
		for _, c := range m.open {
			c.Close()
		}
		m.mu.Unlock()
		m.wg.Wait()
	})
	return m
}

func (m *mute) accept() {
	defer m.wg.Done()
	for {
		nc, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.mu.Lock()
		m.open = append(m.open, nc)
		m.mu.Unlock()
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer nc.Close()
			m.serve(nc)
		}()
	}
}

func (m *mute) serve(nc net.Conn) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(nc, preface); err != nil {
		return
	}
	c := &muteConn{fr: http2.NewFramer(nc, nc)}
	c.enc = hpack.NewEncoder(&c.buf)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.write(func() error { return c.fr.WriteSettings() })
	m.conns.Add(1)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if f.IsAck() {
				continue
			}
			m.pings.Add(1)
			if m.acking.Load() {
				data := f.Data
				c.write(func() error { return c.fr.WritePing(true, data) })
			}
		case *http2.MetaHeadersFrame:
			if m.refusing.Load() {
				// Counted before the reset is sent: once it is, the agent
				// may retry and answer the call before this goroutine runs
				// again, and a test that reads the count then must see it.
				m.refused.Add(1)
				id := f.StreamID
				c.write(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
				continue
			}
			m.reqs <- muteStream{c: c, id: f.StreamID}
		}
	}
}

func (c *muteConn) write(fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = fn()
}

// headers sends a header block on the stream.
func (s muteStream) headers(end bool, fields ...hpack.HeaderField) {
	s.c.write(func() error {
		s.c.buf.Reset()
		for _, f := range fields {
			s.c.enc.WriteField(f)
		}
		return s.c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: s.c.buf.Bytes(),
			EndStream: end, EndHeaders: true})
	})
}

func (m *mute) request(t *testing.T) muteStream {
	t.Helper()
	select {
	case s := <-m.reqs:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no request reached the server")
		return muteStream{}
	}
}

// stays checks that the server's PING count stays at want for d: the
// absence of an event, which no signal can announce.
func (m *mute) stays(t *testing.T, want int32, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if n := m.pings.Load(); n != want {
			t.Fatalf("the server received %d PINGs, want %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func withProbes(after, timeout, keepalive time.Duration) agentOption {
	return func(p *pool.Config, _ *proxy.Config) {
		p.Transport.ProbeAfter, p.Transport.ProbeTimeout = after, timeout
		p.Transport.KeepaliveTime, p.Transport.KeepaliveTimeout = keepalive, timeout
	}
}

// TestPingsWithoutServerDataAreBounded holds a request that the server
// never answers: the agent probes and pings it, but sends no more than two
// PINGs until the server sends HEADERS or DATA, which is what keeps gRPC
// servers' ping policy from answering GOAWAY too_many_pings. Response
// headers allow two more.
func TestPingsWithoutServerDataAreBounded(t *testing.T) {
	const after, keepalive = 20 * time.Millisecond, 30 * time.Millisecond
	m := startMute(t, true)
	a := startAgent(t, "round-robin", []string{m.ln.Addr().String()}, withProbes(after, time.Second, keepalive))
	c := greetClient(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "p"})
		done <- err
	}()
	s := m.request(t)
	waitFor(t, "two PINGs", 5*time.Second, func() bool { return m.pings.Load() >= 2 })
	m.stays(t, 2, 20*keepalive)

	s.headers(false, hpack.HeaderField{Name: ":status", Value: "200"},
		hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	waitFor(t, "two more PINGs after the response headers", 5*time.Second, func() bool { return m.pings.Load() >= 4 })
	m.stays(t, 4, 20*keepalive)

	s.headers(true, hpack.HeaderField{Name: "grpc-status", Value: "5"}, hpack.HeaderField{Name: "grpc-message", Value: "done"})
	if err := <-done; status.Code(err) != codes.NotFound {
		t.Fatalf("call ended with %v, want the server's NOT_FOUND", err)
	}
}

// TestIdleConnectionIsNotPinged: without a request in flight, a quiet
// connection is left alone.
func TestIdleConnectionIsNotPinged(t *testing.T) {
	m := startMute(t, true)
	startAgent(t, "round-robin", []string{m.ln.Addr().String()}, withProbes(10*time.Millisecond, time.Second, 10*time.Millisecond))
	m.stays(t, 0, 300*time.Millisecond)
}

// TestUnansweredProbeEndsTheCallAndEjects: a server that takes a request
// and then answers nothing, not even a PING, is found by the probe. The
// call fails at once with UNAVAILABLE naming the cause, the endpoint is
// ejected, and once the server answers PINGs again it is re-admitted by a
// PING before any request is sent to it.
func TestUnansweredProbeEndsTheCallAndEjects(t *testing.T) {
	m := startMute(t, false)
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core()))
	opt := func(p *pool.Config, x *proxy.Config) {
		p.Logger, x.Logger = log, log
		p.MaxEjectionPercent = 100
		p.EjectBackoff = 100 * time.Millisecond
		p.BackoffMax = 100 * time.Millisecond
		p.Transport = transport.Config{ProbeAfter: 50 * time.Millisecond, ProbeTimeout: 200 * time.Millisecond}
	}
	a := startAgent(t, "round-robin", []string{m.ln.Addr().String()}, opt)
	c := greetClient(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "p"})
	took := time.Since(start)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "PING not answered within 200ms") {
		t.Fatalf("call to the mute server ended with %v, want UNAVAILABLE for the PING", err)
	}
	if took > 3*time.Second {
		t.Fatalf("the call took %v to fail", took)
	}
	waitFor(t, "the ejection", 5*time.Second, func() bool { return logs.FilterMessage("endpoint ejected").Len() > 0 })
	ejected := logs.FilterMessage("endpoint ejected").All()
	if len(ejected) != 1 || !strings.Contains(ejected[0].ContextMap()["cause"].(string), "PING not answered") {
		t.Fatalf("ejection log lines: %v", ejected)
	}
	if a.pool.ReadyCount() != 0 {
		t.Fatal("the endpoint is still picked after its PING went unanswered")
	}
	if _, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "p"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("call while the only endpoint is ejected: %v, want UNAVAILABLE", err)
	}

	requests := len(m.reqs)
	m.acking.Store(true)
	waitFor(t, "re-admission", 5*time.Second, func() bool { return a.pool.ReadyCount() == 1 })
	if n := logs.FilterMessage("endpoint re-admitted").Len(); n != 1 {
		t.Fatalf("%d re-admission log lines, want 1", n)
	}
	if got := len(m.reqs); got != requests {
		t.Fatalf("%d requests reached the server before it was re-admitted", got-requests)
	}
}

// TestSlowServerIsNeverToldTooManyPings runs long calls on a real gRPC
// server, with its default ping policy, through an agent that would probe
// and ping every few milliseconds: the server must not close the
// connection with GOAWAY too_many_pings, and every call succeeds.
func TestSlowServerIsNeverToldTooManyPings(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "slow", greettest.WithDelay(500*time.Millisecond))
	opt, logs := withLogs(t)
	a := startAgent(t, "round-robin", []string{srv.Addr()}, opt, withProbes(5*time.Millisecond, time.Second, 10*time.Millisecond))
	c := greetClient(t, a.addr)
	for i := range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "slow"})
				errs <- err
			}()
		}
		wg.Wait()
		cancel()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
	}
	for _, msg := range []string{"peer sent GOAWAY", "endpoint connection lost", "endpoint connection going away; reconnecting"} {
		if n := logs.FilterMessage(msg).Len(); n != 0 {
			t.Fatalf("%d %q log lines: the server closed the connection", n, msg)
		}
	}
}

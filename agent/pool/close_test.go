package pool_test

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

const waitTimeout = 5 * time.Second

// h2Server is a bare HTTP/2 server on loopback: it answers the handshake
// and then does only what the test tells it, so that a test decides when a
// connection gets a GOAWAY or is cut.
type h2Server struct {
	t  *testing.T
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []*h2Conn
}

// h2Conn is one accepted connection; its writes are serialised by mu.
type h2Conn struct {
	nc      net.Conn
	mu      sync.Mutex
	fr      *http2.Framer
	gone    chan struct{} // closed once the client closed the connection
	streams chan uint32   // the IDs of the request streams opened, never answered
}

func startH2(t *testing.T) *h2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &h2Server{t: t, ln: ln}
	s.wg.Go(s.accept)
	t.Cleanup(s.close)
	return s
}

func (s *h2Server) addr() string { return s.ln.Addr().String() }

func (s *h2Server) accept() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &h2Conn{nc: nc, fr: http2.NewFramer(nc, nc), gone: make(chan struct{}), streams: make(chan uint32, 16)}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Go(func() { c.serve(s.t) })
	}
}

// serve reads the client preface and frames until the client goes,
// acknowledges the client's SETTINGS and PINGs, and reports the request
// streams it is sent without ever answering them.
func (c *h2Conn) serve(t *testing.T) {
	defer close(c.gone)
	defer c.nc.Close()
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.nc, preface); err != nil {
		return
	}
	if err := c.write(func(fr *http2.Framer) error { return fr.WriteSettings() }); err != nil {
		return
	}
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Logf("fake server: read: %v", err)
			}
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() && c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() }) != nil {
				return
			}
		case *http2.PingFrame:
			if !f.IsAck() && c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) }) != nil {
				return
			}
		case *http2.HeadersFrame:
			select {
			case c.streams <- f.StreamID:
			default:
			}
		}
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

func (c *h2Conn) write(f func(*http2.Framer) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f(c.fr)
}

// goAwayOrCut sends GOAWAY on every other connection and cuts the rest.
func (s *h2Server) goAwayOrCut() {
	s.mu.Lock()
	conns := append([]*h2Conn(nil), s.conns...)
	s.mu.Unlock()
	for i, c := range conns {
		if i%2 == 0 {
			_ = c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, http2.ErrCodeNo, nil) })
		} else {
			c.nc.Close()
		}
	}
}

// conns returns the connections accepted so far.
func (s *h2Server) accepted() []*h2Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*h2Conn(nil), s.conns...)
}

// waitClientsGone waits until the client side of every connection is closed.
func (s *h2Server) waitClientsGone() {
	s.t.Helper()
	s.mu.Lock()
	conns := append([]*h2Conn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		select {
		case <-c.gone:
		case <-time.After(waitTimeout):
			s.t.Fatal("a pooled connection is still open after Close")
		}
	}
}

func (s *h2Server) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// sealedLogs records the pool's logs and, once sealed, every line logged
// afterwards as a late one.
type sealedLogs struct {
	zapcore.Core
	logs   *observer.ObservedLogs
	mu     *sync.Mutex
	sealed *bool
	late   *[]string
}

func newSealedLogs() *sealedLogs {
	core, logs := observer.New(zapcore.DebugLevel)
	return &sealedLogs{Core: core, logs: logs, mu: new(sync.Mutex), sealed: new(bool), late: new([]string)}
}

func (s *sealedLogs) With(fields []zapcore.Field) zapcore.Core {
	c := *s
	c.Core = s.Core.With(fields)
	return &c
}

func (s *sealedLogs) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if s.Enabled(e.Level) {
		return ce.AddCore(e, s)
	}
	return ce
}

func (s *sealedLogs) Write(e zapcore.Entry, fields []zapcore.Field) error {
	s.mu.Lock()
	if *s.sealed {
		*s.late = append(*s.late, e.Message)
	}
	s.mu.Unlock()
	return s.Core.Write(e, fields)
}

func (s *sealedLogs) seal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.sealed = true
}

func (s *sealedLogs) checkNoneLate(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*s.late) > 0 {
		t.Fatalf("logged after Close returned: %q", *s.late)
	}
}

// checkNoPoolGoroutines fails if a goroutine keeps running pool code, such
// as an endpoint's loop, a drain, a re-admission or a transport callback
// into the pool. Like goleak, it looks again for a while before failing: a
// goroutine that has just signalled its end may still be returning.
func checkNoPoolGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		g := poolGoroutine()
		if g == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a goroutine runs pool code after Close returned:\n%s", g)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// poolGoroutine returns the stack of a goroutine with a pool function on
// it, or "".
func poolGoroutine() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for line := range strings.SplitSeq(g, "\n") {
			if strings.HasPrefix(line, "created by ") || strings.HasPrefix(line, "\t") {
				continue
			}
			if strings.Contains(line, "roundabout/agent/pool.") {
				return g
			}
		}
	}
	return ""
}

func newSealedPool(t *testing.T, cfg pool.Config) (*pool.Pool, *sealedLogs) {
	t.Helper()
	logs := newSealedLogs()
	cfg.Upstream, cfg.Logger = "greet", zap.New(logs)
	cfg.BackoffBase, cfg.BackoffMax = time.Millisecond, 10*time.Millisecond
	b, err := balancer.Get("round-robin")
	if err != nil {
		t.Fatal(err)
	}
	return pool.New(cfg, b), logs
}

// TestCloseWhileConnectionsGoAway closes pools while the servers send
// GOAWAY on half of the connections and cut the others: Close returns with
// no goroutine of the pool left, every connection closed, and nothing is
// logged afterwards, whether Close has time to drain or none at all.
func TestCloseWhileConnectionsGoAway(t *testing.T) {
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"drain", context.Background()}, {"no time to drain", expired}} {
		t.Run(tc.name, func(t *testing.T) {
			for range 10 {
				closeWhileGoingAway(t, tc.ctx)
			}
		})
	}
}

func closeWhileGoingAway(t *testing.T, ctx context.Context) {
	servers := make([]*h2Server, 4)
	var set []discovery.Endpoint
	for i := range servers {
		servers[i] = startH2(t)
		set = append(set, discovery.Endpoint{Addr: servers[i].addr()})
	}
	p, logs := newSealedPool(t, pool.Config{DrainTimeout: 5 * time.Second})
	p.Update(set)
	eventually(t, "four connected endpoints", func() bool { return p.ReadyCount() == len(servers) })

	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(s.goAwayOrCut)
	}
	p.Close(ctx)
	logs.seal()
	checkNoPoolGoroutines(t)
	wg.Wait()
	for _, s := range servers {
		s.waitClientsGone()
	}
	// Late transport events find the pool closed.
	for _, s := range servers {
		s.goAwayOrCut()
	}
	p.Update(set)
	logs.checkNoneLate(t)
	if p.ReadyCount() != 0 {
		t.Fatalf("%d endpoints usable after Close", p.ReadyCount())
	}
}

// TestCloseEndsConnectionThatWentAway: a connection that got GOAWAY with a
// request still open on it stays open for that request while a new one
// takes its place; when Close runs out of time, it is closed too, and
// Close says so before it returns.
func TestCloseEndsConnectionThatWentAway(t *testing.T) {
	s := startH2(t)
	p, logs := newSealedPool(t, pool.Config{DrainTimeout: time.Minute})
	p.Update([]discovery.Endpoint{{Addr: s.addr()}})
	eventually(t, "a connected endpoint", func() bool { return p.ReadyCount() == 1 })
	px := proxy.New(proxy.Config{Upstream: "greet"}, p)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var serving sync.WaitGroup
	serving.Go(func() {
		if err := px.Serve(ln); err != nil {
			t.Errorf("proxy Serve: %v", err)
		}
	})
	defer func() {
		if err := px.Shutdown(context.Background()); err != nil {
			t.Errorf("proxy Shutdown: %v", err)
		}
		serving.Wait()
	}()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	// A request the server never answers keeps the first connection busy.
	callCtx, cancelCall := context.WithCancel(context.Background())
	defer cancelCall()
	called := make(chan error, 1)
	go func() {
		_, err := greetv1.NewGreetServiceClient(cc).Greet(callCtx, &greetv1.GreetRequest{FirstName: "Ada"})
		called <- err
	}()
	first := s.accepted()[0]
	var id uint32
	select {
	case id = <-first.streams:
	case err := <-called:
		t.Fatalf("the call ended before the server saw it: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("the server saw no request")
	}
	if err := first.write(func(fr *http2.Framer) error { return fr.WriteGoAway(id, http2.ErrCodeNo, nil) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a second connection", func() bool { return len(s.accepted()) == 2 && p.ReadyCount() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p.Close(ctx)
	logs.seal()
	checkNoPoolGoroutines(t)
	if ctx.Err() == nil {
		t.Fatal("Close returned before its context ended, with a request still open")
	}
	aborted := logs.logs.FilterMessage("pool closed before the drain ended; closing connection with streams in flight").All()
	if len(aborted) != 1 || aborted[0].ContextMap()["streams"] != int64(1) {
		t.Fatalf("abort warnings %v, want one with streams=1", aborted)
	}
	s.waitClientsGone()
	select {
	case err := <-called:
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("the call cut by Close ended with %v, want UNAVAILABLE", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the call still runs after Close closed its connection")
	}
	logs.checkNoneLate(t)
}

// TestCloseStopsReadmission: an endpoint ejected before Close is not
// re-admitted, and nothing is logged, once its ejection ends.
func TestCloseStopsReadmission(t *testing.T) {
	const backoff = 50 * time.Millisecond
	a, b := startH2(t), startH2(t)
	p, logs := newSealedPool(t, pool.Config{EjectFailures: 1, EjectBackoff: backoff, MaxEjectionPercent: 50})
	p.Update([]discovery.Endpoint{{Addr: a.addr()}, {Addr: b.addr()}})
	eventually(t, "two connected endpoints", func() bool { return p.ReadyCount() == 2 })
	e, _, err := p.Pick(balancer.PickInfo{})
	if err != nil {
		t.Fatal(err)
	}
	report(e, transport.Result{Code: codes.Unavailable})
	if p.ReadyCount() != 1 || logs.logs.FilterMessage("endpoint ejected").Len() != 1 {
		t.Fatal("the endpoint was not ejected")
	}
	p.Close(context.Background())
	logs.seal()
	checkNoPoolGoroutines(t)
	// Nothing marks that a re-admission did not happen: wait out the
	// ejection, twice over.
	<-time.After(2 * backoff)
	report(e, transport.Result{Code: codes.Unavailable})
	logs.checkNoneLate(t)
}

// TestCloseTwice: a second Close returns at once and changes nothing.
func TestCloseTwice(t *testing.T) {
	s := startH2(t)
	p, logs := newSealedPool(t, pool.Config{})
	p.Update([]discovery.Endpoint{{Addr: s.addr()}})
	eventually(t, "a connected endpoint", func() bool { return p.ReadyCount() == 1 })
	p.Close(context.Background())
	logs.seal()
	p.Close(context.Background())
	s.waitClientsGone()
	logs.checkNoneLate(t)
}

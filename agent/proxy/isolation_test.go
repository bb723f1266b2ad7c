package proxy_test

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// countingListener counts the connections a server accepted.
type countingListener struct {
	net.Listener
	accepted atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// startCountedServer runs a greet server whose accepted connections are
// counted, so a test can tell whether the agent's upstream connection
// survived.
func startCountedServer(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := server.New(server.Config{PodName: "counted", PodIP: "127.0.0.1"}, zap.NewNop())
	go srv.Serve(cl)
	t.Cleanup(srv.Stop)
	return cl
}

// rawClient is a hand-driven HTTP/2 client connection to the agent.
type rawClient struct {
	t   *testing.T
	nc  net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &rawClient{t: t, nc: nc, fr: http2.NewFramer(nc, nc)}
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.buf)
	if _, err := nc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	c.must(c.fr.WriteSettings())
	return c
}

func (c *rawClient) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) block(fields ...hpack.HeaderField) []byte {
	c.buf.Reset()
	for _, f := range fields {
		c.enc.WriteField(f)
	}
	return bytes.Clone(c.buf.Bytes())
}

func greetRequestHeaders() []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/greet.v1.GreetService/Greet"}, {Name: ":authority", Value: "greet"},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}
}

// greetMessage is a GreetRequest as a gRPC length-prefixed message.
var greetMessage = func() []byte {
	b, err := proto.Marshal(&greetv1.GreetRequest{FirstName: "raw"})
	if err != nil {
		panic(err)
	}
	return append([]byte{0, 0, 0, 0, byte(len(b))}, b...)
}()

func (c *rawClient) headers(id uint32, end bool, fields ...hpack.HeaderField) {
	c.t.Helper()
	c.must(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(fields...), EndStream: end, EndHeaders: true}))
}

// until reads frames until match returns true, failing on a GOAWAY unless
// match accepts it.
func (c *rawClient) until(what string, match func(http2.Frame) bool) http2.Frame {
	c.t.Helper()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(f) {
			return f
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			c.t.Fatalf("waiting for %s: GOAWAY %v %q", what, ga.ErrCode, ga.DebugData())
		}
		if p, ok := f.(*http2.PingFrame); ok && !p.IsAck() {
			c.must(c.fr.WritePing(true, p.Data))
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			c.must(c.fr.WriteSettingsAck())
		}
	}
}

func statusOf(f http2.Frame) (string, bool) {
	h, ok := f.(*http2.MetaHeadersFrame)
	if !ok || !h.StreamEnded() {
		return "", false
	}
	return h.PseudoValue("status") + " grpc-status=" + valueOf(h, "grpc-status"), true
}

func valueOf(h *http2.MetaHeadersFrame, name string) string {
	for _, f := range h.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// TestOneClientsProtocolErrorsStayOnItsStream sends what a gRPC server
// would answer with a connection error: request trailers, a second header
// block without END_STREAM, malformed pseudo-header fields and a header
// block on a closed stream. The agent answers each itself, the upstream
// connection is the same one afterwards, and an ordinary client's calls
// keep succeeding.
func TestOneClientsProtocolErrorsStayOnItsStream(t *testing.T) {
	srv := startCountedServer(t)
	a := startAgent(t, "round-robin", []string{srv.Addr().String()})
	good := greetClient(t, a.addr)
	call := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := good.Greet(ctx, &greetv1.GreetRequest{FirstName: "ok"}); err != nil {
			t.Fatalf("ordinary call: %v", err)
		}
	}
	call()

	c := dialRaw(t, a.addr)
	// Request trailers: answered with a gRPC status, never forwarded.
	c.headers(1, false, greetRequestHeaders()...)
	c.must(c.fr.WriteData(1, false, greetMessage))
	c.headers(1, true, hpack.HeaderField{Name: "x-trailer", Value: "v"})
	f := c.until("an answer to request trailers", func(f http2.Frame) bool {
		_, ok := statusOf(f)
		return ok && f.Header().StreamID == 1
	})
	if got, _ := statusOf(f); got != "200 grpc-status=13" {
		t.Fatalf("request trailers answered with %q, want a trailers-only INTERNAL status", got)
	}
	call()

	// A second header block without END_STREAM: RST_STREAM PROTOCOL_ERROR.
	c.headers(3, false, greetRequestHeaders()...)
	c.headers(3, false, hpack.HeaderField{Name: "x-again", Value: "v"})
	c.until("RST_STREAM on stream 3", func(f http2.Frame) bool {
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == 3 && r.ErrCode == http2.ErrCodeProtocol
	})

	// A request without :path: RST_STREAM PROTOCOL_ERROR.
	c.headers(5, true, greetRequestHeaders()[:2]...)
	c.until("RST_STREAM on stream 5", func(f http2.Frame) bool {
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == 5 && r.ErrCode == http2.ErrCodeProtocol
	})
	call()

	// A complete call, then a header block on its closed stream: a
	// connection error on this client's own connection only.
	c.headers(7, false, greetRequestHeaders()...)
	c.must(c.fr.WriteData(7, true, greetMessage))
	c.until("the response on stream 7", func(f http2.Frame) bool {
		got, ok := statusOf(f)
		return ok && f.Header().StreamID == 7 && got == " grpc-status=0"
	})
	c.headers(7, true, greetRequestHeaders()...)
	c.until("GOAWAY", func(f http2.Frame) bool {
		ga, ok := f.(*http2.GoAwayFrame)
		return ok && ga.ErrCode == http2.ErrCodeStreamClosed
	})
	call()
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("server accepted %d connections, want the agent's one connection to have survived", n)
	}
}

// TestStreamsAboveTheLimitAreRefused opens more streams than the agent
// advertises; the extra ones are refused and the connection goes on.
func TestStreamsAboveTheLimitAreRefused(t *testing.T) {
	srv := startCountedServer(t)
	a := startAgent(t, "round-robin", []string{srv.Addr().String()}, func(_ *pool.Config, x *proxy.Config) {
		x.Transport.MaxConcurrentStreams = 2
	})
	c := dialRaw(t, a.addr)
	for _, id := range []uint32{1, 3, 5} {
		c.headers(id, false, greetRequestHeaders()...)
	}
	c.until("REFUSED_STREAM on stream 5", func(f http2.Frame) bool {
		r, ok := f.(*http2.RSTStreamFrame)
		return ok && r.StreamID == 5 && r.ErrCode == http2.ErrCodeRefusedStream
	})
	c.must(c.fr.WriteData(1, true, greetMessage))
	c.until("the response on stream 1", func(f http2.Frame) bool {
		got, ok := statusOf(f)
		return ok && f.Header().StreamID == 1 && got == " grpc-status=0"
	})
}

// TestRapidResetLeavesOthersServed opens and at once resets streams as
// fast as one connection can (CVE-2023-44487) while an ordinary client
// calls through the same agent. The ordinary calls all succeed, and the
// resets never reach the server as more than the agent's bound of
// lingering streams.
func TestRapidResetLeavesOthersServed(t *testing.T) {
	srv := startCountedServer(t)
	a := startAgent(t, "round-robin", []string{srv.Addr().String()})
	good := greetClient(t, a.addr)

	c := dialRaw(t, a.addr)
	var flood bytes.Buffer
	fr := http2.NewFramer(&flood, nil)
	for i := range uint32(20000) {
		id := 2*i + 1
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(greetRequestHeaders()...), EndHeaders: true})
		fr.WriteRSTStream(id, http2.ErrCodeCancel)
	}
	codes := make(chan http2.ErrCode, 1)
	go func() {
		defer close(codes)
		for {
			f, err := c.fr.ReadFrame()
			if err != nil {
				return
			}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				codes <- ga.ErrCode
				return
			}
		}
	}()
	go c.nc.Write(flood.Bytes())

	var failed int
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := good.Greet(ctx, &greetv1.GreetRequest{FirstName: "ok"}); err != nil {
			failed++
		}
		cancel()
	}
	if failed > 1 {
		t.Fatalf("%d of 100 ordinary calls failed during the rapid reset", failed)
	}
	c.nc.Close()
	if code, ok := <-codes; ok && code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("the resetting client was sent GOAWAY %v, want ENHANCE_YOUR_CALM or none", code)
	}
}

// TestHandshakesAreBounded fills the agent's handshake slots with
// connections that never send a preface. The next connection waits in the
// listen backlog, unanswered, until a slot frees when one of them times
// out; then it is served.
func TestHandshakesAreBounded(t *testing.T) {
	srv := startCountedServer(t)
	a := startAgent(t, "round-robin", []string{srv.Addr().String()}, func(_ *pool.Config, x *proxy.Config) {
		x.MaxHandshakes = 2
		x.Transport.PrefaceTimeout = 500 * time.Millisecond
	})
	start := time.Now()
	for range 2 {
		nc, err := net.Dial("tcp", a.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
	}
	c := dialRaw(t, a.addr)
	f := c.until("the agent's SETTINGS", func(f http2.Frame) bool {
		s, ok := f.(*http2.SettingsFrame)
		return ok && !s.IsAck()
	})
	if waited := time.Since(start); waited < 400*time.Millisecond {
		t.Fatalf("third connection answered after %v, before a handshake slot was free", waited)
	}
	limit, _ := f.(*http2.SettingsFrame).Value(http2.SettingMaxConcurrentStreams)
	if limit != transport.DefaultMaxConcurrentStreams {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want %d", limit, transport.DefaultMaxConcurrentStreams)
	}
}

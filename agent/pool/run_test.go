package pool

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/net/http2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
	"github.com/roundabout-dev/roundabout/agent/discovery"
)

// scriptedServer accepts connections on loopback and treats each as the
// next verdict says: false closes it before the HTTP/2 handshake (a failed
// connection attempt), true serves HTTP/2 on it and hands it to the test.
type scriptedServer struct {
	ln       net.Listener
	verdicts chan bool
	served   chan net.Conn
	done     chan struct{}
}

func startScripted(t *testing.T) *scriptedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{ln: ln, verdicts: make(chan bool, 16), served: make(chan net.Conn, 16), done: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() { close(s.done); ln.Close() })
	return s
}

func (s *scriptedServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		select {
		case ok := <-s.verdicts:
			if !ok {
				c.Close()
				continue
			}
			s.served <- c
			go serveH2(c)
		case <-s.done:
			c.Close()
			return
		}
	}
}

// serveH2 is the server's side of an HTTP/2 connection that carries no
// request: it reads the client's preface, sends its SETTINGS and
// acknowledges the client's until the connection ends.
func serveH2(c net.Conn) {
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if err := fr.WriteSettingsAck(); err != nil {
				return
			}
		}
	}
}

// TestRunResetsBackoffAfterAConnection follows one endpoint through three
// failed attempts, a connection, its loss and two more failures: the delays
// grow from the base while the attempts fail and start from the base again
// after the connection, and each run of failures is logged once above debug
// level.
func TestRunResetsBackoffAfterAConnection(t *testing.T) {
	saved := jitterSource
	jitterSource = noJitter
	t.Cleanup(func() { jitterSource = saved })

	s := startScripted(t)
	core, logs := observer.New(zapcore.DebugLevel)
	b, err := balancer.Get("round-robin")
	if err != nil {
		t.Fatal(err)
	}
	const base = 4 * time.Millisecond
	p := New(Config{Upstream: "greet", Logger: zap.New(core), BackoffBase: base, BackoffMax: time.Minute,
		EjectFailures: 100}, b)
	t.Cleanup(func() { p.Close(t.Context()) })

	delays := func() []time.Duration {
		var out []time.Duration
		for _, e := range logs.FilterFieldKey("retry_in").All() {
			out = append(out, e.ContextMap()["retry_in"].(time.Duration))
		}
		return out
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; delays so far %v", what, delays())
			}
			time.Sleep(time.Millisecond)
		}
	}

	for _, v := range []bool{false, false, false, true} {
		s.verdicts <- v
	}
	p.Update([]discovery.Endpoint{{Addr: s.ln.Addr().String()}})
	var conn net.Conn
	select {
	case conn = <-s.served:
	case <-time.After(10 * time.Second):
		t.Fatalf("no connection served; delays so far %v", delays())
	}
	waitFor("the endpoint in the picker", func() bool { return p.ReadyCount() == 1 })

	s.verdicts <- false
	s.verdicts <- false
	conn.Close() // the connection is lost; the next two attempts fail
	waitFor("five failed attempts", func() bool { return len(delays()) >= 5 })

	want := []time.Duration{base, base * 16 / 10, base * 256 / 100, base, base * 16 / 10}
	got := delays()[:5]
	for i := range want {
		if d := got[i] - want[i]; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("delays %v, want %v: after a connection the backoff starts from the base again", got, want)
		}
	}
	var loud []string
	for _, e := range logs.FilterFieldKey("retry_in").All() {
		if e.Level > zapcore.DebugLevel {
			loud = append(loud, e.Message)
		}
	}
	if len(loud) != 2 {
		t.Fatalf("%d failed attempts logged above debug level (%q), want one per run of failures, 2", len(loud), loud)
	}
}

// TestFailingEndpointLogsOnce: an endpoint that refuses every connection
// is logged once above debug level when its attempts start failing, and
// once more when ejection has decided about it (here refused: one
// endpoint of one may not be ejected), however many attempts fail after.
func TestFailingEndpointLogsOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	core, logs := observer.New(zapcore.DebugLevel)
	b, err := balancer.Get("round-robin")
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Upstream: "greet", Logger: zap.New(core), BackoffBase: time.Millisecond, BackoffMax: 4 * time.Millisecond,
		EjectFailures: 2, MaxEjectionPercent: 50}, b)
	t.Cleanup(func() { p.Close(t.Context()) })
	p.Update([]discovery.Endpoint{{Addr: refused}})

	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterFieldKey("retry_in").Len() < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d failed attempts in 10 s, want 20", logs.FilterFieldKey("retry_in").Len())
		}
		time.Sleep(time.Millisecond)
	}
	var loud []string
	for _, e := range logs.All() {
		if e.Level > zapcore.DebugLevel {
			loud = append(loud, e.Message)
		}
	}
	want := []string{"endpoint added", "endpoint connect failed; retrying with backoff",
		"endpoint not ejected: too many endpoints ejected already"}
	if strings.Join(loud, "|") != strings.Join(want, "|") {
		t.Fatalf("lines above debug level after 20 failed attempts: %q, want %q", loud, want)
	}
}

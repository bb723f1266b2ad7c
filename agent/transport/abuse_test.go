package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// serving is a server-role Conn on a loopback TCP connection, driven by a
// hand-written client.
type serving struct {
	conn *Conn
	nc   net.Conn // the client's end
	fr   *http2.Framer
	done chan error
	logs *observer.ObservedLogs
}

func serveTCP(t *testing.T, cfg Config, tweak ...func(*Conn)) *serving {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// Small socket buffers, so that a peer that does not read blocks the
	// writer after a few KiB rather than after what loopback would absorb.
	sc.(*net.TCPConn).SetWriteBuffer(4 << 10)
	nc.(*net.TCPConn).SetReadBuffer(4 << 10)
	core, logs := observer.New(zapcore.InfoLevel)
	cfg.Logger = zap.New(core)
	s := &serving{conn: NewServerConn(sc, cfg, refuser{}), nc: nc, done: make(chan error, 1), logs: logs}
	for _, f := range tweak {
		f(s.conn)
	}
	s.fr = http2.NewFramer(nc, nc)
	s.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	go func() { s.done <- s.conn.Serve() }()
	t.Cleanup(func() {
		nc.Close()
		s.conn.Close()
		<-s.done
	})
	return s
}

// handshake sends the preface and the given settings.
func (s *serving) handshake(t *testing.T, settings ...http2.Setting) {
	t.Helper()
	if _, err := s.nc.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := s.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads frames, for at most 5 s, until match accepts one, and
// returns it; what names that frame when none comes.
func (s *serving) readUntil(t *testing.T, what string, match func(http2.Frame) bool) http2.Frame {
	t.Helper()
	s.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := s.fr.ReadFrame()
		if err != nil {
			t.Fatalf("no %s before the connection ended: %v", what, err)
		}
		if match(f) {
			return f
		}
	}
}

// goAway reads until a GOAWAY arrives and returns its code.
func (s *serving) goAway(t *testing.T) http2.ErrCode {
	t.Helper()
	f := s.readUntil(t, "GOAWAY", func(f http2.Frame) bool {
		_, ok := f.(*http2.GoAwayFrame)
		return ok
	})
	return f.(*http2.GoAwayFrame).ErrCode
}

// ended waits for Serve to return.
func (s *serving) ended(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(limit):
		t.Fatalf("connection still served %v later", limit)
		return nil
	}
}

func TestFrameAboveTheAdvertisedSizeIsAFrameSizeError(t *testing.T) {
	s := serveTCP(t, Config{})
	s.handshake(t)
	// A frame header announcing 16 MiB, and a little of its payload: the
	// connection must end without waiting for the rest.
	hdr := []byte{0xff, 0xff, 0xff, byte(http2.FrameData), 0, 0, 0, 0, 1}
	s.nc.Write(append(hdr, make([]byte, 1024)...))
	if code := s.goAway(t); code != http2.ErrCodeFrameSize {
		t.Fatalf("GOAWAY %v, want FRAME_SIZE_ERROR", code)
	}
	s.ended(t, 5*time.Second)
}

func TestInvalidSettingsAreAConnectionError(t *testing.T) {
	for _, tc := range []struct {
		setting http2.Setting
		want    http2.ErrCode
	}{
		{http2.Setting{ID: http2.SettingMaxFrameSize, Val: 0}, http2.ErrCodeProtocol},
		{http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 24}, http2.ErrCodeProtocol},
		{http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}, http2.ErrCodeFlowControl},
		{http2.Setting{ID: http2.SettingEnablePush, Val: 2}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.setting.String(), func(t *testing.T) {
			s := serveTCP(t, Config{})
			s.handshake(t, tc.setting)
			if code := s.goAway(t); code != tc.want {
				t.Fatalf("GOAWAY %v, want %v", code, tc.want)
			}
		})
	}
}

func TestFirstFrameMustBeSettings(t *testing.T) {
	s := serveTCP(t, Config{})
	s.nc.Write([]byte(http2.ClientPreface))
	s.fr.WritePing(false, [8]byte{})
	if code := s.goAway(t); code != http2.ErrCodeProtocol {
		t.Fatalf("GOAWAY %v, want PROTOCOL_ERROR", code)
	}
}

// TestControlFloodFromAPeerThatDoesNotRead sends PINGs and never reads the
// acknowledgements. The queue of frames owed stays bounded: the connection
// ends with ENHANCE_YOUR_CALM once it is full.
func TestControlFloodFromAPeerThatDoesNotRead(t *testing.T) {
	// A smaller queue than maxQueuedControlFrames keeps the test quick
	// under the race detector on a loaded machine; the mechanism is the same.
	s := serveTCP(t, Config{}, func(c *Conn) { c.ctrl.max = 500 })
	s.handshake(t)
	var flood bytes.Buffer
	fr := http2.NewFramer(&flood, nil)
	for range 2000 {
		fr.WritePing(false, [8]byte{1})
	}
	go func() {
		for range 1000 { // bounded: at most 1000 rounds of 2000 PINGs
			if _, err := s.nc.Write(flood.Bytes()); err != nil {
				return
			}
		}
	}()
	s.ended(t, 30*time.Second)
	calm := s.logs.FilterMessage("closing connection: protocol error").FilterField(zap.Stringer("code", http2.ErrCodeEnhanceYourCalm))
	if calm.Len() != 1 {
		t.Fatalf("want one ENHANCE_YOUR_CALM log line, got %v", s.logs.All())
	}
}

func TestPrefaceMustArriveInTime(t *testing.T) {
	s := serveTCP(t, Config{PrefaceTimeout: 100 * time.Millisecond})
	err := s.ended(t, 5*time.Second)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Serve returned %v, want a read timeout", err)
	}
}

// TestGoAwayClosesAConnectionStillInItsHandshake: shutdown never waits for
// a client that has not sent its preface.
func TestGoAwayClosesAConnectionStillInItsHandshake(t *testing.T) {
	s := serveTCP(t, Config{PrefaceTimeout: time.Minute})
	s.conn.GoAway()
	s.ended(t, 5*time.Second)
}

// TestSmallFramesCostTheirBytes queues 20,000 one-byte DATA frames for one
// stream: they are buffered as 20,000 bytes in a couple of chunks, not a
// buffer each.
func TestSmallFramesCostTheirBytes(t *testing.T) {
	c := newConn(nil, roleServer, Config{})
	s := &Stream{conn: c, id: 1}
	src := &Stream{}
	for range 20000 {
		c.pushData(s, []byte{'x'}, 0, false, src, nil)
	}
	if c.Buffered() != 20000 {
		t.Fatalf("Buffered = %d, want 20000", c.Buffered())
	}
	if len(s.q) > 20000/maxFrameSize+1 {
		t.Fatalf("%d chunks queued for 20000 bytes", len(s.q))
	}
	c.mu.Lock()
	c.closeLocked(s)
	c.mu.Unlock()
	if c.Buffered() != 0 {
		t.Fatalf("Buffered = %d after the stream closed, want 0", c.Buffered())
	}
}

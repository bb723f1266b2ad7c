package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// refuser answers every stream with a gRPC error, so a server-role Conn
// can be driven without an upstream.
type refuser struct{}

func (refuser) ServeStream(s *Stream) { s.Fail(13, "refused by test") }

func serveOnPipe(t *testing.T) (client net.Conn, done <-chan error) {
	t.Helper()
	a, b := net.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- NewServerConn(b, Config{}, refuser{}).Serve() }()
	t.Cleanup(func() { a.Close() })
	return a, errc
}

func TestServeRejectsAMissingPreface(t *testing.T) {
	client, done := serveOnPipe(t)
	go client.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	select {
	case err := <-done:
		if !errors.Is(err, errBadPreface) {
			t.Fatalf("Serve returned %v, want the bad-preface error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return on an HTTP/1.1 request")
	}
}

// FuzzServerConn feeds arbitrary bytes after a valid preface: the
// connection must end or go on, never panic or hang the reader.
func FuzzServerConn(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	fr.WriteSettings()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x83, 0x86, 0x84}, EndHeaders: true})
	fr.WriteData(1, true, []byte("hello"))
	fr.WriteWindowUpdate(0, 1000)
	fr.WritePing(false, [8]byte{1})
	fr.WriteRSTStream(1, http2.ErrCodeCancel)
	fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		c := NewServerConn(b, Config{}, refuser{})
		done := make(chan struct{})
		go func() { c.Serve(); close(done) }()
		go func() {
			a.Write([]byte(http2.ClientPreface))
			a.Write(data)
			a.Close()
		}()
		go drain(a)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection still serving 5s after its client closed")
		}
	})
}

func drain(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// FuzzClientConn feeds arbitrary bytes as an upstream server's side of a
// connection that has one request in flight: the connection must end or go
// on, never panic or hang.
func FuzzClientConn(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 10})
	fr.WriteSettingsAck()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x88}, EndHeaders: true})
	fr.WriteData(1, false, []byte{0, 0, 0, 0, 1, 'x'})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x40, 0x0b, 'g', 'r', 'p', 'c', '-', 's', 't', 'a', 't', 'u', 's', 0x01, '0'}, EndHeaders: true, EndStream: true})
	fr.WritePing(false, [8]byte{1})
	fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
	fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	f.Add(seed.Bytes())
	f.Add([]byte{0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		go drain(a)
		up, err := NewClientConn(b, Config{}, Events{})
		if err != nil {
			return
		}
		down := newConn(nil, roleServer, Config{})
		s := down.newDownstream(1, []hpack.HeaderField{{Name: ":path", Value: "/x"}}, true)
		up.Open(s, nil)
		go func() {
			a.Write(data)
			a.Close()
		}()
		select {
		case <-up.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("connection still open 5s after its server closed")
		}
		up.Close()
	})
}

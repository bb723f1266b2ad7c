package transport

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// An inline write never blocks: what a full socket does not take stays in
// the buffer, and a later blocking flush sends it, in order, before
// anything appended after it.
func TestSendBufInlineWriteKeepsWhatTheSocketRefused(t *testing.T) {
	a, b := tcpPair(t)
	a.(*net.TCPConn).SetWriteBuffer(4 << 10)
	b.(*net.TCPConn).SetReadBuffer(4 << 10)
	sb := newSendBuf(a, nil)
	if sb.raw == nil {
		t.Fatal("a TCP connection has no raw connection")
	}
	var sent bytes.Buffer
	chunk := make([]byte, 8<<10)
	blocked := false
	for i := 0; i < 1000 && !blocked; i++ {
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		sb.inline = true
		sb.Write(chunk)
		sb.inline = false
		sent.Write(chunk)
		switch err := sb.tryFlush(); err {
		case nil:
		case errWouldBlock:
			blocked = true
		default:
			t.Fatal(err)
		}
	}
	if !blocked || len(sb.buf) == 0 {
		t.Fatalf("the socket took %d bytes without filling up", sent.Len())
	}
	tail := []byte("tail")
	sb.Write(tail)
	sent.Write(tail)
	got := make(chan []byte)
	go func() {
		buf := make([]byte, sent.Len())
		io.ReadFull(b, buf)
		got <- buf
	}()
	if err := sb.flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(<-got, sent.Bytes()) {
		t.Fatal("the peer read other bytes than were written, or in another order")
	}
}

// A connection without a file descriptor is never written inline.
func TestWriteNowWithoutARawConnectionWakesTheWriter(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConn(a, roleServer, Config{})
	c.initFraming(nil)
	c.writeNow()
	select {
	case <-c.kick:
	default:
		t.Fatal("writeNow on a net.Pipe did not wake the writer")
	}
}

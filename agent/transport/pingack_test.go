package transport

import (
	"bytes"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func TestPingAcksWaitOnlyOnAConnectionThatWritesOften(t *testing.T) {
	ms := int64(time.Millisecond)
	var a pingAcks
	if a.writesOften(0) {
		t.Fatal("a connection that never wrote counts as writing often")
	}
	now := 100 * ms
	a.wrote(now)
	if a.writesOften(now) {
		t.Fatal("one write counts as writing often")
	}
	for range 20 {
		now += ms
		a.wrote(now)
	}
	if !a.writesOften(now) {
		t.Fatalf("writes every 1 ms (average gap %v) do not count as often", time.Duration(a.gap.Load()))
	}
	if a.writesOften(now + int64(pingAckDelay)) {
		t.Fatalf("still writing often %v after the last write", pingAckDelay)
	}
	for range 20 {
		now += 3 * int64(pingAckDelay) / 2
		a.wrote(now)
	}
	if a.writesOften(now) {
		t.Fatalf("writes every %v count as often", 3*pingAckDelay/2)
	}
}

// busy makes the Conn count as one that writes often, as if it had just
// written every millisecond.
func busy(c *Conn) {
	c.acks.gap.Store(int64(time.Millisecond))
	c.acks.last.Store(monoNow())
}

// pingedWhileBusy is a server-role Conn past its handshake, made to count
// as one that writes often, that was then sent a PING carrying data; it
// returns the Conn and when the PING was sent.
func pingedWhileBusy(t *testing.T, data [8]byte) (*serving, time.Time) {
	t.Helper()
	s := serveTCP(t, Config{})
	s.handshake(t)
	s.readUntil(t, "SETTINGS acknowledgement", func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && sf.IsAck()
	})
	busy(s.conn)
	sent := time.Now()
	if err := s.fr.WritePing(false, data); err != nil {
		t.Fatal(err)
	}
	return s, sent
}

func TestPingAckOnABusyConnectionIsSentAloneAfterTheDelay(t *testing.T) {
	s, sent := pingedWhileBusy(t, [8]byte{7})
	// A window update that lets nothing out is no reason to write.
	if err := s.fr.WriteWindowUpdate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	s.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := s.fr.ReadFrame()
	if err != nil {
		t.Fatalf("no PING acknowledgement: %v", err)
	}
	p, ok := f.(*http2.PingFrame)
	if !ok || !p.IsAck() || p.Data != [8]byte{7} {
		t.Fatalf("got %v, want the PING acknowledged", f)
	}
	if waited := time.Since(sent); waited < pingAckDelay {
		t.Fatalf("acknowledged after %v: a busy connection waits %v for other frames", waited, pingAckDelay)
	}
}

func TestPingAckOnABusyConnectionLeavesFirstWithTheNextWrite(t *testing.T) {
	s, _ := pingedWhileBusy(t, [8]byte{9})
	types := s.refusedRequest(t, [8]byte{9})
	if len(types) < 2 || types[0] != http2.FramePing {
		t.Fatalf("first write held frames %v, want the PING acknowledgement first and the refusal after it", types)
	}
}

// refusedRequest sends a request, which the test's handler refuses at
// once, and returns the types of the frames of the first write that
// follows. One write arrives whole on loopback, so frames written
// together are read together. A PING acknowledgement among them must
// carry ping.
func (s *serving) refusedRequest(t *testing.T, ping [8]byte) []http2.FrameType {
	t.Helper()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range []hpack.HeaderField{hf(":method", "POST"), hf(":scheme", "http"), hf(":path", "/greet.v1.GreetService/Greet"),
		hf(":authority", "greet"), hf("content-type", "application/grpc"), hf("te", "trailers")} {
		enc.WriteField(f)
	}
	if err := s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: true}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	s.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := s.nc.Read(buf)
	if err != nil {
		t.Fatalf("nothing written after the request: %v", err)
	}
	fr := http2.NewFramer(nil, bytes.NewReader(buf[:n]))
	var types []http2.FrameType
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return types
		}
		types = append(types, f.Header().Type)
		if p, ok := f.(*http2.PingFrame); ok && (!p.IsAck() || p.Data != ping) {
			t.Fatalf("got %v, want the acknowledgement of PING %v", f, ping)
		}
	}
}

func TestCloseUnlistsAConnWithPingAcks(t *testing.T) {
	s, _ := pingedWhileBusy(t, [8]byte{3})
	// The acknowledgement waited, so the Conn was listed; it left with the
	// refusal, and the listing stays until the flusher next looks.
	if types := s.refusedRequest(t, [8]byte{3}); len(types) == 0 || types[0] != http2.FramePing {
		t.Fatalf("first write held frames %v, want the PING acknowledgement first", types)
	}
	listed := func() bool {
		ackFlusher.mu.Lock()
		defer ackFlusher.mu.Unlock()
		return slices.Contains(ackFlusher.conns, s.conn)
	}
	if !listed() {
		t.Skip("the flusher's sweep dropped the Conn before the test looked")
	}
	s.conn.Close()
	if listed() {
		t.Fatal("a closed Conn is still listed for its PING acknowledgements")
	}
}

func TestFlusherHandsDueAcksToThePollingReader(t *testing.T) {
	pipe := func() *Conn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return newConn(a, roleServer, Config{})
	}
	var f flusher
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.timer != nil {
			f.timer.Stop()
		}
	})
	due, notYet, via := pipe(), pipe(), pipe()
	now := monoNow()
	wait := func(c *Conn, since int64) {
		c.mu.Lock()
		c.acks.waiting, c.acks.since = true, since
		c.mu.Unlock()
		f.list(c, since)
	}
	wait(due, now-2*int64(pingAckDelay))
	wait(notYet, now)
	if next := f.next.Load(); next != now-int64(pingAckDelay) {
		t.Fatalf("next deadline = %d, want the earlier one, %d", next, now-int64(pingAckDelay))
	}
	f.poll(via)
	if !slices.Equal(via.pend, []*Conn{due}) {
		t.Fatalf("the polling reader was handed %v, want only the Conn whose acknowledgement is due", via.pend)
	}
	if due.acks.waiting || due.acks.listed {
		t.Fatal("the Conn handed on still counts as waiting, or is still listed")
	}
	if !notYet.acks.waiting || !slices.Equal(f.conns, []*Conn{notYet}) {
		t.Fatalf("listed %v, want the Conn whose acknowledgement is not due yet", f.conns)
	}
	if next := f.next.Load(); next != now+int64(pingAckDelay) {
		t.Fatalf("next deadline = %d, want that of the Conn still waiting, %d", next, now+int64(pingAckDelay))
	}
	// An acknowledgement that left with other frames is dropped when the
	// flusher next looks, and nothing is handed on for it.
	notYet.mu.Lock()
	notYet.acks.waiting = false
	notYet.mu.Unlock()
	via.pend = via.pend[:0]
	f.mu.Lock()
	f.flushLocked(via)
	f.mu.Unlock()
	if len(via.pend) != 0 || len(f.conns) != 0 || f.next.Load() != 0 {
		t.Fatalf("after the acknowledgement left: handed %v, listed %v, next %d; want nothing", via.pend, f.conns, f.next.Load())
	}
}

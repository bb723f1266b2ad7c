package transport

import (
	"math"
	"slices"

	"golang.org/x/net/http2"
)

// maxStreamID is the last stream identifier a client may use.
const maxStreamID = math.MaxInt32

// push queues it for s and wakes the writer. Items for a closed stream are
// dropped; items for a parked stream are held for Relink. A reset for an
// upstream stream that was never opened drops it without a frame; push
// then returns it, ended, for the caller to finish once it holds no lock.
func (c *Conn) push(s *Stream, it item) (ended *Stream) { return c.pushVia(s, it, nil) }

// pushVia is push, called from the reader goroutine of via (see wakeVia).
func (c *Conn) pushVia(s *Stream, it item, via *Conn) (ended *Stream) {
	c.mu.Lock()
	if s.closed {
		c.mu.Unlock()
		it.release()
		return nil
	}
	if it.kind == itemReset && c.role == roleClient && !s.opened && !s.parked {
		c.dropWaitingLocked(s)
		c.closeLocked(s)
		c.mu.Unlock()
		s.result = Result{Code: resetCode(it.code), Rejected: it.local}
		return s
	}
	if it.kind == itemHeaders {
		s.started = true
	}
	s.q = append(s.q, it)
	c.requeue(s)
	c.mu.Unlock()
	c.wakeVia(via)
	return nil
}

// pushData queues a received DATA payload for s, appending it to the
// stream's last queued chunk while that has room, so that many small frames
// cost their bytes and not a buffer each. via is as for wakeVia.
func (c *Conn) pushData(s *Stream, p []byte, pad uint32, end bool, src *Stream, via *Conn) {
	c.mu.Lock()
	if s.closed {
		c.mu.Unlock()
		return
	}
	if n := len(s.q); n == 0 || !s.q[n-1].appendData(p, pad, end, src) {
		it := item{kind: itemData, end: end, pad: pad, src: src}
		if len(p) > 0 {
			it.buf = copyFrame(p)
			it.data = *it.buf
		}
		s.q = append(s.q, it)
	}
	c.buffered += len(p)
	c.requeue(s)
	c.mu.Unlock()
	c.wakeVia(via)
}

// appendData extends a queued DATA chunk with p when it can take it. The
// writer may be writing the front of the chunk meanwhile; p lands after it.
func (it *item) appendData(p []byte, pad uint32, end bool, src *Stream) bool {
	if it.kind != itemData || it.end || it.src != src {
		return false
	}
	if len(p) > 0 {
		if it.buf == nil || cap(*it.buf)-len(*it.buf) < len(p) {
			return false
		}
		*it.buf = append(*it.buf, p...)
		it.data = it.data[:len(it.data)+len(p)]
	}
	it.pad += pad
	it.end = end
	return true
}

// queuedBytes is the DATA bytes items hold, not yet written: what they
// count in Conn.buffered while queued.
func queuedBytes(items []item) int {
	n := 0
	for i := range items {
		n += len(items[i].data)
	}
	return n
}

// dropWaitingLocked takes s off the list of streams waiting for a slot.
func (c *Conn) dropWaitingLocked(s *Stream) {
	if i := slices.Index(c.waitSlot, s); i >= 0 {
		c.waitSlot = slices.Delete(c.waitSlot, i, i+1)
		s.blocked = false
	}
}

// popItem drops the head item of s; end marks the stream's sending side done.
func (c *Conn) popItem(s *Stream, end bool) {
	s.q[0] = item{}
	if len(s.q) == 1 {
		s.q = s.q[:0] // keep the backing array for the next item
	} else {
		s.q = s.q[1:]
	}
	if end {
		s.sentEnd = true
		if s.recvEnd {
			c.closeLocked(s)
		}
	}
}

// closeLocked forgets s and frees its slot for a stream waiting for one.
func (c *Conn) closeLocked(s *Stream) {
	if s.closed {
		return
	}
	s.closed = true
	c.buffered -= queuedBytes(s.q)
	for i := range s.q {
		s.q[i].release()
	}
	s.q = nil
	c.dropReplay(s)
	if s.id != 0 && c.streams[s.id] == s {
		delete(c.streams, s.id)
		c.active--
		c.idleLocked()
	}
	c.promoteLocked()
	if c.active == 0 && (c.goAwaySent || c.peerGoAway) && len(c.waitSlot) == 0 {
		c.closing = true
		c.wake()
	}
}

// parkLocked ends an upstream stream as retryable: it leaves the stream
// table but keeps its items for Relink until finish discards them.
func (c *Conn) parkLocked(s *Stream) {
	s.parked = true
	if s.id != 0 && c.streams[s.id] == s {
		delete(c.streams, s.id)
		c.active--
		c.idleLocked()
	}
	c.promoteLocked()
}

// promoteLocked puts as many streams waiting for a stream slot back in
// line as there are free slots. One that finds no slot when its turn comes
// (others took them first) waits again.
func (c *Conn) promoteLocked() {
	free := int64(c.peerMaxStreams) - int64(c.active)
	for ; len(c.waitSlot) > 0 && free > 0; free-- {
		next := c.waitSlot[0]
		c.waitSlot[0] = nil
		c.waitSlot = c.waitSlot[1:]
		next.blocked = false
		c.requeue(next)
		c.wake()
	}
}

// openLocked assigns s the next stream ID when the server allows one more
// stream. refused reports that the connection can open no more streams.
func (c *Conn) openLocked(s *Stream) (ok, refused bool) {
	if c.closed || c.peerGoAway || c.goAwaySent || c.nextID > maxStreamID {
		s.parked = true
		return false, true
	}
	if uint32(c.active) >= c.peerMaxStreams {
		s.blocked = true
		c.waitSlot = append(c.waitSlot, s)
		return false, false
	}
	s.id = c.nextID
	c.nextID += 2
	s.opened = true
	s.sendWin = c.peerInitWin
	c.streams[s.id] = s
	c.active++
	c.armHealthLocked()
	if c.nextID > maxStreamID {
		c.spawn(c.exhausted)
	}
	return true, false
}

// idleLocked lets the writer goroutine end once the last stream closed.
func (c *Conn) idleLocked() {
	if c.active == 0 {
		c.nudge()
	}
}

func (c *Conn) exhausted() {
	if c.events.GoAway != nil {
		c.events.GoAway(0, errIDsExhausted.Error())
	}
}

// retain keeps a written request chunk for replay while the upstream stream
// may still be retried, and returns the buffer to release otherwise.
func (c *Conn) retain(s *Stream, it *item) *[]byte {
	if c.role == roleServer || s.noReplay || it.buf == nil {
		return it.buf
	}
	full := *it.buf
	if s.replayN+len(full) > c.cfg.ReplayLimit {
		c.dropReplay(s)
		return it.buf
	}
	s.replayN += len(full)
	s.replay = append(s.replay, item{kind: itemData, buf: it.buf, data: full, end: it.end})
	return nil
}

// dropReplay gives up the ability to retry s.
func (c *Conn) dropReplay(s *Stream) {
	s.noReplay = true
	for i := range s.replay {
		s.replay[i].release()
	}
	s.replay = nil
}

// credit returns n bytes of receive window to the sender of s once they have
// been written onward, batching small amounts.
func (c *Conn) credit(s *Stream, n uint32) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closed || s.recvEnd {
		return
	}
	s.unacked += n
	if s.unacked < c.cfg.StreamWindow/4 {
		return
	}
	c.queueCtrlLocked(writeOp{typ: http2.FrameWindowUpdate, streamID: s.id, incr: s.unacked})
	s.recvWin += int64(s.unacked)
	s.unacked = 0
	c.wake()
}

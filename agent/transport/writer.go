package transport

import (
	"math"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// batchLimit bounds the frames taken from the queues under one lock.
const batchLimit = 64

// writeOp is one frame to write, with what to do once it is written.
type writeOp struct {
	typ      http2.FrameType
	streamID uint32
	end      bool
	fields   []hpack.HeaderField
	data     []byte
	code     http2.ErrCode
	incr     uint32
	ping     [8]byte
	ack      bool
	debug    []byte
	settings []http2.Setting

	credit  *Stream // credited with creditN bytes once written
	creditN uint32
	release *[]byte
}

// runWriter is the writer goroutine, which wake starts.
func (c *Conn) runWriter() {
	defer c.ended()
	c.writeLoop()
}

// writeLoop writes what is queued until the connection closes or turns
// idle: nothing is queued and no stream is open. It keeps running while
// streams are open, so that a busy connection does not start a goroutine
// per request, and ends when it is idle, so that an idle one runs none.
func (c *Conn) writeLoop() {
	var ops []writeOp
	var ended []*Stream
	for {
		c.wmu.Lock()
		var err error
		for {
			ops, ended = c.collect(ops[:0], ended[:0], math.MaxInt)
			finishAll(ended)
			if len(ops) == 0 {
				break
			}
			if err = c.writeOps(ops); err != nil {
				break
			}
		}
		if err == nil {
			err = c.sb.flush()
		}
		c.wmu.Unlock()
		if err != nil {
			c.fail(err)
			return
		}
		if c.isClosing() {
			c.fail(ErrClosed)
			return
		}
		if !c.waitWork() {
			return
		}
	}
}

// waitWork waits for the next wake and reports true, or reports false
// when the writer goroutine is to end: the connection closed, or it is idle
// and no wake came since the writer last looked at its queues. A wake that
// comes after the writer ended starts a new one.
func (c *Conn) waitWork() bool {
	idle := c.isIdle()
	c.wkMu.Lock()
	select {
	case <-c.kick:
		c.wkMu.Unlock()
		return true
	default:
	}
	if idle {
		c.writing = false
		c.wkMu.Unlock()
		return false
	}
	c.wkMu.Unlock()
	select {
	case <-c.kick:
		return true
	case <-c.done:
		return false
	}
}

// isIdle reports whether the connection has no open stream and nothing to
// write.
func (c *Conn) isIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active == 0 && len(c.waitSlot) == 0 && c.ready.len() == 0 && len(c.ctrl.ops) == 0 && !c.closing
}

// finishAll reports the end of the streams collect ended, and clears them.
func finishAll(ended []*Stream) {
	for i, s := range ended {
		s.finish(s.result)
		ended[i] = nil
	}
}

// inlineBudget bounds the bytes one inline write collects; what is left
// waits for the writer goroutine.
const inlineBudget = writeBufferSize

// writeNow writes what is queued for c on the calling goroutine, when no
// other goroutine is writing and the socket takes it without blocking, to
// spare the writer goroutine a wake-up. Whatever it cannot write (the
// writer is busy, the socket is full, more than inlineBudget is queued, the
// connection is closing) is left to the writer goroutine, which it wakes.
func (c *Conn) writeNow() {
	if c.sb == nil || c.sb.raw == nil || !c.wmu.TryLock() {
		c.wake()
		return
	}
	if len(c.sb.buf) > 0 {
		// Bytes a blocking write must finish first.
		c.wmu.Unlock()
		c.wake()
		return
	}
	c.sb.inline = true
	c.iops, c.iended = c.collect(c.iops[:0], c.iended[:0], inlineBudget)
	finishAll(c.iended)
	err := c.writeOps(c.iops)
	if err == nil {
		err = c.sb.tryFlush()
	}
	c.sb.inline = false
	c.wmu.Unlock()
	switch {
	case err == errWouldBlock:
		c.wake()
	case err != nil:
		c.fail(err)
	case c.hasWork():
		c.wake()
	}
}

// hasWork reports whether frames wait to be written, or the connection
// waits for the writer to close it.
func (c *Conn) hasWork() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ctrl.ops) > 0 || (!c.aborting && c.ready.len() > 0) || c.closing
}

func (c *Conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing && len(c.ctrl.ops) == 0 && (c.aborting || c.ready.len() == 0)
}

func (c *Conn) writeOps(ops []writeOp) error {
	if len(ops) > 0 {
		c.acks.wrote(monoNow())
	}
	for i := range ops {
		op := &ops[i]
		if err := c.writeOp(op); err != nil {
			return err
		}
		if op.credit != nil {
			op.credit.conn.credit(op.credit, op.creditN)
		}
		releaseFrame(op.release)
		*op = writeOp{}
	}
	return nil
}

func (c *Conn) writeOp(op *writeOp) error {
	switch op.typ {
	case http2.FrameData:
		return c.wfr.WriteData(op.streamID, op.end, op.data)
	case http2.FrameHeaders:
		return c.writeHeaders(op)
	case http2.FrameWindowUpdate:
		return c.wfr.WriteWindowUpdate(op.streamID, op.incr)
	case http2.FrameRSTStream:
		return c.wfr.WriteRSTStream(op.streamID, op.code)
	case http2.FramePing:
		return c.wfr.WritePing(op.ack, op.ping)
	case http2.FrameSettings:
		if op.ack {
			return c.wfr.WriteSettingsAck()
		}
		return c.wfr.WriteSettings(op.settings...)
	case http2.FrameGoAway:
		return c.wfr.WriteGoAway(op.streamID, op.code, op.debug)
	}
	return nil
}

// writeHeaders HPACK-encodes a header block and writes it as one HEADERS
// frame and as many CONTINUATION frames as the peer's frame size needs.
func (c *Conn) writeHeaders(op *writeOp) error {
	if size, ok := c.takeTableSize(); ok {
		c.henc.SetMaxDynamicTableSizeLimit(size)
	}
	c.hbuf = c.hbuf[:0]
	for _, f := range op.fields {
		if err := c.henc.WriteField(f); err != nil {
			return err
		}
	}
	max := int(c.maxFrame())
	block := c.hbuf
	first := block[:min(len(block), max)]
	block = block[len(first):]
	err := c.wfr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: op.streamID, BlockFragment: first, EndStream: op.end, EndHeaders: len(block) == 0,
	})
	for err == nil && len(block) > 0 {
		frag := block[:min(len(block), max)]
		block = block[len(frag):]
		err = c.wfr.WriteContinuation(op.streamID, len(block) == 0, frag)
	}
	return err
}

func (c *Conn) takeTableSize() (uint32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dirty := c.tableSizeDirty
	c.tableSizeDirty = false
	return c.peerTableSize, dirty
}

func (c *Conn) maxFrame() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerMaxFrame
}

// collect takes control frames and then, round robin over the streams with
// writable items, at most one frame per stream per turn, until about budget
// bytes were taken. Upstream streams that ended while collecting (refused
// for want of a connection, or reset) are appended to ended with their
// result, to be reported without the lock.
func (c *Conn) collect(ops []writeOp, ended []*Stream, budget int) ([]writeOp, []*Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ctrl.ops) > 0 {
		c.acks.waiting = false // a PING acknowledgement leaves now
	}
	ops = append(ops, c.ctrl.ops...)
	clear(c.ctrl.ops)
	c.ctrl.ops = c.ctrl.ops[:0]
	size := 0
	for !c.aborting && c.ready.len() > 0 && len(ops) < batchLimit && size < budget {
		s := c.ready.pop()
		s.queued = false
		if s.closed || s.parked || len(s.q) == 0 {
			continue // reset or moved while it waited in line
		}
		var op writeOp
		var ok bool
		op, ok, ended = c.nextOp(s, ended)
		if ok {
			size += op.size()
			ops = append(ops, op)
		}
		c.requeue(s)
	}
	return ops, ended
}

// size is about what op takes on the wire, at most: a header block is
// counted as if no field were compressed.
func (op *writeOp) size() int {
	n := frameHeaderLen + len(op.data)
	for _, f := range op.fields {
		n += len(f.Name) + len(f.Value) + 32
	}
	return n
}

// requeue puts s back on the ready list if its head item can be written.
func (c *Conn) requeue(s *Stream) {
	if s.queued || s.blocked || s.closed || s.parked || len(s.q) == 0 {
		return
	}
	if s.q[0].kind == itemData && len(s.q[0].data) > 0 && c.sendWin <= 0 {
		c.connBlocked = append(c.connBlocked, s)
		s.blocked = true
		return
	}
	s.queued = true
	c.ready.push(s)
}

// nextOp turns the head item of s into a frame, honouring stream slots and
// flow-control windows. It reports false when nothing can be written now.
func (c *Conn) nextOp(s *Stream, ended []*Stream) (writeOp, bool, []*Stream) {
	it := &s.q[0]
	if c.role == roleClient && !s.opened {
		ok, refusedNow := c.openLocked(s)
		if refusedNow {
			s.result = Result{Code: codes.Unavailable, Err: ErrGoingAway, Retryable: true}
			return writeOp{}, false, append(ended, s)
		}
		if !ok {
			return writeOp{}, false, ended
		}
	}
	switch it.kind {
	case itemHeaders:
		op := writeOp{typ: http2.FrameHeaders, streamID: s.id, end: it.end, fields: it.fields}
		c.popItem(s, it.end)
		return op, true, ended
	case itemReset:
		op := writeOp{typ: http2.FrameRSTStream, streamID: s.id, code: it.code}
		local := it.local
		c.popItem(s, false)
		c.closeLocked(s)
		if c.role == roleClient {
			s.result = Result{Code: resetCode(op.code), Responded: s.gotResp, Rejected: local}
			ended = append(ended, s)
		}
		return op, true, ended
	}
	op, ok := c.dataOp(s, it)
	return op, ok, ended
}

// dataOp writes as much of the head DATA item as the windows allow. It
// reports false, and parks s, when a window is closed.
func (c *Conn) dataOp(s *Stream, it *item) (writeOp, bool) {
	n := min(int64(len(it.data)), int64(c.peerMaxFrame), c.sendWin, s.sendWin)
	if n <= 0 && len(it.data) > 0 {
		s.blocked = true
		if s.sendWin > 0 {
			c.connBlocked = append(c.connBlocked, s)
		}
		return writeOp{}, false
	}
	n = max(n, 0)
	c.buffered -= int(n)
	c.sendWin -= n
	s.sendWin -= n
	op := writeOp{typ: http2.FrameData, streamID: s.id, data: it.data[:n], credit: it.src, creditN: uint32(n)}
	it.data = it.data[n:]
	if len(it.data) > 0 {
		return op, true
	}
	op.end = it.end
	op.creditN += it.pad
	op.release = c.retain(s, it)
	c.popItem(s, it.end)
	return op, true
}

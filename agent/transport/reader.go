package transport

import (
	"errors"
	"fmt"
	"math"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
)

// maxWindow is the largest flow-control window RFC 9113 allows.
const maxWindow = math.MaxInt32

func (c *Conn) readLoop() {
	defer c.rd.close()
	defer c.flushPending()
	for {
		if !c.frameBuffered() {
			ackFlusher.poll(c)
			if len(c.pend) > 0 {
				c.flushPending()
			}
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.onStreamError(se)
				continue
			}
			c.readFailed(err)
			return
		}
		c.readAny.Store(true)
		c.health.saw(f)
		if err := c.dispatch(f); err != nil {
			c.protocolFail(err)
			return
		}
		if c.overflowed() {
			c.protocolFail(errConn(http2.ErrCodeEnhanceYourCalm, "too many control frames queued for a peer that does not read"))
			return
		}
	}
}

// later is how the reader goroutine of c hands frames it queued for w to
// w's writer: w is written out once the reader has handled every complete
// frame it holds, so that the frames a peer sent together leave together,
// in one write and without a wake-up when that write can be made inline.
// Only the reader goroutine of c calls it.
func (c *Conn) later(w *Conn) {
	for _, p := range c.pend {
		if p == w {
			return
		}
	}
	c.pend = append(c.pend, w)
}

// wakeVia hands c's queued frames to its writer: through via's reader
// (later) when the caller is via's reader goroutine, else at once.
func (c *Conn) wakeVia(via *Conn) {
	if via != nil {
		via.later(c)
		return
	}
	c.wake()
}

// flushPending writes out the connections later collected.
func (c *Conn) flushPending() {
	for i, w := range c.pend {
		w.writeNow()
		c.pend[i] = nil
	}
	c.pend = c.pend[:0]
}

// frameBuffered reports whether a whole frame is buffered, so that reading
// it will not block.
func (c *Conn) frameBuffered() bool { return c.rd.frameBuffered() }

// readFailed ends the connection after the framer gave up: a frame above
// the advertised size is a FRAME_SIZE_ERROR, other framing errors are the
// connection errors the framer names, and anything else is the socket.
func (c *Conn) readFailed(err error) {
	if errors.Is(err, http2.ErrFrameTooLarge) {
		err = errConn(http2.ErrCodeFrameSize, fmt.Sprintf("frame larger than the advertised maximum of %d bytes", maxFrameSize))
	}
	c.protocolFail(err)
}

func (c *Conn) dispatch(f http2.Frame) error {
	if !c.sawSettings {
		sf, ok := f.(*http2.SettingsFrame)
		if !ok || sf.IsAck() {
			return errConn(http2.ErrCodeProtocol, "the first frame must be SETTINGS")
		}
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.HeadersFrame:
		c.hb.start(f)
		return c.onHeaderFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		// The framer lets a CONTINUATION frame through only after a
		// HEADERS frame, or CONTINUATION, of the same stream that did
		// not end the block.
		return c.onHeaderFragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.RSTStreamFrame:
		return c.onReset(f.StreamID, f.ErrCode)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		c.onPing(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.resetByUs(f.StreamID, http2.ErrCodeProtocol)
		}
	case *http2.PushPromiseFrame:
		return errConn(http2.ErrCodeProtocol, "PUSH_PROMISE with push disabled")
	}
	return nil
}

// onHeaderFragment decodes one fragment of a header block and, when it
// ends the block, hands the block on: a request or trailers from the
// client, a response or trailers from the upstream server.
func (c *Conn) onHeaderFragment(frag []byte, ended bool) error {
	if err := c.hb.write(frag); err != nil {
		return err
	}
	if !ended {
		return nil
	}
	f, err := c.hb.finish()
	if err != nil {
		var se http2.StreamError
		if errors.As(err, &se) {
			c.onStreamError(se)
			return nil
		}
		return err
	}
	if c.role == roleServer {
		return c.onRequestHeaders(f)
	}
	return c.onResponseHeaders(f)
}

// isIdleLocked reports whether id names a stream that was never opened.
func (c *Conn) isIdleLocked(id uint32) bool {
	if c.role == roleServer {
		return id%2 == 0 || id > c.maxPeerID
	}
	return id%2 == 0 || id >= c.nextID
}

// onStreamError answers a frame the framer rejected on one stream. A
// rejected header block of a new stream still uses up its identifier.
func (c *Conn) onStreamError(se http2.StreamError) {
	c.mu.Lock()
	if c.role == roleServer && se.StreamID > c.maxPeerID && se.StreamID%2 == 1 {
		c.maxPeerID = se.StreamID
	}
	c.mu.Unlock()
	c.resetByUs(se.StreamID, se.Code)
}

func (c *Conn) onData(f *http2.DataFrame) error {
	n := f.Header().Length
	c.mu.Lock()
	c.creditConnLocked(n)
	s := c.streams[f.StreamID]
	if s == nil {
		if c.isIdleLocked(f.StreamID) {
			c.mu.Unlock()
			return errConn(http2.ErrCodeProtocol, fmt.Sprintf("DATA on idle stream %d", f.StreamID))
		}
		_, byUs := c.resets.lookup(f.StreamID)
		answer := c.role == roleServer && !byUs
		c.mu.Unlock()
		if answer {
			c.resetByUs(f.StreamID, http2.ErrCodeStreamClosed)
		}
		return nil
	}
	if s.recvEnd {
		c.mu.Unlock()
		c.resetByUs(s.id, http2.ErrCodeStreamClosed)
		return nil
	}
	s.recvWin -= int64(n)
	if s.recvWin < 0 {
		c.mu.Unlock()
		c.resetByUs(s.id, http2.ErrCodeFlowControl)
		return nil
	}
	end := f.StreamEnded()
	c.markRecvEnd(s, end)
	c.mu.Unlock()
	s.forwardData(f.Data(), n-uint32(len(f.Data())), end)
	if end && c.role == roleClient {
		s.finish(Result{Code: codes.Internal, Err: errNoTrailers})
	}
	return nil
}

// creditConnLocked returns connection-level window on receipt.
func (c *Conn) creditConnLocked(n uint32) {
	c.recvUnacked += n
	if c.recvUnacked >= c.cfg.ConnWindow/4 {
		c.queueCtrlLocked(writeOp{typ: http2.FrameWindowUpdate, incr: c.recvUnacked})
		c.recvUnacked = 0
		c.wake()
	}
}

// markRecvEnd records the end of the peer's side of s.
func (c *Conn) markRecvEnd(s *Stream, end bool) {
	if !end {
		return
	}
	s.recvEnd = true
	if s.sentEnd {
		c.closeLocked(s)
	}
}

func (c *Conn) onReset(id uint32, code http2.ErrCode) error {
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		idle := c.isIdleLocked(id)
		c.mu.Unlock()
		if idle {
			return errConn(http2.ErrCodeProtocol, fmt.Sprintf("RST_STREAM on idle stream %d", id))
		}
		return nil
	}
	c.resets.add(id, false)
	retry := c.role == roleClient && code == http2.ErrCodeRefusedStream && !s.gotResp && !s.noReplay
	responded := s.gotResp
	if retry {
		c.parkLocked(s)
	} else {
		c.closeLocked(s)
	}
	c.mu.Unlock()
	if retry {
		s.finish(Result{Code: codes.Unavailable, Retryable: true})
		return nil
	}
	s.forwardVia(item{kind: itemReset, code: code}, c)
	if c.role == roleClient {
		s.finish(Result{Code: resetCode(code), Responded: responded})
	}
	return nil
}

// resetByUs resets a stream for a local reason and tells both peers.
func (c *Conn) resetByUs(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	c.queueCtrlLocked(writeOp{typ: http2.FrameRSTStream, streamID: id, code: code})
	s := c.streams[id]
	if s != nil {
		c.resets.add(id, true)
		c.closeLocked(s)
	}
	c.mu.Unlock()
	c.wake()
	if s == nil {
		return
	}
	if c.role == roleClient {
		s.finish(Result{Code: codes.Internal, Err: fmt.Errorf("stream reset: %v", code)})
		return
	}
	s.forward(item{kind: itemReset, code: http2.ErrCodeCancel, local: true})
}

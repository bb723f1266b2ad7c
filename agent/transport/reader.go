package transport

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

func (c *Conn) readLoop() {
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.resetByUs(se.StreamID, se.Code)
				continue
			}
			c.protocolFail(err)
			return
		}
		c.readAny.Store(true)
		c.health.saw(f)
		if err := c.dispatch(f); err != nil {
			c.protocolFail(err)
			return
		}
	}
}

// protocolFail tells the peer why the connection ends, when it is a
// protocol matter, and closes it.
func (c *Conn) protocolFail(err error) {
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		c.mu.Lock()
		c.ctrl = append(c.ctrl, writeOp{typ: http2.FrameGoAway, streamID: c.maxPeerID, code: http2.ErrCode(ce)})
		c.closing = true
		c.mu.Unlock()
		c.wake()
		return
	}
	c.fail(err)
}

func (c *Conn) dispatch(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.RSTStreamFrame:
		c.onReset(f.StreamID, f.ErrCode)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.PingFrame:
		c.onPing(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil
}

func (c *Conn) onData(f *http2.DataFrame) error {
	n := f.Header().Length
	c.mu.Lock()
	c.creditConnLocked(n)
	s := c.streams[f.StreamID]
	if s == nil || s.recvEnd {
		idle := s == nil && c.role == roleServer && f.StreamID > c.maxPeerID
		c.mu.Unlock()
		if idle {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
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
	data := f.Data()
	it := item{kind: itemData, end: end, pad: n - uint32(len(data)), src: s}
	if len(data) > 0 {
		it.buf = copyFrame(data)
		it.data = *it.buf
	}
	s.forward(it)
	if end && c.role == roleClient {
		s.finish(Result{Code: codes.Internal, Err: errNoTrailers})
	}
	return nil
}

// creditConnLocked returns connection-level window on receipt.
func (c *Conn) creditConnLocked(n uint32) {
	c.recvUnacked += n
	if c.recvUnacked >= c.cfg.ConnWindow/4 {
		c.ctrl = append(c.ctrl, writeOp{typ: http2.FrameWindowUpdate, incr: c.recvUnacked})
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

func (c *Conn) onHeaders(f *http2.MetaHeadersFrame) error {
	if f.Truncated {
		c.resetByUs(f.StreamID, http2.ErrCodeProtocol)
		return nil
	}
	fields := slices.Clone(f.Fields)
	end := f.StreamEnded()
	if c.role == roleServer {
		return c.onRequestHeaders(f.StreamID, fields, end)
	}
	c.onResponseHeaders(f.StreamID, fields, end)
	return nil
}

func (c *Conn) onRequestHeaders(id uint32, fields []hpack.HeaderField, end bool) error {
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.markRecvEnd(s, end)
		c.mu.Unlock()
		s.forward(item{kind: itemHeaders, fields: fields, end: end})
		return nil
	}
	if id%2 == 0 {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if id <= c.maxPeerID {
		// A stream that already ended, typically one reset here while the
		// client was still sending.
		c.ctrl = append(c.ctrl, writeOp{typ: http2.FrameRSTStream, streamID: id, code: http2.ErrCodeStreamClosed})
		c.mu.Unlock()
		c.wake()
		return nil
	}
	if c.goAwaySent {
		c.maxPeerID = id
		c.ctrl = append(c.ctrl, writeOp{typ: http2.FrameRSTStream, streamID: id, code: http2.ErrCodeRefusedStream})
		c.mu.Unlock()
		c.wake()
		return nil
	}
	s := c.newDownstream(id, fields, end)
	c.mu.Unlock()
	c.handler.ServeStream(s)
	return nil
}

func (c *Conn) onResponseHeaders(id uint32, fields []hpack.HeaderField, end bool) {
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		c.mu.Unlock()
		return
	}
	if !s.gotResp {
		s.gotResp = true
		c.dropReplay(s)
	}
	c.markRecvEnd(s, end)
	c.mu.Unlock()
	if end {
		s.code = grpcStatus(fields)
	}
	s.forward(item{kind: itemHeaders, fields: fields, end: end})
	if end {
		s.finish(Result{Code: s.code})
	}
}

func (c *Conn) onReset(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		c.mu.Unlock()
		return
	}
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
		return
	}
	s.forward(item{kind: itemReset, code: code})
	if c.role == roleClient {
		s.finish(Result{Code: resetCode(code), Responded: responded})
	}
}

// resetByUs resets a stream for a local reason and tells both peers.
func (c *Conn) resetByUs(id uint32, code http2.ErrCode) {
	c.mu.Lock()
	c.ctrl = append(c.ctrl, writeOp{typ: http2.FrameRSTStream, streamID: id, code: code})
	s := c.streams[id]
	if s != nil {
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
	s.forward(item{kind: itemReset, code: http2.ErrCodeCancel})
}

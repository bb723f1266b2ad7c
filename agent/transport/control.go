package transport

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
)

func (c *Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	first := !c.sawSettings
	c.sawSettings = true
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return errConn(http2.ErrCode(err.(http2.ConnectionError)), "invalid SETTINGS value")
	}
	c.mu.Lock()
	err := f.ForeachSetting(c.applySettingLocked)
	c.queueCtrlLocked(writeOp{typ: http2.FrameSettings, ack: true})
	c.mu.Unlock()
	c.later(c)
	if first && c.role == roleServer {
		c.nc.SetReadDeadline(time.Time{}) // the handshake is complete
	}
	if first && c.role == roleClient && c.events.Ready != nil {
		c.events.Ready()
	}
	return err
}

func (c *Conn) applySettingLocked(s http2.Setting) error {
	switch s.ID {
	case http2.SettingInitialWindowSize:
		delta := int64(s.Val) - c.peerInitWin
		c.peerInitWin = int64(s.Val)
		for _, st := range c.streams {
			st.sendWin += delta
			if st.sendWin > maxWindow {
				return errConn(http2.ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window")
			}
			c.unblockLocked(st)
		}
	case http2.SettingMaxFrameSize:
		c.peerMaxFrame = s.Val
	case http2.SettingMaxConcurrentStreams:
		c.peerMaxStreams = s.Val
	case http2.SettingHeaderTableSize:
		c.peerTableSize = s.Val
		c.tableSizeDirty = true
	}
	return nil
}

// unblockLocked puts a stream waiting for its window back in line.
// It reports whether it did.
func (c *Conn) unblockLocked(s *Stream) bool {
	if s.blocked && s.sendWin > 0 {
		s.blocked = false
		c.requeue(s)
		return true
	}
	return false
}

func (c *Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	if f.StreamID == 0 {
		c.sendWin += int64(f.Increment)
		if c.sendWin > maxWindow {
			c.mu.Unlock()
			return errConn(http2.ErrCodeFlowControl, "WINDOW_UPDATE overflows the connection window")
		}
		unblocked := len(c.connBlocked) > 0
		for _, s := range c.connBlocked {
			s.blocked = false
			c.requeue(s)
		}
		clear(c.connBlocked)
		c.connBlocked = c.connBlocked[:0]
		c.mu.Unlock()
		// A window that lets nothing out needs no write: the write would
		// carry only what waits for one, such as a PING acknowledgement.
		if unblocked {
			c.later(c)
		}
		return nil
	}
	s := c.streams[f.StreamID]
	if s == nil {
		idle := c.isIdleLocked(f.StreamID)
		c.mu.Unlock()
		if idle {
			return errConn(http2.ErrCodeProtocol, fmt.Sprintf("WINDOW_UPDATE on idle stream %d", f.StreamID))
		}
		return nil
	}
	s.sendWin += int64(f.Increment)
	overflow := s.sendWin > maxWindow
	unblocked := !overflow && c.unblockLocked(s)
	c.mu.Unlock()
	if overflow {
		c.resetByUs(f.StreamID, http2.ErrCodeFlowControl)
		return nil
	}
	if unblocked {
		c.later(c)
	}
	return nil
}

// onGoAway stops new streams. On the client side, streams the server never
// processed end retryable; the others go on to completion.
func (c *Conn) onGoAway(f *http2.GoAwayFrame) {
	c.mu.Lock()
	first := !c.peerGoAway
	c.peerGoAway = true
	var refused []*Stream
	if c.role == roleClient {
		refused = c.refuseAboveLocked(f.LastStreamID)
	}
	if c.active == 0 {
		c.closing = true
	}
	c.mu.Unlock()
	c.wake()
	if first {
		level := zap.DebugLevel // a local client closing its connection
		if c.role == roleClient {
			level = zap.InfoLevel
		}
		c.log.Log(level, "peer sent GOAWAY", zap.Stringer("remote", c.nc.RemoteAddr()),
			zap.Stringer("code", f.ErrCode), zap.String("debug", string(f.DebugData())))
		if c.events.GoAway != nil {
			c.events.GoAway(f.ErrCode, string(f.DebugData()))
		}
	}
	for _, s := range refused {
		s.finish(s.result)
	}
}

// refuseAboveLocked parks the streams a GOAWAY says were never processed.
func (c *Conn) refuseAboveLocked(last uint32) []*Stream {
	var out []*Stream
	for id, s := range c.streams {
		if id <= last {
			continue
		}
		retry := !s.gotResp && !s.noReplay
		if retry {
			c.parkLocked(s)
		} else {
			c.closeLocked(s)
		}
		s.result = Result{Code: codes.Unavailable, Err: ErrGoingAway, Retryable: retry}
		out = append(out, s)
	}
	return out
}

// GoAway tells the peer that no new streams will be accepted (server role)
// or opened (client role); the connection closes once the open ones end.
func (c *Conn) GoAway() {
	c.mu.Lock()
	if c.goAwaySent || c.closed {
		c.mu.Unlock()
		return
	}
	c.goAwaySent = true
	if !c.started {
		// Still in the handshake: there is nothing to drain.
		c.mu.Unlock()
		c.fail(ErrClosed)
		return
	}
	// A client-role connection accepts no streams, so its last one is 0.
	c.queueCtrlLocked(writeOp{typ: http2.FrameGoAway, streamID: c.maxPeerID, code: http2.ErrCodeNo})
	if c.active == 0 && len(c.waitSlot) == 0 {
		c.closing = true
	}
	c.mu.Unlock()
	c.wake()
}

// fail closes the connection once and ends every stream on it.
func (c *Conn) fail(err error) {
	c.closeMu.Do(func() {
		c.wkMu.Lock()
		c.stopped = true
		c.wkMu.Unlock()
		c.mu.Lock()
		c.closed = true
		c.err = err
		streams := c.allStreamsLocked()
		c.mu.Unlock()
		ackFlusher.unlist(c)
		c.leaveHealth()
		close(c.done)
		c.nc.Close()
		for _, s := range streams {
			c.abandon(s, err)
		}
	})
}

func (c *Conn) allStreamsLocked() []*Stream {
	out := make([]*Stream, 0, len(c.streams)+len(c.waitSlot))
	for _, s := range c.streams {
		out = append(out, s)
	}
	out = append(out, c.waitSlot...)
	c.ready.each(func(s *Stream) {
		if !s.opened && c.role == roleClient {
			out = append(out, s)
		}
	})
	return out
}

// abandon ends one stream of a connection that is gone.
func (c *Conn) abandon(s *Stream, err error) {
	c.mu.Lock()
	retry := c.role == roleClient && !s.opened
	if retry {
		c.parkLocked(s)
	} else {
		c.closeLocked(s)
	}
	c.mu.Unlock()
	if c.role == roleServer {
		s.forward(item{kind: itemReset, code: http2.ErrCodeCancel})
		return
	}
	s.finish(Result{Code: codes.Unavailable, Err: fmt.Errorf("%w", err), Retryable: retry})
}

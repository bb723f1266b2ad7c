package transport

import (
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// Open starts the upstream half of down on c and links the two. The request
// headers are sent as received; obs follows the upstream half. It fails,
// without sending anything, when c can take no new stream.
func (c *Conn) Open(down *Stream, obs Observer) error {
	l := down.link
	l.mu.Lock()
	defer l.mu.Unlock()
	up := &Stream{conn: c, link: l, fields: down.fields, obs: obs}
	up.q = up.qbuf[:0]
	first := item{kind: itemHeaders, fields: down.fields, end: down.headersEnd}
	var via *Conn
	if down.serving {
		via = down.conn // called from ServeStream, on its reader goroutine
	}
	if err := c.openQueued(up, append(up.q, first), via); err != nil {
		return err
	}
	l.up = up
	down.conn.upOpen.Add(1)
	return nil
}

// openQueued registers a new upstream stream with its first items; via is
// as for wakeVia.
func (c *Conn) openQueued(up *Stream, items []item, via *Conn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.peerGoAway || c.goAwaySent || c.nextID > maxStreamID {
		if c.closed {
			return ErrClosed
		}
		return ErrGoingAway
	}
	up.sendWin = c.peerInitWin
	up.recvWin = int64(c.cfg.StreamWindow)
	up.q = items
	c.buffered += queuedBytes(items)
	c.requeue(up)
	c.wakeVia(via)
	return nil
}

// Relink moves the request of down, whose upstream half ended retryable, to
// a new stream on c. Request bytes already sent are replayed. It must be
// called from Observer.Done.
func (down *Stream) Relink(c *Conn, obs Observer) error {
	l := down.link
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.up
	items := old.conn.takeForReplay(old)
	up := &Stream{conn: c, link: l, fields: old.fields, headersEnd: old.headersEnd, obs: obs}
	if err := c.openQueued(up, items, nil); err != nil {
		old.conn.restore(old, items)
		return err
	}
	l.up = up
	return nil
}

// takeForReplay hands over what a retryable stream must send again: the
// header block, the request data already written and the items still queued.
func (c *Conn) takeForReplay(s *Stream) []item {
	c.mu.Lock()
	defer c.mu.Unlock()
	var items []item
	if s.opened {
		items = append(items, item{kind: itemHeaders, fields: s.fields, end: s.headersEnd})
		items = append(items, s.replay...)
	}
	c.buffered -= queuedBytes(s.q)
	items = append(items, s.q...)
	s.replay, s.q = nil, nil
	return items
}

// restore gives items back to a parked stream when a relink failed, so that
// closing it releases them.
func (c *Conn) restore(s *Stream, items []item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s.q = items
	c.buffered += queuedBytes(items)
}

// forward queues an item received on s for the other half of its call.
func (s *Stream) forward(it item) { s.forwardVia(it, nil) }

// forwardVia is forward, called from the reader goroutine of via, which
// then writes the item out (wakeVia); nil when not on a reader goroutine.
func (s *Stream) forwardVia(it item, via *Conn) {
	if s.conn.role == roleClient {
		down := s.link.down
		down.conn.pushVia(down, it, via)
		return
	}
	l := s.link
	l.mu.Lock()
	up := l.up
	if up == nil {
		l.mu.Unlock()
		it.release()
		return
	}
	ended := up.conn.pushVia(up, it, via)
	l.mu.Unlock()
	if ended != nil {
		ended.finish(ended.result)
	}
}

// forwardData queues a DATA payload received on s for the other half of
// its call; pad is the frame's flow-controlled length beyond p. Only the
// reader goroutine of s's connection calls it.
func (s *Stream) forwardData(p []byte, pad uint32, end bool) {
	if s.conn.role == roleClient {
		down := s.link.down
		down.conn.pushData(down, p, pad, end, s, s.conn)
		return
	}
	l := s.link
	l.mu.Lock()
	if up := l.up; up != nil {
		up.conn.pushData(up, p, pad, end, s, s.conn)
	}
	l.mu.Unlock()
}

// finish reports the end of an upstream half once. Unless the observer moved
// the call, a failure is answered to the client with a gRPC status.
func (s *Stream) finish(res Result) {
	s.doneOnce.Do(func() {
		relinked := s.obs != nil && s.obs.Done(res)
		s.conn.discard(s)
		if !relinked {
			s.link.down.conn.upOpen.Add(-1)
		}
		if relinked || (res.Err == nil && !res.Retryable) {
			return
		}
		msg := "upstream unavailable"
		if res.Err != nil {
			msg = "connection to upstream " + s.conn.RemoteAddr().String() + " failed: " + res.Err.Error()
		}
		s.link.down.Fail(codes.Unavailable, msg)
	})
}

// discard releases whatever a parked stream still holds.
func (c *Conn) discard(s *Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.parked {
		s.parked = false
		c.closeLocked(s)
	}
}

// Fail answers the client's request stream with a gRPC status, as a
// trailers-only response or, once response headers went out, as trailers.
// It does nothing if the response already ended.
func (down *Stream) Fail(code codes.Code, msg string) {
	c := down.conn
	c.mu.Lock()
	if down.closed || down.sentEnd || down.endQueued() {
		c.mu.Unlock()
		return
	}
	fields := statusFields(code, msg, !down.started)
	c.mu.Unlock()
	c.push(down, item{kind: itemHeaders, fields: fields, end: true})
}

// endQueued reports whether an item that ends the stream is already queued.
func (s *Stream) endQueued() bool {
	for i := range s.q {
		if s.q[i].end || s.q[i].kind == itemReset {
			return true
		}
	}
	return false
}

// newDownstream registers a request stream accepted from the client.
func (c *Conn) newDownstream(id uint32, fields []hpack.HeaderField, end bool) *Stream {
	s := &Stream{conn: c, id: id, fields: fields, headersEnd: end, recvEnd: end}
	s.q = s.qbuf[:0]
	s.ownLink.down = s
	s.link = &s.ownLink
	s.sendWin = c.peerInitWin
	s.recvWin = int64(c.cfg.StreamWindow)
	c.streams[id] = s
	c.active++
	if id > c.maxPeerID {
		c.maxPeerID = id
	}
	return s
}

// resetCode maps an HTTP/2 reset to the gRPC status a client would see.
func resetCode(code http2.ErrCode) codes.Code {
	switch code {
	case http2.ErrCodeCancel:
		return codes.Canceled
	case http2.ErrCodeRefusedStream:
		return codes.Unavailable
	case http2.ErrCodeEnhanceYourCalm:
		return codes.ResourceExhausted
	case http2.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	}
	return codes.Internal
}

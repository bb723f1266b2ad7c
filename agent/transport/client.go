package transport

import (
	"fmt"

	"golang.org/x/net/http2"
)

// onResponseHeaders handles a header block from the upstream server: the
// response headers, or the trailers that end the call.
func (c *Conn) onResponseHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		idle := c.isIdleLocked(id)
		c.mu.Unlock()
		if idle {
			return errConn(http2.ErrCodeProtocol, fmt.Sprintf("HEADERS on idle stream %d", id))
		}
		return nil // a stream reset or given up here
	}
	if s.recvEnd || (s.gotResp && !f.StreamEnded()) || f.Truncated {
		c.mu.Unlock()
		code := http2.ErrCodeProtocol
		if s.recvEnd {
			code = http2.ErrCodeStreamClosed
		}
		c.resetByUs(id, code)
		return nil
	}
	if !s.gotResp {
		s.gotResp = true
		c.dropReplay(s)
	}
	end := f.StreamEnded()
	c.markRecvEnd(s, end)
	c.mu.Unlock()
	fields := f.Fields // a list of its own for every block (headerBlock.finish)
	if end {
		s.code = grpcStatus(fields)
	}
	s.forwardVia(item{kind: itemHeaders, fields: fields, end: end}, c)
	if end {
		s.finish(Result{Code: s.code})
	}
	return nil
}

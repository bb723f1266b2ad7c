package transport

import (
	"fmt"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

// lingerFactor bounds, as a multiple of MaxConcurrentStreams, the upstream
// halves a client connection may leave behind by resetting its streams
// before they end upstream. Past one multiple new streams are refused;
// past lingerFactor the client is rapid-resetting (CVE-2023-44487) and its
// connection is closed with ENHANCE_YOUR_CALM.
const lingerFactor = 4

// onRequestHeaders handles a header block from the local client: a new
// request, or a second block on an open stream.
func (c *Conn) onRequestHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return errConn(http2.ErrCodeProtocol, fmt.Sprintf("HEADERS on even stream %d", id))
	}
	c.mu.Lock()
	if s := c.streams[id]; s != nil {
		c.mu.Unlock()
		c.onRequestTrailers(s, f)
		return nil
	}
	if id <= c.maxPeerID {
		found, byUs := c.resets.lookup(id)
		c.mu.Unlock()
		switch {
		case found && byUs: // in flight when the stream was reset here
		case found:
			c.resetByUs(id, http2.ErrCodeStreamClosed)
		default:
			return errConn(http2.ErrCodeStreamClosed, fmt.Sprintf("HEADERS on closed stream %d", id))
		}
		return nil
	}
	c.maxPeerID = id
	refuse := c.admitLocked()
	c.mu.Unlock()
	if refuse != 0 {
		if refuse == http2.ErrCodeEnhanceYourCalm {
			return errConn(refuse, "too many streams reset before they ended upstream")
		}
		c.resetByUs(id, refuse)
		return nil
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.resetByUs(id, http2.ErrCodeProtocol)
		return nil
	}
	if err := checkRequest(f.Fields); err != nil {
		c.resetByUs(id, http2.ErrCodeProtocol)
		return nil
	}
	// Every header block has a field list of its own (headerBlock.finish),
	// so it is kept without a copy.
	end := f.StreamEnded()
	c.mu.Lock()
	s := c.newDownstream(id, f.Fields, end)
	c.mu.Unlock()
	if f.Truncated {
		s.Reject(codes.ResourceExhausted, fmt.Sprintf("request header list exceeds %d bytes", c.cfg.MaxHeaderListSize))
		return nil
	}
	s.serving = true
	c.handler.ServeStream(s)
	s.serving = false
	return nil
}

// admitLocked decides whether a new stream may open: it returns 0, or the
// code to refuse it with.
func (c *Conn) admitLocked() http2.ErrCode {
	limit := int(c.cfg.MaxConcurrentStreams)
	lingering := int(c.upOpen.Load()) - c.active
	switch {
	case c.goAwaySent, c.active >= limit:
		return http2.ErrCodeRefusedStream
	case lingering >= lingerFactor*limit:
		return http2.ErrCodeEnhanceYourCalm
	case lingering >= limit:
		return http2.ErrCodeRefusedStream
	}
	return 0
}

// onRequestTrailers handles a header block on an open request stream. A
// gRPC request has no trailers, and a server may answer one with a
// connection error that would end every call sharing its connection, so
// the block is never forwarded: the stream alone fails.
func (c *Conn) onRequestTrailers(s *Stream, f *http2.MetaHeadersFrame) {
	c.mu.Lock()
	recvEnd := s.recvEnd
	c.markRecvEnd(s, f.StreamEnded())
	c.mu.Unlock()
	switch {
	case recvEnd:
		c.resetByUs(s.id, http2.ErrCodeStreamClosed)
	case !f.StreamEnded(), hasPseudo(f.Fields):
		c.resetByUs(s.id, http2.ErrCodeProtocol)
	default:
		s.Reject(codes.Internal, "roundabout: gRPC requests carry no trailers")
	}
}

func hasPseudo(fields []hpack.HeaderField) bool {
	for _, hf := range fields {
		if strings.HasPrefix(hf.Name, ":") {
			return true
		}
	}
	return false
}

// connectionHeaders are the HTTP/1 connection-specific fields HTTP/2
// forbids (RFC 9113, 8.2.2).
var connectionHeaders = map[string]bool{
	"connection": true, "proxy-connection": true, "keep-alive": true,
	"transfer-encoding": true, "upgrade": true,
}

// checkRequest checks what the framer does not: the request pseudo-header
// fields RFC 9113 requires, and no connection-specific fields. The framer
// already rejected unknown, duplicate and misplaced pseudo-header fields.
func checkRequest(fields []hpack.HeaderField) error {
	var method, scheme, path bool
	for _, f := range fields {
		switch f.Name {
		case ":method":
			method = true
		case ":scheme":
			scheme = true
		case ":path":
			if f.Value == "" {
				return fmt.Errorf("empty :path")
			}
			path = true
		case ":status":
			return fmt.Errorf("response pseudo-header field :status in a request")
		case "te":
			if f.Value != "trailers" {
				return fmt.Errorf("te: %q, only \"trailers\" is allowed", f.Value)
			}
		default:
			if connectionHeaders[f.Name] {
				return fmt.Errorf("connection-specific header field %q", f.Name)
			}
		}
	}
	if !method || !scheme || !path {
		return fmt.Errorf("missing one of :method, :scheme and :path")
	}
	return nil
}

// Reject answers a request stream with a gRPC status without forwarding
// anything more of it: its upstream half, if any, is cancelled, and the
// client is asked to stop sending with RST_STREAM NO_ERROR.
func (down *Stream) Reject(code codes.Code, msg string) {
	down.Fail(code, msg)
	c := down.conn
	c.mu.Lock()
	stop := !down.recvEnd && !down.closed
	c.mu.Unlock()
	if stop {
		c.push(down, item{kind: itemReset, code: http2.ErrCodeNo})
	}
	down.forward(item{kind: itemReset, code: http2.ErrCodeCancel, local: true})
}

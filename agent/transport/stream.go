package transport

import (
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/codes"
)

type itemKind uint8

const (
	itemHeaders itemKind = iota
	itemData
	itemReset
)

// item is one unit queued for a stream's writer: a header block, a chunk of
// DATA or a reset. Items of one stream are written in order.
type item struct {
	kind   itemKind
	end    bool
	fields []hpack.HeaderField
	buf    *[]byte // pooled storage behind data; nil for synthesized items
	data   []byte  // the part not yet written
	pad    uint32  // flow-controlled bytes beyond data, credited with the last chunk
	code   http2.ErrCode
	local  bool    // a reset decided by the agent, not sent by a peer
	src    *Stream // stream whose receive window is credited when data is written
}

func (it *item) release() {
	releaseFrame(it.buf)
	it.buf = nil
}

// Result is how the upstream half of a call ended.
type Result struct {
	// Code is the gRPC status the server sent, or the status implied by a
	// reset or a transport failure.
	Code codes.Code
	// Err is the transport failure, if any; nil when the server answered.
	Err error
	// Retryable reports that the server provably never processed the
	// request and that every request byte is still held, so the request may
	// be sent again on another connection with Stream.Relink.
	Retryable bool
	// Responded reports, for a stream reset by either side, that the
	// server's response headers had arrived: a call the server had begun
	// answering rather than one it never answered.
	Responded bool
	// Rejected reports that the agent itself ended the upstream half,
	// because the client broke the protocol on its stream: the result says
	// nothing about the endpoint.
	Rejected bool
}

// Observer follows the upstream half of one call.
type Observer interface {
	// Done is called exactly once, without locks held, when the upstream
	// half ends. When res.Retryable is true the observer may move the call
	// elsewhere with Relink and return true; otherwise the transport answers
	// the client with an error status derived from res.
	Done(res Result) (relinked bool)
}

// link joins the two halves of a proxied call. The upstream half changes
// only on Relink, under mu.
type link struct {
	mu   sync.Mutex
	down *Stream
	up   *Stream
}

// Stream is one half of a proxied call: a request stream accepted from the
// client, or the stream opened for it on an upstream connection.
type Stream struct {
	conn *Conn
	id   uint32
	link *link
	// fields holds the request header block: received from the client on
	// the downstream half, sent (and kept for replay) on the upstream half.
	fields []hpack.HeaderField
	// headersEnd reports that the request header block ended the request.
	headersEnd bool
	// serving is set, on a downstream half, while the reader goroutine runs
	// Handler.ServeStream for it.
	serving bool

	// ownLink is the link of a downstream half, allocated with it.
	ownLink link
	// qbuf backs q for the few items most calls queue: headers, a message
	// and trailers.
	qbuf [3]item

	// The fields below are guarded by conn.mu.
	q        []item
	queued   bool // on conn.ready
	blocked  bool // waiting for a stream WINDOW_UPDATE
	sendWin  int64
	recvWin  int64
	unacked  uint32 // written onward but not yet returned to the sender
	opened   bool   // upstream: HEADERS written and an ID assigned
	sentEnd  bool
	recvEnd  bool
	closed   bool
	started  bool // downstream: response headers queued
	parked   bool // upstream: ended as retryable, holding items for Relink
	gotResp  bool // upstream: response headers received
	replay   []item
	replayN  int
	noReplay bool

	// Upstream only; touched by the reader goroutine and Relink.
	obs      Observer
	doneOnce sync.Once
	code     codes.Code
	result   Result // set under conn.mu for the writer to report
}

// Header returns the value of the first request header named name, which
// must be lower case.
func (s *Stream) Header(name string) (string, bool) {
	for _, f := range s.fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

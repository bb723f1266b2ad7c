package transport

import (
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
)

// ctrlQueue holds the control frames owed to the peer, written before any
// stream's frames. It is bounded by count: a peer that provokes frames
// faster than it reads them fills it, and the connection is then closed
// with GOAWAY ENHANCE_YOUR_CALM instead of growing.
type ctrlQueue struct {
	max      int // maxQueuedControlFrames; smaller in tests
	ops      []writeOp
	overflow atomic.Bool // more than maxQueuedControlFrames were owed at once
}

// queueCtrlLocked is the one way a control frame is queued, but for the
// GOAWAY of protocolFail, which is appended past the bound so that the peer
// is told why the connection ends. c.mu is held.
func (c *Conn) queueCtrlLocked(op writeOp) {
	if len(c.ctrl.ops) >= c.ctrl.max {
		c.ctrl.overflow.Store(true)
		return
	}
	c.ctrl.ops = append(c.ctrl.ops, op)
}

// queueCtrl queues a control frame and wakes the writer.
func (c *Conn) queueCtrl(op writeOp) {
	c.mu.Lock()
	c.queueCtrlLocked(op)
	c.mu.Unlock()
	c.wake()
}

// overflowed reports that the peer let too many control frames pile up.
func (c *Conn) overflowed() bool { return c.ctrl.overflow.Load() }

// resetRing remembers the last streams closed by RST_STREAM and who sent
// it, so that frames still in flight for them are told apart from frames
// on streams that ended normally.
type resetRing struct {
	ids  [32]uint32
	byUs [32]bool
	next int
}

func (r *resetRing) add(id uint32, byUs bool) {
	r.ids[r.next], r.byUs[r.next] = id, byUs
	r.next = (r.next + 1) % len(r.ids)
}

// lookup reports whether id was reset recently, and whether by this side.
func (r *resetRing) lookup(id uint32) (found, byUs bool) {
	for i, v := range r.ids {
		if v == id && id != 0 {
			return true, r.byUs[i]
		}
	}
	return false, false
}

// protocolFail ends the connection for err. A protocol error is told to
// the peer with GOAWAY first; the connection closes once that is written,
// or after goAwayTimeout if the peer does not read.
func (c *Conn) protocolFail(err error) {
	var ce http2.ConnectionError
	if !errors.As(err, &ce) {
		c.fail(err)
		return
	}
	c.mu.Lock()
	if c.closed || !c.started {
		c.mu.Unlock()
		c.fail(err)
		return
	}
	c.ctrl.ops = append(c.ctrl.ops, writeOp{typ: http2.FrameGoAway, streamID: c.maxPeerID, code: http2.ErrCode(ce),
		debug: []byte(err.Error())})
	c.goAwaySent = true
	c.closing = true
	c.aborting = true
	c.mu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(goAwayTimeout))
	c.log.Info("closing connection: protocol error", zap.Stringer("remote", c.nc.RemoteAddr()),
		zap.Stringer("code", http2.ErrCode(ce)), zap.Error(err))
	c.wake()
}

// connError is a connection error with a reason for the log and GOAWAY.
type connError struct {
	code   http2.ErrCode
	reason string
}

func (e connError) Error() string { return e.reason }

// As lets errors.As see a connError as the http2.ConnectionError it is.
func (e connError) As(target any) bool {
	if p, ok := target.(*http2.ConnectionError); ok {
		*p = http2.ConnectionError(e.code)
		return true
	}
	return false
}

func errConn(code http2.ErrCode, reason string) error { return connError{code, reason} }

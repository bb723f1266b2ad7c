package transport

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// pingAckDelay is how long the acknowledgement of a PING waits for other
// frames to the same peer to go with it, before it is sent alone: by the
// next reader about to wait for its socket, or by ackFlusher's timer, so
// at most ackSweep later.
//
// gRPC peers send a PING (BDP estimation) whenever DATA reaches them and no
// PING of theirs is outstanding: a client after each response, a server
// after each request. Answered at once, each costs a write of its own, and
// on loopback a write wakes the peer, which is most of what the write
// costs. On a connection that writes often, the acknowledgement waits
// instead in the control queue, ahead of anything else, and leaves with
// the next frames written to that peer. A connection that writes less
// often than every pingAckDelay answers at once, since waiting would cost
// it a wake-up of its own. Keepalive timeouts are seconds, so the delay
// changes nothing for a peer that checks liveness.
const pingAckDelay = 10 * time.Millisecond

// pingAcks is the state of a Conn's delayed PING acknowledgements.
type pingAcks struct {
	// last and gap are written by whoever writes to the socket (wmu held)
	// and read by the reader goroutine: the time of the last write, and a
	// moving average of the time between writes, in nanoseconds since
	// clockBase. gap starts above pingAckDelay, so that a new connection
	// answers at once until it has written often.
	last atomic.Int64
	gap  atomic.Int64

	// Guarded by Conn.mu: an acknowledgement waits in the control queue,
	// since that time.
	waiting bool
	since   int64

	listed bool // in ackFlusher.conns; guarded by ackFlusher
}

// clockBase is the origin of pingAcks' times, so that they are monotonic.
var clockBase = time.Now()

func monoNow() int64 { return int64(time.Since(clockBase)) }

// wrote records a write to the socket at now. Called with wmu held.
func (a *pingAcks) wrote(now int64) {
	last := a.last.Swap(now)
	if last == 0 {
		a.gap.Store(2 * int64(pingAckDelay))
		return
	}
	a.gap.Store((7*a.gap.Load() + now - last) / 8)
}

// writesOften reports whether the connection wrote within the last
// pingAckDelay and has been writing more often than every pingAckDelay.
func (a *pingAcks) writesOften(now int64) bool {
	last := a.last.Load()
	return last != 0 && a.gap.Load() < int64(pingAckDelay) && now-last < int64(pingAckDelay)
}

// onPing answers a PING from the peer. It is called by the reader.
func (c *Conn) onPing(f *http2.PingFrame) {
	if f.IsAck() {
		select {
		case c.pingAck <- struct{}{}:
		default:
		}
		return
	}
	now := monoNow()
	wait := c.acks.writesOften(now)
	c.mu.Lock()
	c.queueCtrlLocked(writeOp{typ: http2.FramePing, ack: true, ping: f.Data})
	if !wait || c.closed {
		c.mu.Unlock()
		c.later(c)
		return
	}
	first := !c.acks.waiting
	if first {
		c.acks.waiting, c.acks.since = true, now
	}
	c.mu.Unlock()
	if first {
		ackFlusher.list(c, now)
	}
}

// ackFlusher sends the acknowledgements that waited pingAckDelay, for
// every Conn. A reader about to wait for its socket looks first (poll) and
// writes those that are due itself, as it writes what it relayed; at a
// sidecar's rates some reader does so within a millisecond of the
// deadline. The timer is the fallback for a process that went quiet: it
// fires every ackSweep while acknowledgements wait. It is not a timer per
// acknowledgement because the runtime wakes the process at every deadline
// a timer had, even one stopped or moved since, and those wake-ups cost
// what the writes saved.
var ackFlusher flusher

// ackSweep is the period of ackFlusher's timer.
const ackSweep = 5 * pingAckDelay

type flusher struct {
	// next is the earliest deadline of an acknowledgement that waits, in
	// monoNow's nanoseconds, or 0 when none waits.
	next atomic.Int64

	mu    sync.Mutex
	conns []*Conn // listed when an acknowledgement began to wait
	timer *time.Timer
	armed bool
}

// list adds c, whose acknowledgement began to wait at since.
func (f *flusher) list(c *Conn, since int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !c.acks.listed {
		c.acks.listed = true
		f.conns = append(f.conns, c)
	}
	if due := since + int64(pingAckDelay); f.next.Load() == 0 || due < f.next.Load() {
		f.next.Store(due)
	}
	if f.armed {
		return
	}
	f.armed = true
	if f.timer == nil {
		f.timer = time.AfterFunc(ackSweep, f.sweep)
	} else {
		f.timer.Reset(ackSweep)
	}
}

// unlist removes a Conn that failed, so that nothing touches it once
// Close returned.
func (f *flusher) unlist(c *Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !c.acks.listed {
		return
	}
	c.acks.listed = false
	if i := slices.Index(f.conns, c); i >= 0 {
		f.conns = slices.Delete(f.conns, i, i+1)
	}
}

// poll is called by the reader of via before it waits for its socket: the
// Conns with an acknowledgement due are written out with what via relayed
// (flushPending).
func (f *flusher) poll(via *Conn) {
	if next := f.next.Load(); next == 0 || monoNow() < next {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushLocked(via)
}

// sweep is the timer's: it has the writers send what is due, and runs
// again while acknowledgements wait.
func (f *flusher) sweep() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushLocked(nil)
	if len(f.conns) == 0 {
		f.armed = false
		return
	}
	f.timer.Reset(ackSweep)
}

// flushLocked hands every listed Conn whose acknowledgement waited
// pingAckDelay to its writer, through via's reader when via is set, drops
// the Conns with nothing waiting any more, and sets next for the rest.
func (f *flusher) flushLocked(via *Conn) {
	now := monoNow()
	next := int64(0)
	kept := f.conns[:0]
	for _, c := range f.conns {
		c.mu.Lock()
		waiting, since := c.acks.waiting, c.acks.since
		due := waiting && now-since >= int64(pingAckDelay)
		if due {
			c.acks.waiting = false
		}
		c.mu.Unlock()
		if due {
			c.wakeVia(via)
		}
		if !waiting || due {
			c.acks.listed = false
			continue
		}
		kept = append(kept, c)
		if d := since + int64(pingAckDelay); next == 0 || d < next {
			next = d
		}
	}
	clear(f.conns[len(kept):])
	f.conns = kept
	f.next.Store(next)
}

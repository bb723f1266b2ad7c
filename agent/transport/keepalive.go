package transport

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
)

// A client-role Conn checks that its server still answers with HTTP/2 PINGs
// of two kinds:
//
//   - a probe, once a request has waited ProbeAfter with no frame read on
//     the connection, answered within ProbeTimeout. It finds a server that
//     stopped (a frozen process, a dead node) within about two seconds, while
//     requests are still being sent to it;
//   - a keepalive PING, once a connection whose requests are all older than
//     the last answered PING has been quiet for KeepaliveTime, answered
//     within KeepaliveTimeout. It watches long-running calls.
//
// A PING that goes unanswered closes the connection with ErrPingTimeout.
// Idle connections are never pinged.
//
// gRPC servers limit how often a client may ping: grpc-go, grpc-java and
// gRPC core count a strike for every PING that arrives less than their
// minimum interval (5 minutes by default) after the previous one, forgive
// every strike once they have sent HEADERS or DATA, and send GOAWAY
// ENHANCE_YOUR_CALM "too_many_pings" after more than two strikes. A Conn
// therefore sends at most maxPingsWithoutData PINGs between two HEADERS or
// DATA frames read, and beyond that at most one per pingPolicyMinTime, so
// that a slow but live server is never made to close the connection.
const (
	// maxPingsWithoutData is how many PINGs may be sent after the last
	// HEADERS or DATA frame read. Every frame read was written before a
	// PING sent after reading it arrives, so the first PING the server
	// handles after that write clears its strikes, and the PINGs sent
	// since add at most this many.
	maxPingsWithoutData = 2
	// pingPolicyMinTime is the interval after which a PING adds no strike
	// under the servers' default policy, with a margin for delivery.
	pingPolicyMinTime = 5*time.Minute + 10*time.Second
	// minHealthTick bounds how often the health checks run.
	minHealthTick = 10 * time.Millisecond
)

// Errors reported by Probe and as the cause of a closed connection.
var (
	// ErrPingTimeout ends a connection whose server did not answer a PING
	// in time.
	ErrPingTimeout = errors.New("PING not answered")
	// ErrPingPolicy is returned by Probe when one more PING could make the
	// server close the connection for pinging too often.
	ErrPingPolicy = errors.New("no PING allowed until the server sends HEADERS or DATA")
)

// pingPayload is the opaque data of every PING this package sends.
var pingPayload = [8]byte{'r', 'o', 'u', 'n', 'd', 'a', 'b', 't'}

// health is the PING state of a client-role Conn.
type health struct {
	// streamFrame is set by the reader when a HEADERS or DATA frame
	// arrives and cleared when the PING budget is reset.
	streamFrame atomic.Bool

	// mu serialises PINGs, so that at most one is outstanding and its
	// acknowledgement is unambiguous, and guards the fields below.
	mu       sync.Mutex
	sent     int       // PINGs sent since the last HEADERS or DATA frame read
	lastSent time.Time // when the last PING was sent
	opened   uint32    // the connection's next stream ID when the last PING was sent
	answered time.Time // when the last PING was acknowledged

	// quietSince is when the health checks last saw a frame read or no
	// stream open. It is written by armHealthLocked while no check runs,
	// and by the checks, one at a time (Conn.healthBusy).
	quietSince time.Time
}

// saw is called by the reader for every frame read.
func (h *health) saw(f http2.Frame) {
	switch f.(type) {
	case *http2.DataFrame, *http2.HeadersFrame:
		if !h.streamFrame.Load() {
			h.streamFrame.Store(true)
		}
	}
}

// allowedLocked reports whether one more PING keeps within the server's
// ping policy. inFlight reports that the server has streams open, without
// which servers apply a far longer interval than pingPolicyMinTime.
func (h *health) allowedLocked(now time.Time, inFlight bool) bool {
	if h.streamFrame.Swap(false) {
		h.sent = 0
	}
	return h.sent < maxPingsWithoutData || (inFlight && now.Sub(h.lastSent) >= pingPolicyMinTime)
}

// healthTick is how often the health checks sample the connection.
func (c Config) healthTick() time.Duration {
	d := c.KeepaliveTime
	if c.ProbeAfter > 0 && (d == 0 || c.ProbeAfter < d) {
		d = c.ProbeAfter
	}
	return max(d/4, minHealthTick)
}

// The health checks of client-role Conns run on one timer per tick
// duration (healthGroup), which runs while such Conns exist, and not on a
// timer or goroutine per Conn: opening a stream only marks its Conn armed
// (armHealthLocked), so that the request path sets no timer, which would
// wake an idle processor of the scheduler for every first request of a
// quiet connection. Each tick starts a check (healthCheck) on a goroutine
// of the Conn for every armed Conn; a check disarms its Conn when it finds
// no stream open. An idle connection is never checked, and runs nothing.
var healthGroups = struct {
	sync.Mutex
	byTick map[time.Duration]*healthGroup
}{byTick: map[time.Duration]*healthGroup{}}

// healthGroup is the Conns whose health checks share one tick.
type healthGroup struct {
	tick  time.Duration
	mu    sync.Mutex
	conns map[*Conn]struct{}
	timer *time.Timer
}

// joinHealth adds a new client-role Conn to the group of its tick, before
// any goroutine of the Conn runs.
func (c *Conn) joinHealth() {
	if c.cfg.KeepaliveTime == 0 && c.cfg.ProbeAfter == 0 {
		return
	}
	tick := c.cfg.healthTick()
	healthGroups.Lock()
	defer healthGroups.Unlock()
	g := healthGroups.byTick[tick]
	if g == nil {
		g = &healthGroup{tick: tick, conns: map[*Conn]struct{}{}}
		g.timer = time.AfterFunc(tick, g.run)
		healthGroups.byTick[tick] = g
	}
	g.mu.Lock()
	g.conns[c] = struct{}{}
	g.mu.Unlock()
	c.healthGroup = g
}

// leaveHealth takes a Conn that failed out of its group, and ends the
// group with its last Conn.
func (c *Conn) leaveHealth() {
	g := c.healthGroup
	if g == nil {
		return
	}
	healthGroups.Lock()
	defer healthGroups.Unlock()
	g.mu.Lock()
	delete(g.conns, c)
	empty := len(g.conns) == 0
	g.mu.Unlock()
	if empty {
		g.timer.Stop()
		delete(healthGroups.byTick, g.tick)
	}
}

// run is one tick of a group: it starts the check of every armed Conn
// whose previous check has ended.
func (g *healthGroup) run() {
	var due []*Conn
	g.mu.Lock()
	if len(g.conns) == 0 {
		g.mu.Unlock()
		return
	}
	for c := range g.conns {
		if c.takeHealthTick() {
			due = append(due, c)
		}
	}
	g.timer.Reset(g.tick)
	g.mu.Unlock()
	for _, c := range due {
		c.spawn(c.healthCheck)
	}
}

// armHealthLocked marks a client-role Conn for health checks when a stream
// opens; c.mu is held.
func (c *Conn) armHealthLocked() {
	if c.healthArmed || c.healthGroup == nil {
		return
	}
	c.healthArmed = true
	// The connection was idle until now: it has been quiet for no time.
	c.health.quietSince = time.Now()
}

// takeHealthTick reports whether a check is due: the Conn is armed and its
// previous check ended.
func (c *Conn) takeHealthTick() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.healthArmed || c.healthBusy || c.closed {
		return false
	}
	c.healthBusy = true
	return true
}

// healthCheck is one tick of the health checks of a Conn: it sends a probe
// or a keepalive PING when the connection has been quiet long enough, and
// waits for its acknowledgement. It disarms the Conn when no stream is
// open.
func (c *Conn) healthCheck() {
	h := &c.health
	now := time.Now()
	inFlight, nextID := c.openStreams()
	if c.readAny.Swap(false) || inFlight == 0 {
		h.quietSince = now
	} else {
		c.checkHealth(now.Sub(h.quietSince), nextID, inFlight)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.healthBusy = false
	if c.active == 0 {
		c.healthArmed = false
	}
}

// openStreams returns the number of streams the server has been sent and
// the next stream ID, which grows with every stream opened.
func (c *Conn) openStreams() (int, uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active, c.nextID
}

// checkHealth sends a probe or keepalive PING when the connection has been
// quiet long enough for one and the ping policy allows it.
func (c *Conn) checkHealth(quiet time.Duration, nextID uint32, inFlight int) error {
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	// A probe is due for requests opened since the last PING, or when
	// HEADERS or DATA arrived since; otherwise a keepalive PING.
	kind, wait, timeout := "probe", c.cfg.ProbeAfter, c.cfg.ProbeTimeout
	if wait == 0 || (h.sent > 0 && h.opened == nextID && !h.streamFrame.Load()) {
		kind, wait, timeout = "keepalive", c.cfg.KeepaliveTime, c.cfg.KeepaliveTimeout
	}
	if wait == 0 || quiet < wait {
		return nil
	}
	now := time.Now()
	if !h.allowedLocked(now, true) {
		return ErrPingPolicy
	}
	return c.pingLocked(now, nextID, timeout, kind, inFlight)
}

// Probe checks that the server still answers: it sends a PING and waits up
// to ProbeTimeout for the acknowledgement, and closes the connection with
// ErrPingTimeout when none comes. A PING answered while Probe waited for
// another one to finish counts as the answer. Probe returns ErrPingPolicy,
// having sent nothing, when one more PING could make the server close the
// connection for pinging too often, and ErrClosed when the connection
// closed first.
func (c *Conn) Probe() error {
	asked := time.Now()
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.answered.After(asked) {
		return nil
	}
	if c.Err() != nil {
		return ErrClosed
	}
	inFlight, nextID := c.openStreams()
	now := time.Now()
	if !h.allowedLocked(now, inFlight > 0) {
		return ErrPingPolicy
	}
	return c.pingLocked(now, nextID, c.cfg.ProbeTimeout, "probe", inFlight)
}

// pingLocked sends one PING and waits up to timeout for its
// acknowledgement; health.mu must be held. It closes the connection when
// none comes.
func (c *Conn) pingLocked(now time.Time, nextID uint32, timeout time.Duration, kind string, inFlight int) error {
	h := &c.health
	select {
	case <-c.pingAck: // an acknowledgement no PING of ours asked for
	default:
	}
	h.sent++
	h.lastSent = now
	h.opened = nextID
	c.queueCtrl(writeOp{typ: http2.FramePing, ping: pingPayload})
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-c.pingAck:
		h.answered = time.Now()
		return nil
	case <-c.done:
		return ErrClosed
	case <-timer.C:
	}
	err := fmt.Errorf("%w within %v", ErrPingTimeout, timeout)
	c.log.Warn("upstream did not answer a PING; closing connection",
		zap.Stringer("remote", c.nc.RemoteAddr()), zap.String("ping", kind),
		zap.Duration("timeout", timeout), zap.Int("streams", inFlight))
	c.fail(err)
	return err
}

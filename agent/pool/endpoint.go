package pool

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/transport"
)

// Endpoint is one server of the upstream and its connection. Requests sent
// to it are accounted through Begin.
type Endpoint struct {
	// Addr is the endpoint's host:port.
	Addr string

	// load is read by the picker and updated by Attempt.
	load *balancer.Load
	// metrics is the endpoint's metrics; nil when metrics are off.
	metrics *metrics.Endpoint

	pool   *Pool
	log    *zap.Logger
	conn   atomic.Pointer[transport.Conn]
	ctx    context.Context
	cancel context.CancelFunc
	// retiring counts the goroutines of connections that went away and
	// still finish their streams; run waits for them.
	retiring sync.WaitGroup

	requests atomic.Int64
	failed   atomic.Int64
	// dialled is set once the first connection attempt has ended: the
	// connection is in the picker, or the attempt failed.
	dialled atomic.Bool
	// wave is the dial wave the endpoint was added in, if any; set before
	// run starts.
	wave *dialWave

	mu           sync.Mutex
	removed      bool
	failures     int
	ejections    int
	ejected      bool      // out of rotation until a probe is answered
	ejectedUntil time.Time // when the current ejection's backoff ends
	probing      bool      // a re-admission probe is running
	healthySince time.Time // when the last ejection ended, or a backoff step was earned back
}

func newEndpoint(p *Pool, addr string) *Endpoint {
	ctx, cancel := context.WithCancel(context.Background())
	return &Endpoint{Addr: addr, load: balancer.NewLoad(balancer.DefaultDecay),
		metrics: p.cfg.Metrics.Endpoint(addr), pool: p,
		log: p.log.With(zap.String("endpoint", addr)), ctx: ctx, cancel: cancel}
}

// state is the endpoint's state.
func (e *Endpoint) state() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.removed:
		return StateDraining
	case e.ejected:
		return StateEjected
	case e.conn.Load() == nil:
		return StateConnecting
	}
	return StateReady
}

// run keeps one connection to the endpoint open until it is removed. A
// connection that ends is replaced at once; a failed attempt is retried
// after backoffDelay, which grows with each consecutive failure.
// It returns once every connection it opened is closed.
//
// A run of failures is logged once, at its first attempt; the attempts
// after it are logged at debug level only, and the next line is the
// connection's. The first EjectFailures failures of a run count towards
// ejection, which then has decided (ejected, or refused because too many
// endpoints are out already); further failures would only repeat that
// decision and its log line.
func (e *Endpoint) run() {
	defer e.retiring.Wait()
	failures := 0
	for e.ctx.Err() == nil {
		c, away, err := e.connect()
		if err != nil {
			if e.ctx.Err() != nil {
				return // removed while dialling
			}
			d := backoffDelay(e.pool.cfg.BackoffBase, e.pool.cfg.BackoffMax, failures, jitterSource)
			failures++
			if failures == 1 {
				e.log.Warn("endpoint connect failed; retrying with backoff", zap.Error(err), zap.Duration("retry_in", d))
			} else {
				e.log.Debug("endpoint connect failed again", zap.Error(err), zap.Int("failures", failures),
					zap.Duration("retry_in", d))
			}
			if failures <= e.pool.cfg.EjectFailures {
				e.connFailed()
			}
			e.attempted()
			e.sleep(d)
			continue
		}
		failures = 0
		e.serve(c, away)
	}
}

// maxRetryTick bounds the grid retries are due on: a retry waits until the
// first tick at or after the end of its delay, so that the endpoints whose
// retries fall due within one tick are dialled together, in one wake-up of
// the process, instead of one each. A thousand unreachable endpoints then
// cost a few wake-ups a second. The tick is a quarter of the first delay at
// most (250 ms for the default 1 s), so a retry comes at most that much
// later than backoffDelay says. The grid's phase is random per process, so
// the agents of many pods still spread their retries over time.
const maxRetryTick = 250 * time.Millisecond

// retryPhase places this process's retry grid.
var retryPhase = rand.Float64()

// retryAfter is how long a retry due after d waits from now: d, rounded up
// to the next tick of a grid of period tick.
func retryAfter(now time.Time, d, tick time.Duration) time.Duration {
	if tick <= 0 {
		return d
	}
	due := now.Add(d).UnixNano() - int64(retryPhase*float64(tick))
	if r := due % int64(tick); r != 0 {
		d += tick - time.Duration(r)
	}
	return d
}

func (e *Endpoint) sleep(d time.Duration) {
	tick := min(maxRetryTick, e.pool.cfg.BackoffBase/4, e.pool.cfg.BackoffMax/4)
	t := time.NewTimer(retryAfter(time.Now(), d, tick))
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.ctx.Done():
	}
}

// connect dials the endpoint and waits for the server's SETTINGS. away is
// closed when the connection goes away.
func (e *Endpoint) connect() (c *transport.Conn, away <-chan struct{}, err error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.pool.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return nil, nil, err
	}
	l := &link{e: e, ready: make(chan struct{}), away: make(chan struct{})}
	c, err = transport.NewClientConn(nc, e.pool.cfg.Transport, transport.Events{Ready: l.onReady, GoAway: l.onGoAway})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	l.conn.Store(c)
	select {
	case <-l.ready:
		return c, l.away, nil
	case <-c.Done():
		c.Close()
		return nil, nil, c.Err()
	case <-ctx.Done():
		c.Close()
		return nil, nil, ctx.Err()
	}
}

// link is one connection of an endpoint as its transport callbacks see it.
// The callbacks run on the connection's reader goroutine: they only signal
// and take the connection out of rotation, never log or block, and do
// nothing once the endpoint is stopping, so that a late event cannot act on
// a pool that was closed.
type link struct {
	e     *Endpoint
	conn  atomic.Pointer[transport.Conn] // set once the connection exists
	ready chan struct{}
	away  chan struct{}
	once  sync.Once
}

func (l *link) onReady() { close(l.ready) }

// onGoAway takes a connection the server is closing out of rotation at
// once; serve retires it, and run dials a replacement. An event that
// arrives before the connection is published is left to serve.
func (l *link) onGoAway(http2.ErrCode, string) {
	l.once.Do(func() { close(l.away) })
	if l.e.ctx.Err() != nil {
		return
	}
	if c := l.conn.Load(); c != nil && l.e.conn.CompareAndSwap(c, nil) {
		l.e.pool.publish()
	}
}

// serve publishes c until it closes, goes away or the endpoint is removed.
// It returns with c closed, except when c went away: its open streams then
// finish on it in a goroutine of its own while run dials a replacement.
func (e *Endpoint) serve(c *transport.Conn, away <-chan struct{}) {
	e.conn.Store(c)
	e.succeeded()
	e.log.Info("endpoint connected")
	e.pool.publish()
	e.attempted()
	e.readmit()
	select {
	case <-c.Done():
		e.connDead(c.Err())
		if e.conn.CompareAndSwap(c, nil) {
			e.log.Warn("endpoint connection lost", zap.Error(c.Err()))
			e.pool.publish()
		}
		c.Close()
	case <-away:
		if e.conn.CompareAndSwap(c, nil) {
			e.pool.publish()
		}
		e.log.Info("endpoint connection going away; reconnecting")
		e.retiring.Go(func() { e.retire(c) })
	case <-e.ctx.Done():
		e.drain(c)
	}
}

// retire waits for the streams of a connection that went away to end, and
// closes it; if the endpoint is removed meanwhile, the connection drains.
func (e *Endpoint) retire(c *transport.Conn) {
	select {
	case <-c.Done():
		c.Close()
	case <-e.ctx.Done():
		e.drain(c)
	}
}

// renew retires c so that a new connection replaces it: c takes no new
// request and closes once its streams end, and run then dials again.
func (e *Endpoint) renew(c *transport.Conn) {
	if !e.conn.CompareAndSwap(c, nil) {
		return
	}
	e.log.Info("endpoint connection renewed: the server allows no PING on it before it sends data")
	e.pool.publish()
	c.GoAway()
}

// drain lets the streams of a removed endpoint finish within the drain
// timeout, or until the pool's Close runs out of time, then closes the
// connection.
func (e *Endpoint) drain(c *transport.Conn) {
	e.conn.CompareAndSwap(c, nil)
	c.GoAway()
	t := time.NewTimer(e.pool.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-c.Done():
	case <-t.C:
		e.log.Warn("drain timeout; closing connection with streams in flight", zap.Int("streams", c.Active()))
	case <-e.pool.abort:
		if n := c.Active(); n > 0 {
			e.log.Warn("pool closed before the drain ended; closing connection with streams in flight",
				zap.Int("streams", n))
		}
	}
	c.Close()
}

// remove stops reconnecting; the current connection drains.
func (e *Endpoint) remove() {
	e.mu.Lock()
	e.removed = true
	e.mu.Unlock()
	e.cancel()
}

// attempted records that a connection attempt ended, and ends the
// endpoint's dial wave when it was the wave's last first attempt.
func (e *Endpoint) attempted() {
	if !e.dialled.CompareAndSwap(false, true) || e.wave == nil {
		return
	}
	if e.wave.left.Add(-1) == 0 && e.ctx.Err() == nil {
		e.pool.cfg.DialWaveEnded(e.wave.n)
	}
}

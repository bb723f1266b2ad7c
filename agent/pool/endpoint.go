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

// Endpoint is one server of the upstream and its connection.
type Endpoint struct {
	// Addr is the endpoint's host:port.
	Addr string
	// Load is read by the picker and updated by the proxy.
	Load *balancer.Load
	// Metrics is the endpoint's metrics; nil when metrics are off.
	Metrics *metrics.Endpoint

	pool   *Pool
	log    *zap.Logger
	conn   atomic.Pointer[transport.Conn]
	ctx    context.Context
	cancel context.CancelFunc
	goaway chan struct{}

	requests atomic.Int64
	failed   atomic.Int64

	mu           sync.Mutex
	removed      bool
	failures     int
	ejections    int
	ejectedUntil time.Time
	healthySince time.Time // when the last ejection ended, or a backoff step was earned back
}

func newEndpoint(p *Pool, addr string) *Endpoint {
	ctx, cancel := context.WithCancel(context.Background())
	e := &Endpoint{Addr: addr, Load: balancer.NewLoad(balancer.DefaultDecay), pool: p,
		log: p.log.With(zap.String("endpoint", addr)), ctx: ctx, cancel: cancel, goaway: make(chan struct{}, 1)}
	if p.cfg.Metrics != nil {
		e.Metrics = p.cfg.Metrics.Endpoint(addr)
	}
	return e
}

// state is the endpoint's state as exported in metrics.
func (e *Endpoint) state() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.removed:
		return metrics.StateDraining
	case time.Now().Before(e.ejectedUntil):
		return metrics.StateEjected
	case e.conn.Load() == nil:
		return metrics.StateConnecting
	}
	return metrics.StateReady
}

// run keeps one connection to the endpoint open until it is removed,
// reconnecting with jittered exponential backoff.
func (e *Endpoint) run() {
	backoff := e.pool.cfg.BackoffBase
	for e.ctx.Err() == nil {
		c, err := e.connect()
		if err != nil {
			e.log.Debug("connect failed", zap.Error(err), zap.Duration("retry_in", backoff))
			e.connFailed()
			e.sleep(backoff)
			backoff = min(backoff*2, e.pool.cfg.BackoffMax)
			continue
		}
		backoff = e.pool.cfg.BackoffBase
		e.serve(c)
	}
}

func (e *Endpoint) sleep(d time.Duration) {
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.ctx.Done():
	}
}

// connect dials the endpoint and waits for the server's SETTINGS.
func (e *Endpoint) connect() (*transport.Conn, error) {
	ctx, cancel := context.WithTimeout(e.ctx, e.pool.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", e.Addr)
	if err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	ev := transport.Events{Ready: func() { close(ready) }, GoAway: e.goAway}
	c, err := transport.NewClientConn(nc, e.pool.cfg.Transport, ev)
	if err != nil {
		return nil, err
	}
	select {
	case <-ready:
		return c, nil
	case <-c.Done():
		return nil, c.Err()
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// serve publishes c until it closes, goes away or the endpoint is removed.
func (e *Endpoint) serve(c *transport.Conn) {
	select {
	case <-e.goaway:
	default:
	}
	e.conn.Store(c)
	e.succeeded()
	e.log.Info("endpoint connected")
	e.pool.publish()
	select {
	case <-c.Done():
		if e.conn.CompareAndSwap(c, nil) {
			e.log.Warn("endpoint connection lost", zap.Error(c.Err()))
			e.pool.publish()
		}
	case <-e.goaway:
	case <-e.ctx.Done():
		e.drain(c)
	}
}

// goAway takes a connection the server is closing out of rotation; its open
// streams finish on it while run dials a replacement.
func (e *Endpoint) goAway(http2.ErrCode, string) {
	if c := e.conn.Swap(nil); c != nil {
		e.log.Info("endpoint connection going away; reconnecting")
		e.pool.publish()
		select {
		case e.goaway <- struct{}{}:
		default:
		}
	}
}

// drain lets the streams of a removed endpoint finish within the drain
// timeout, then closes the connection.
func (e *Endpoint) drain(c *transport.Conn) {
	e.conn.CompareAndSwap(c, nil)
	c.GoAway()
	t := time.NewTimer(e.pool.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-c.Done():
	case <-t.C:
		e.log.Warn("drain timeout; closing connection with streams in flight", zap.Int("streams", c.Active()))
		c.Close()
	}
}

// remove stops reconnecting; the current connection drains.
func (e *Endpoint) remove() {
	e.mu.Lock()
	e.removed = true
	e.mu.Unlock()
	e.cancel()
}

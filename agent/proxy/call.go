package proxy

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/transport"
)

// call is one request stream on its way through the proxy. It observes the
// upstream half and retries attempts the server provably never processed.
type call struct {
	p        *Proxy
	down     *transport.Stream
	info     balancer.PickInfo
	att      pool.Attempt // the current attempt's accounting
	began    time.Time    // when the first attempt was picked
	attempts int
}

// ServeStream sends a new request stream to an endpoint, or answers it with
// UNAVAILABLE when no endpoint can take it.
func (p *Proxy) ServeStream(s *transport.Stream) {
	c := &call{p: p, down: s}
	if h := *p.hashHeader.Load(); h != "" {
		c.info.HashKey, c.info.HasHashKey = s.Header(h)
	}
	if c.send(c.open) == nil {
		c.failNoEndpoint()
	}
}

// send is where a request is picked, for its first attempt and for every
// retry: it picks an endpoint, begins the attempt's accounting and hands
// the request to the endpoint's connection with link (open or relink). An
// attempt whose connection closed before link is cancelled, and the next
// endpoint is tried, up to MaxAttempts in all. send returns the endpoint
// the request was handed to, whose result then comes to Done, or nil.
func (c *call) send(link func(*transport.Conn) error) *pool.Endpoint {
	for c.attempts < c.p.cfg.MaxAttempts {
		ep, conn, err := c.p.pool.Pick(c.info)
		if err != nil {
			return nil
		}
		// The first attempt's Begin reads the clock for the call as well
		// (c.began is zero until then), so that a call reads it once to
		// begin and once to end.
		c.att = ep.Begin(c.began)
		if c.attempts == 0 {
			c.began = c.att.Began()
		}
		c.attempts++
		if link(conn) == nil {
			return ep
		}
		c.att.Cancel()
	}
	return nil
}

// open links the request stream to conn for its first attempt.
func (c *call) open(conn *transport.Conn) error { return conn.Open(c.down, c) }

// relink moves the request stream to conn for a retry.
func (c *call) relink(conn *transport.Conn) error { return c.down.Relink(conn, c) }

func (c *call) failNoEndpoint() {
	c.p.pool.Metrics().NoEndpoint()
	path, _ := c.down.Header(":path")
	c.p.log.Debug("request failed: no usable endpoint", zap.String("path", path))
	c.down.Fail(codes.Unavailable, fmt.Sprintf("roundabout: no usable endpoint for upstream %q", c.p.cfg.Upstream))
}

// Done is where the outcome of an attempt is accounted, once, with the
// attempt's End; when the server never saw the request, it is first sent
// again elsewhere, so that End knows whether the call went on.
func (c *call) Done(res transport.Result) bool {
	// A retry begins a new attempt in c.att, and once it is linked its
	// Done may run at any time: the attempt that ended is taken out first.
	att := c.att
	c.att = pool.Attempt{}
	res.Code = c.status(res.Code)
	if c.p.log.Core().Enabled(zap.DebugLevel) {
		c.logDone(&att, res, time.Since(att.Began()))
	}
	retried := res.Retryable && c.retry()
	att.End(res, retried)
	return retried
}

// status is the status the client sees for an attempt that ended with
// code. A reset ends a call as CANCELLED, but when it came once the
// client's deadline had passed (a gRPC client resets its call then, as a
// gRPC server does when the propagated deadline passes) the client sees
// DEADLINE_EXCEEDED. Only that case reads the clock.
func (c *call) status(code codes.Code) codes.Code {
	if code != codes.Canceled {
		return code
	}
	v, ok := c.down.Header("grpc-timeout")
	if !ok {
		return code
	}
	timeout, ok := parseTimeout(v)
	if !ok || time.Since(c.began) < timeout-deadlineSlack(timeout) {
		return code
	}
	return codes.DeadlineExceeded
}

// retry sends the request, which the server provably never processed, to
// the endpoint send picks next.
func (c *call) retry() bool {
	ep := c.send(c.relink)
	if ep == nil {
		return false
	}
	c.p.log.Debug("request retried on another endpoint", zap.String("endpoint", ep.Addr))
	return true
}

func (c *call) logDone(att *pool.Attempt, res transport.Result, rtt time.Duration) {
	path, _ := c.down.Header(":path")
	c.p.log.Debug("request done", zap.String("path", path), zap.String("endpoint", att.Endpoint().Addr),
		zap.Stringer("code", res.Code), zap.Duration("duration", rtt), zap.Error(res.Err),
		zap.Bool("retryable", res.Retryable))
}

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
	ep       *pool.Endpoint
	began    time.Time // when the first attempt was picked
	start    time.Time // when the current attempt was picked
	attempts int
}

// ServeStream picks an endpoint for a new request stream and links the
// stream to that endpoint's connection.
func (p *Proxy) ServeStream(s *transport.Stream) {
	c := &call{p: p, down: s}
	if h := *p.hashHeader.Load(); h != "" {
		c.info.HashKey, c.info.HasHashKey = s.Header(h)
	}
	for c.attempts < p.cfg.MaxAttempts {
		ep, conn, err := c.pick()
		if err != nil {
			c.failNoEndpoint()
			return
		}
		if conn.Open(s, c) == nil {
			return
		}
		c.abandon(ep)
	}
	c.failNoEndpoint()
}

// pick chooses the next attempt's endpoint and starts accounting for it.
func (c *call) pick() (*pool.Endpoint, *transport.Conn, error) {
	ep, conn, err := c.p.pool.Pick(c.info)
	if err != nil {
		return nil, nil, err
	}
	c.attempts++
	c.ep = ep
	c.start = time.Now()
	if c.attempts == 1 {
		c.began = c.start
	}
	ep.Load.Begin()
	if ep.Metrics != nil {
		ep.Metrics.Begin()
	}
	return ep, conn, nil
}

// abandon undoes the accounting of an attempt that sent nothing.
func (c *call) abandon(ep *pool.Endpoint) {
	ep.Load.Cancel()
	if ep.Metrics != nil {
		ep.Metrics.Abandon()
	}
}

func (c *call) failNoEndpoint() {
	if m := c.p.pool.Metrics(); m != nil {
		m.NoEndpoint()
	}
	path, _ := c.down.Header(":path")
	c.p.log.Debug("request failed: no usable endpoint", zap.String("path", path))
	c.down.Fail(codes.Unavailable, fmt.Sprintf("roundabout: no usable endpoint for upstream %q", c.p.cfg.Upstream))
}

// Done accounts the attempt that ended and, when the server never saw it,
// sends the request again elsewhere. It is the one place where the outcome
// of a call is recorded: in the endpoint's load, its outlier detection and
// the metrics.
func (c *call) Done(res transport.Result) bool {
	now := time.Now()
	rtt := now.Sub(c.start)
	ep := c.ep
	ep.Load.End(rtt, now)
	res.Code = c.status(res.Code, now)
	ep.ReportResult(res)
	if c.p.log.Core().Enabled(zap.DebugLevel) {
		c.logDone(res, rtt)
	}
	if res.Retryable && c.retry() {
		if ep.Metrics != nil {
			ep.Metrics.Retried()
		}
		return true
	}
	if ep.Metrics != nil {
		ep.Metrics.End(res.Code, now.Sub(c.began))
	}
	return false
}

// status is the status the client sees for an attempt that ended with
// code. A reset ends a call as CANCELLED, but when it came once the
// client's deadline had passed (a gRPC client resets its call then, as a
// gRPC server does when the propagated deadline passes) the client sees
// DEADLINE_EXCEEDED.
func (c *call) status(code codes.Code, now time.Time) codes.Code {
	if code != codes.Canceled {
		return code
	}
	v, ok := c.down.Header("grpc-timeout")
	if !ok {
		return code
	}
	timeout, ok := parseTimeout(v)
	if !ok || now.Sub(c.began) < timeout-deadlineSlack(timeout) {
		return code
	}
	return codes.DeadlineExceeded
}

func (c *call) retry() bool {
	for c.attempts < c.p.cfg.MaxAttempts {
		ep, conn, err := c.pick()
		if err != nil {
			return false
		}
		if c.down.Relink(conn, c) == nil {
			c.p.log.Debug("request retried on another endpoint", zap.String("endpoint", ep.Addr))
			return true
		}
		c.abandon(ep)
	}
	return false
}

func (c *call) logDone(res transport.Result, rtt time.Duration) {
	path, _ := c.down.Header(":path")
	c.p.log.Debug("request done", zap.String("path", path), zap.String("endpoint", c.ep.Addr),
		zap.Stringer("code", res.Code), zap.Duration("duration", rtt), zap.Error(res.Err),
		zap.Bool("retryable", res.Retryable))
}

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
	start    time.Time
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
		ep.Metrics.End(codes.Unavailable, 0)
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
// sends the request again elsewhere.
func (c *call) Done(res transport.Result) bool {
	now := time.Now()
	rtt := now.Sub(c.start)
	ep := c.ep
	ep.Load.End(rtt, now)
	if ep.Metrics != nil {
		ep.Metrics.End(res.Code, rtt)
	}
	ep.Report(res.Code, res.Err)
	if c.p.log.Core().Enabled(zap.DebugLevel) {
		c.logDone(res, rtt)
	}
	if !res.Retryable {
		return false
	}
	return c.retry()
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

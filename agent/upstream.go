package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/config"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
)

// upstream is one proxied upstream: its endpoint source feeding its pool,
// and the proxy serving its listener.
type upstream struct {
	name   string
	target source
	pool   *pool.Pool
	proxy  *proxy.Proxy
	ln     net.Listener
	log    *zap.Logger
	// synced is when the source first emitted a set; nil until then.
	synced atomic.Pointer[time.Time]
}

// warmup bounds how long readiness waits, once discovery has synced, for
// the first connection attempt to each endpoint to end, so that a client
// that starts when the agent turns ready finds the endpoints that are up
// already connected. A refused connection ends its attempt at once; an
// endpoint that does not answer holds readiness for warmup at most.
const warmup = time.Second

// source is an upstream's endpoint source and, for a Kubernetes Service,
// the Service it watches.
type source struct {
	discovery.Source
	// label names the upstream in logs, metrics and errors; empty means
	// the --upstream value as given.
	label              string
	service, namespace string
}

// sourceFunc makes the endpoint source of an upstream name.
type sourceFunc func(name string) (source, error)

func newUpstream(cfg *config.Config, up config.Upstream, b balancer.Builder, sub pool.Subset, newSource sourceFunc,
	dialWaveEnded func(int), log *zap.Logger, m *metrics.Metrics) (*upstream, error) {
	src, err := newSource(up.Name)
	if err != nil {
		return nil, err
	}
	name := up.Name
	if src.label != "" {
		name = src.label
	}
	tcfg := transport.Config{ProbeAfter: cfg.ProbeAfter, ProbeTimeout: cfg.ProbeTimeout,
		KeepaliveTime: cfg.KeepaliveTime, KeepaliveTimeout: cfg.KeepaliveTimeout,
		StreamWindow: uint32(cfg.StreamWindow), MaxHeaderListSize: uint32(cfg.MaxHeaderListSize), Logger: log}
	p := pool.New(pool.Config{
		Upstream: name, Transport: tcfg, EjectFailures: cfg.EjectFailures, EjectBackoff: cfg.EjectBackoff,
		MaxEjectionPercent: cfg.MaxEjectionPercent, DrainTimeout: cfg.DrainTimeout, Subset: sub,
		Metrics: m.Upstream(name), Logger: log, DialWaveEnded: dialWaveEnded,
	}, b)
	px := proxy.New(proxy.Config{Upstream: name, HashHeader: cfg.HashHeader,
		Transport: transport.Config{MaxConcurrentStreams: uint32(cfg.MaxConcurrentStreams),
			MaxHeaderListSize: uint32(cfg.MaxHeaderListSize), StreamWindow: uint32(cfg.StreamWindow), Logger: log},
		Logger: log}, p)
	ln, err := net.Listen("tcp", up.Listen)
	if err != nil {
		return nil, fmt.Errorf("--upstream=%s: listen on %s: %w", up.Name, up.Listen, err)
	}
	return &upstream{name: name, target: src, pool: p, proxy: px, ln: ln, log: log.With(zap.String("upstream", name))}, nil
}

// start runs the source, once gate is closed, until ctx ends and the proxy
// until its Shutdown, in goroutines counted by wg; a failure of either ends
// the agent. The gate holds discovery until the agent knows its place
// among its peers, so that it connects to its subset from the start.
func (u *upstream) start(ctx context.Context, gate <-chan struct{}, wg *sync.WaitGroup, errc chan<- error) {
	wg.Go(func() {
		select {
		case <-gate:
		case <-ctx.Done():
			return
		}
		if err := u.target.Watch(ctx, u.update); err != nil {
			errc <- fmt.Errorf("upstream %s: endpoint source: %w", u.name, err)
		}
	})
	wg.Go(func() {
		if err := u.proxy.Serve(u.ln); err != nil {
			errc <- fmt.Errorf("upstream %s: proxy: %w", u.name, err)
		}
	})
	u.log.Info("serving upstream", zap.String("listen", u.ln.Addr().String()))
}

// update hands a set from the source to the pool; the first one marks the
// upstream's discovery synced.
func (u *upstream) update(set []discovery.Endpoint) {
	u.pool.Update(set)
	if u.synced.Load() == nil {
		now := time.Now()
		u.synced.Store(&now)
	}
}

// ready is nil once the upstream's discovery has synced, even to no
// endpoints, and its source reports nothing an operator must fix (a
// discovery.Checker); after the sync it waits up to warmup for the first
// connection attempts. Endpoints that are down never hold it longer: calls
// then fail at once with UNAVAILABLE naming the upstream.
func (u *upstream) ready() error {
	if c, ok := u.target.Source.(discovery.Checker); ok {
		if err := c.Check(); err != nil {
			return fmt.Errorf("upstream %s: %w", u.name, err)
		}
	}
	synced := u.synced.Load()
	switch {
	case synced == nil:
		return fmt.Errorf("upstream %s: endpoint discovery has not synced yet", u.name)
	case time.Since(*synced) < warmup && !u.pool.Dialled():
		return fmt.Errorf("upstream %s: connecting to its endpoints", u.name)
	}
	return nil
}

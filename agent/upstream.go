package main

import (
	"context"
	"fmt"
	"net"
	"sync"

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
}

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

func newUpstream(cfg *config.Config, up config.Upstream, b balancer.Builder, newSource sourceFunc,
	log *zap.Logger, m *metrics.Metrics) (*upstream, error) {
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
		MaxEjectionPercent: cfg.MaxEjectionPercent, DrainTimeout: cfg.DrainTimeout,
		Metrics: m.Upstream(name), Logger: log,
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

// start runs the source until ctx ends and the proxy until its Shutdown,
// in goroutines counted by wg; a failure of either ends the agent.
func (u *upstream) start(ctx context.Context, wg *sync.WaitGroup, errc chan<- error) {
	wg.Go(func() {
		if err := u.target.Watch(ctx, u.pool.Update); err != nil {
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

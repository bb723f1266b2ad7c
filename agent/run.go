package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/admin"
	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/config"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/discovery/static"
	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
)

// run starts the agent and blocks until ctx ends, then shuts down within
// the drain timeout.
func run(ctx context.Context, args []string) error {
	cfg, err := config.Parse(args, balancer.Names())
	if err != nil {
		return err
	}
	log, err := config.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := newAgent(cfg, log, metrics.New(reg))
	if err != nil {
		return err
	}
	return a.run(ctx, reg)
}

// agent is one upstream's pool, proxy and endpoint source.
type agent struct {
	cfg    *config.Config
	log    *zap.Logger
	pool   *pool.Pool
	proxy  *proxy.Proxy
	source discovery.Source
	ln     net.Listener
}

func newAgent(cfg *config.Config, log *zap.Logger, m *metrics.Metrics) (*agent, error) {
	b, err := balancer.Get(cfg.Strategy)
	if err != nil {
		return nil, fmt.Errorf("--strategy: %w", err)
	}
	src, err := newSource(cfg, log)
	if err != nil {
		return nil, err
	}
	tcfg := transport.Config{KeepaliveTime: cfg.KeepaliveTime, KeepaliveTimeout: cfg.KeepaliveTimeout, Logger: log}
	p := pool.New(pool.Config{
		Upstream: cfg.Upstream, Transport: tcfg, EjectFailures: cfg.EjectFailures, EjectBackoff: cfg.EjectBackoff,
		MaxEjectionPercent: cfg.MaxEjectionPercent, DrainTimeout: cfg.DrainTimeout,
		Metrics: m.Upstream(cfg.Upstream), Logger: log,
	}, b)
	px := proxy.New(proxy.Config{Upstream: cfg.Upstream, HashHeader: cfg.HashHeader,
		Transport: transport.Config{Logger: log}, Logger: log}, p)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", cfg.Listen, err)
	}
	return &agent{cfg: cfg, log: log, pool: p, proxy: px, source: src, ln: ln}, nil
}

func newSource(cfg *config.Config, log *zap.Logger) (discovery.Source, error) {
	if cfg.EndpointsFile != "" {
		return static.NewFile(cfg.EndpointsFile, log), nil
	}
	src, err := static.New(cfg.Endpoints)
	if err != nil {
		return nil, fmt.Errorf("--endpoints: %w", err)
	}
	return src, nil
}

func (a *agent) run(ctx context.Context, reg *prometheus.Registry) error {
	adm := admin.New(admin.Config{Addr: a.cfg.AdminAddr, Gatherer: reg, Ready: a.pool.Ready,
		Debug: func() any { return a.pool.Debug() }, Logger: a.log})
	if err := adm.Start(); err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchErr := make(chan error, 1)
	go func() { watchErr <- a.source.Watch(watchCtx, a.pool.Update) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.proxy.Serve(a.ln) }()
	a.log.Info("agent started", zap.String("upstream", a.cfg.Upstream), zap.String("listen", a.ln.Addr().String()),
		zap.String("strategy", a.cfg.Strategy), zap.String("admin", adm.Addr()))
	var err error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down", zap.Duration("drain_timeout", a.cfg.DrainTimeout))
	case err = <-watchErr:
		err = fmt.Errorf("endpoint source: %w", err)
	case err = <-serveErr:
		err = fmt.Errorf("proxy: %w", err)
	}
	a.shutdown(adm)
	return err
}

// shutdown stops accepting, lets requests in flight finish within the drain
// timeout, then closes the upstream connections and the admin server.
func (a *agent) shutdown(adm *admin.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.DrainTimeout)
	defer cancel()
	if err := a.proxy.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("proxy shutdown", zap.Error(err))
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
	defer cancelClose()
	a.pool.Close(closeCtx)
	adm.Shutdown(closeCtx)
	a.log.Info("agent stopped")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/roundabout-dev/roundabout/agent/admin"
	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/config"
	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/pool"
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

// agent is every upstream the pod proxies, and the servers around them.
type agent struct {
	cfg       *config.Config
	log       *zap.Logger
	upstreams []*upstream
	place     *placement
	lookaside *grpc.Server
	lookLn    net.Listener
	// wg counts the goroutines run starts: sources, proxies, the
	// annotations watch, the peers watch and the lookaside server. shutdown
	// waits for them.
	wg sync.WaitGroup
}

func newAgent(cfg *config.Config, log *zap.Logger, m *metrics.Metrics) (*agent, error) {
	b, err := balancer.Get(cfg.Strategy)
	if err != nil {
		return nil, fmt.Errorf("--strategy: %w", err)
	}
	place, err := newPlacement(cfg, log)
	if err != nil {
		return nil, err
	}
	a := &agent{cfg: cfg, log: log, place: place}
	newSource, err := sourceFactory(cfg, log)
	if err != nil {
		return nil, err
	}
	var pools []*pool.Pool
	release := &memoryReleaser{log: log}
	for _, up := range cfg.Upstreams {
		u, err := newUpstream(cfg, up, b, place.subset(), newSource, release.dialWaveEnded, log, m)
		if err != nil {
			a.closeListeners()
			return nil, err
		}
		a.upstreams = append(a.upstreams, u)
		pools = append(pools, u.pool)
	}
	place.manage(pools)
	if err := a.listenLookaside(); err != nil {
		a.closeListeners()
		return nil, err
	}
	return a, nil
}

func (a *agent) closeListeners() {
	for _, u := range a.upstreams {
		u.ln.Close()
	}
	if a.lookLn != nil {
		a.lookLn.Close()
	}
}

func (a *agent) run(ctx context.Context, reg *prometheus.Registry) error {
	adm := admin.New(admin.Config{Addr: a.cfg.AdminAddr, Gatherer: reg, Ready: a.ready,
		Connections: a.connections, Debug: a.debug, Logger: a.log})
	if err := adm.Start(); err != nil {
		a.closeListeners()
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2*len(a.upstreams)+3)
	a.place.start(runCtx, &a.wg, errc)
	for _, u := range a.upstreams {
		u.start(runCtx, a.place.known, &a.wg, errc)
	}
	a.startLive(runCtx, errc)
	a.serveLookaside(errc)
	a.log.Info("agent started", zap.Int("upstreams", len(a.upstreams)), zap.String("strategy", a.cfg.Strategy),
		zap.Int("subset_size", a.cfg.SubsetSize), zap.Int("gomaxprocs", runtime.GOMAXPROCS(0)), zap.String("admin", adm.Addr()))
	releaseStartupPages()
	var err error
	select {
	case <-ctx.Done():
		a.log.Info("shutting down", zap.Duration("drain_timeout", a.cfg.DrainTimeout))
	case err = <-errc:
	}
	cancel()
	a.shutdown(adm)
	return err
}

// ready is /readyz: every listener is bound (newAgent binds them all
// before run starts the admin server) and every upstream is ready
// (upstream.ready). It never waits for an endpoint to be connected.
func (a *agent) ready() error {
	var errs []error
	for _, u := range a.upstreams {
		errs = append(errs, u.ready())
	}
	return errors.Join(errs...)
}

// connections is /connections: the client connections open to every
// upstream's proxy. The lookaside server's are not counted.
func (a *agent) connections() int {
	n := 0
	for _, u := range a.upstreams {
		n += u.proxy.Conns()
	}
	return n
}

// debug is /debug/endpoints: each upstream's state (pool.Debug), in flag
// order.
func (a *agent) debug() []any {
	out := make([]any, len(a.upstreams))
	for i, u := range a.upstreams {
		out[i] = u.pool.Debug()
	}
	return out
}

// shutdown stops accepting, lets requests in flight finish within the drain
// timeout, then closes the upstream connections and the admin server. The
// context of run's goroutines has ended; shutdown returns once they have,
// so "agent stopped" is the last line logged.
func (a *agent) shutdown(adm *admin.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.DrainTimeout)
	defer cancel()
	if a.lookaside != nil {
		a.lookaside.Stop()
	}
	for _, u := range a.upstreams {
		if err := u.proxy.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			a.log.Warn("proxy shutdown", zap.String("upstream", u.name), zap.Error(err))
		}
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
	defer cancelClose()
	for _, u := range a.upstreams {
		u.pool.Close(closeCtx)
	}
	adm.Shutdown(closeCtx)
	a.wg.Wait()
	a.log.Info("agent stopped")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/config"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	kubediscovery "github.com/roundabout-dev/roundabout/agent/discovery/kubernetes"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/subset"
)

// peersWait bounds how long the upstreams' discovery waits for the peers
// Service to give the agent its place before connecting by the statistical
// place; the place, once known, then moves the subsets there.
const peersWait = 5 * time.Second

// placement chooses every upstream's subset: the subset size, which the
// annotations file may change, and the agent's place among its peers, from
// --subset-id, from the pod IPs of the --subset-peers Service, or else
// from a hash of the pod name.
type placement struct {
	log *zap.Logger
	// peers follows the --subset-peers Service; nil without one.
	peers     discovery.Source
	peersName string
	self      netip.Addr
	// known is closed once the upstreams may connect: at once without a
	// peers Service, else at its first set or after peersWait.
	known     chan struct{}
	knownOnce sync.Once

	// hashed is the statistical place and what gave it, kept for when the
	// peers Service lists no pod.
	hashed pool.Subset

	mu    sync.Mutex
	cur   pool.Subset
	pools []*pool.Pool
}

func newPlacement(cfg *config.Config, log *zap.Logger) (*placement, error) {
	pl := &placement{log: log, known: make(chan struct{}), cur: pool.Subset{Size: cfg.SubsetSize}}
	switch {
	case cfg.SubsetID.Exact():
		pl.cur.Position, pl.cur.From = cfg.SubsetID, "--subset-id"
	default:
		name := os.Getenv("POD_NAME")
		from := "hash of POD_NAME"
		if name == "" {
			name, _ = os.Hostname()
			from = "hash of the host name (POD_NAME is unset)"
		}
		pl.cur.Position, pl.cur.From = subset.Hashed(name, nil), from
		pl.hashed = pl.cur
	}
	if cfg.SubsetPeers == "" {
		pl.markKnown()
		return pl, nil
	}
	self, err := netip.ParseAddr(os.Getenv("POD_IP"))
	if err != nil {
		return nil, fmt.Errorf("--subset-peers=%s: POD_IP=%q is not the pod's IP address; set it from the downward API (status.podIP)",
			cfg.SubsetPeers, os.Getenv("POD_IP"))
	}
	if podNamespace() == "" {
		return nil, fmt.Errorf("--subset-peers=%s: POD_NAMESPACE is unset; set it from the downward API (metadata.namespace)", cfg.SubsetPeers)
	}
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--subset-peers=%s: %w", cfg.SubsetPeers, err)
	}
	slices, err := kubediscovery.RESTSlices(rc)
	if err != nil {
		return nil, fmt.Errorf("--subset-peers=%s: %w", cfg.SubsetPeers, err)
	}
	src, err := kubediscovery.NewPeers(slices, podNamespace(), cfg.SubsetPeers, log.With(zap.String("role", "subset-peers")))
	if err != nil {
		return nil, fmt.Errorf("--subset-peers=%s: %w", cfg.SubsetPeers, err)
	}
	pl.peers, pl.peersName, pl.self = src, cfg.SubsetPeers, self
	return pl, nil
}

// subset is the subset every new pool starts with.
func (pl *placement) subset() pool.Subset {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.cur
}

// manage makes pl apply every later change to the pools.
func (pl *placement) manage(pools []*pool.Pool) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.pools = pools
}

// start logs how the subsets are chosen and, with a peers Service, follows
// it until ctx ends, in goroutines counted by wg.
func (pl *placement) start(ctx context.Context, wg *sync.WaitGroup, errc chan<- error) {
	cur := pl.subset()
	switch {
	case pl.peers != nil:
		pl.log.Info("subsets wait for this agent's place among the pods of the peers service",
			zap.Int("subset_size", cur.Size), zap.String("service", pl.peersName), zap.String("pod_ip", pl.self.String()),
			zap.Duration("at_most", peersWait))
	case cur.Position.Exact():
		pl.log.Info("subsets exactly balanced", zap.Int("subset_size", cur.Size), zap.String("subset_id", cur.Position.String()),
			zap.String("from", cur.From))
	default:
		pl.log.Info("subset balance is only statistical: no --subset-id or --subset-peers gives this agent its place i/C",
			zap.Int("subset_size", cur.Size), zap.String("subset_id", cur.Position.String()), zap.String("from", cur.From))
	}
	if pl.peers == nil {
		return
	}
	wg.Go(func() {
		if err := pl.peers.Watch(ctx, pl.peersChanged); err != nil {
			errc <- fmt.Errorf("--subset-peers=%s: %w", pl.peersName, err)
		}
	})
	wg.Go(func() {
		t := time.NewTimer(peersWait)
		defer t.Stop()
		select {
		case <-pl.known:
		case <-ctx.Done():
		case <-t.C:
			pl.log.Warn("subset balance is only statistical until the peers service gives this agent its place",
				zap.String("service", pl.peersName), zap.Duration("waited", peersWait), zap.Error(pl.peersProblem()),
				zap.String("subset_id", cur.Position.String()), zap.String("from", cur.From))
			pl.markKnown()
		}
	})
}

// peersProblem is what keeps the peers Service from being followed, if
// its source knows.
func (pl *placement) peersProblem() error {
	if c, ok := pl.peers.(discovery.Checker); ok {
		if err := c.Check(); err != nil {
			return err
		}
	}
	return errors.New("no EndpointSlices read yet")
}

// peersChanged places the agent among the pod IPs of the peers Service.
// A Service that lists no pod at all, most likely a wrong name or
// selector, says nothing of the peers: every agent would be client 0 of 1
// and take the same endpoints, so the statistical place is kept instead.
func (pl *placement) peersChanged(eps []discovery.Endpoint) {
	ips := make([]string, len(eps))
	for i, e := range eps {
		ips[i] = e.Addr
	}
	if len(ips) == 0 {
		pl.log.Warn("subset balance is only statistical: the peers service lists no pod; check that it selects this agent's pod",
			zap.String("service", pl.peersName), zap.String("subset_id", pl.hashed.Position.String()), zap.String("from", pl.hashed.From))
	}
	pl.update(func(s *pool.Subset) {
		if len(ips) == 0 {
			s.Position, s.From = pl.hashed.Position, pl.hashed.From
			return
		}
		s.Position = subset.Place(ips, pl.self)
		s.From = "peers service " + pl.peersName
	})
	pl.markKnown()
}

// setSize changes the subset size of every upstream.
func (pl *placement) setSize(n int) {
	pl.update(func(s *pool.Subset) { s.Size = n })
}

func (pl *placement) update(change func(*pool.Subset)) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	change(&pl.cur)
	for _, p := range pl.pools {
		p.SetSubset(pl.cur)
	}
}

func (pl *placement) markKnown() { pl.knownOnce.Do(func() { close(pl.known) }) }

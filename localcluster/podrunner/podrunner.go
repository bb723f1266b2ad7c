package podrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Config is what Run needs to stand in for the kubelet of one node.
type Config struct {
	// Client reaches the API server with rights to bind, update and delete
	// pods, write their status, register the Node, request service-account
	// tokens and record events.
	Client kubernetes.Interface
	// NodeName is the Node registered and the one pods are bound to, for
	// example "roundabout-node".
	NodeName string
	// NodeIP is the node's InternalIP and every pod's gateway, for example
	// "10.244.0.1"; it must be local to the namespace Run runs in.
	NodeIP string
	// PodIPFirst and PodIPLast bound the addresses given to pods, for
	// example "10.244.0.10" and "10.244.0.250".
	PodIPFirst, PodIPLast string
	// Images maps container images to the project's binaries.
	Images Images
	// Dir holds each pod's files: Dir/pods/<namespace>_<name>_<uid>/.
	Dir string
	// DNSIP is the nameserver written into every pod's resolv.conf, and
	// ClusterDomain its search suffix, for example "cluster.local".
	DNSIP, ClusterDomain string
	// LogAddr is where the container-log endpoint listens, the node's
	// address and the kubelet's port: "10.244.0.1:10250".
	LogAddr string
	// Log receives one line per state change; nil discards them.
	Log *zap.Logger
}

// shutdownBudget bounds how long Run takes to stop its pods once ctx is
// done, whatever their termination grace periods.
const shutdownBudget = 25 * time.Second

// check names the first field of c that Run cannot work with.
func (c Config) check() error {
	switch {
	case c.Client == nil:
		return errors.New("podrunner: Config.Client is nil")
	case c.NodeName == "":
		return errors.New("podrunner: Config.NodeName is empty")
	case net.ParseIP(c.NodeIP) == nil:
		return fmt.Errorf("podrunner: Config.NodeIP %q is not an IP address", c.NodeIP)
	case c.Dir == "":
		return errors.New("podrunner: Config.Dir is empty")
	case net.ParseIP(c.DNSIP) == nil:
		return fmt.Errorf("podrunner: Config.DNSIP %q is not an IP address", c.DNSIP)
	case c.ClusterDomain == "":
		return errors.New("podrunner: Config.ClusterDomain is empty")
	}
	if _, err := logPort(c.LogAddr); err != nil {
		return fmt.Errorf("podrunner: Config.LogAddr: %w", err)
	}
	return nil
}

// runner is the state Run shares between the node, the binder, the pod
// workers and the log server.
type runner struct {
	cfg    Config
	log    *zap.Logger
	ips    *ipam
	events record.EventRecorder

	mu      sync.Mutex
	workers map[string]*podWorker // by pod UID
	binding map[string]bool       // UIDs with a bind in flight
	wg      sync.WaitGroup        // one per worker and bind
}

// Run registers the Node (Ready, InternalIP, daemonEndpoints), serves
// container logs, binds pending pods, runs them; returns when ctx is done
// after stopping every pod it runs (SIGTERM + grace).
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	ips, err := newIPAM(cfg.PodIPFirst, cfg.PodIPLast)
	if err != nil {
		return fmt.Errorf("podrunner: Config.PodIPFirst..PodIPLast: %w", err)
	}
	events, stopEvents := newRecorder(cfg.Client, cfg.NodeName)
	defer stopEvents()
	r := &runner{cfg: cfg, log: cfg.Log, ips: ips, events: events,
		workers: map[string]*podWorker{}, binding: map[string]bool{}}
	if err := r.registerNode(ctx); err != nil {
		return err
	}
	stopLogs, err := serveLogs(cfg.LogAddr, cfg.NodeName, cfg.NodeIP, newLogHandler(r, r.log), r.log)
	if err != nil {
		return err
	}
	defer stopLogs()
	go r.heartbeat(ctx)
	// The informer stops with podCtx, before the pods it started are
	// stopped, so that no new one starts meanwhile.
	podCtx, stopPods := context.WithCancel(ctx)
	defer stopPods()
	if err := r.watchPods(podCtx); err != nil {
		stopPods()
		r.stopAll()
		return err
	}
	<-ctx.Done()
	r.stopAll()
	return nil
}

// stopAll stops every pod worker, each within its grace period bounded by
// shutdownBudget, and waits for them and for binds in flight.
func (r *runner) stopAll() {
	r.mu.Lock()
	workers := make([]*podWorker, 0, len(r.workers))
	for _, w := range r.workers {
		workers = append(workers, w)
	}
	r.mu.Unlock()
	for _, w := range workers {
		w.shutdown()
	}
	r.wg.Wait()
	r.log.Info("pod runner stopped", zap.Int("pods", len(workers)))
}

package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
)

// Addresses every stack uses, as a kubeadm cluster does by default.
const (
	serviceCIDR   = "10.0.0.0/24"
	apiServiceIP  = "10.0.0.1"
	dnsServiceIP  = "10.0.0.10"
	clusterDomain = "cluster.local"
	clusterCIDR   = "10.244.0.0/16"
)

// binaries are the files StackOptions.Assets must hold.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-proxy", "coredns", "kubectl"}

// StackOptions configures StartStack.
type StackOptions struct {
	Assets   string      // dir holding etcd kube-apiserver kube-controller-manager kube-proxy coredns kubectl
	Dir      string      // state dir: certs, kubeconfig, component logs (<Dir>/logs/<component>.log)
	NodeName string      // the node kube-proxy programs rules for, such as "roundabout-node"
	NodeIP   string      // the node's IPv4 address: API server advertise address, CoreDNS listen address
	Log      *zap.Logger // one line per component started and stopped; nil logs nothing
}

// Stack is a control plane that runs pods' network plumbing but no
// kubelet: etcd, kube-apiserver, kube-controller-manager, kube-proxy in
// iptables mode and CoreDNS, each a process of its own. It needs a
// network namespace of its own (localcluster/netns node mode): kube-proxy rewrites
// the namespace's iptables rules and CoreDNS binds NodeIP:53. The Node
// object exists from the start; whoever runs pods updates its status and
// keeps its InternalIP, since kube-proxy exits when the node's addresses
// change or the Node is deleted.
type Stack struct {
	*Cluster             // etcd + kube-apiserver (envtest), Config *rest.Config (admin)
	Kubeconfig    string // admin kubeconfig file (system:masters), server https://127.0.0.1:<port>
	CAFile        string // CA that signed the API server's serving cert (also in kube-root-ca.crt)
	DNSIP         string // ClusterIP of kube-system/kube-dns
	ClusterDomain string // DNS domain of Services, "cluster.local"

	log     *zap.Logger
	logDir  string
	mu      sync.Mutex // serialises Stop
	started []stopper  // in start order
	files   []*os.File // log files this process writes to, closed last
}

// stopper stops one started component.
type stopper struct {
	name string
	pid  int // 0 when envtest runs the process
	stop func() error
}

// StartStack starts the API server and the controller manager, registers
// Node o.NodeName with InternalIP o.NodeIP, starts kube-proxy and CoreDNS,
// each waited for until it serves, and publishes CoreDNS as the kube-dns
// Service at DNSIP. On failure it stops what it started and returns an
// error naming the component, with the end of its log. ctx bounds the
// start only: the components run until Stop. It runs only in a namespace
// netns.ReexecNode made.
func StartStack(ctx context.Context, o StackOptions) (*Stack, error) {
	if err := o.prepare(); err != nil {
		return nil, err
	}
	s := &Stack{DNSIP: dnsServiceIP, ClusterDomain: clusterDomain, log: o.Log, logDir: filepath.Join(o.Dir, "logs")}
	begin := time.Now()
	steps := []func(context.Context, StackOptions) error{
		s.startAPIServer, s.startControllerManager, s.registerNode, s.startKubeProxy, s.startCoreDNS, s.publishDNS,
	}
	for _, step := range steps {
		if err := step(ctx, o); err != nil {
			return nil, errors.Join(err, s.Stop())
		}
	}
	s.log.Info("control plane ready", zap.Duration("took", time.Since(begin)), zap.String("kubeconfig", s.Kubeconfig))
	return s, nil
}

// Stop stops every component in the reverse order of their start, each
// with SIGTERM and, after a bounded wait, SIGKILL. It returns every
// component's failure to stop cleanly. Later calls do nothing.
func (s *Stack) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := len(s.started) - 1; i >= 0; i-- {
		c := s.started[i]
		err := c.stop()
		if err != nil {
			errs = append(errs, err)
		}
		s.log.Info("component stopped", zap.String("component", c.name), zap.Error(err))
	}
	s.started = nil
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	s.files = nil
	return errors.Join(errs...)
}

// register records a started component for Stop.
func (s *Stack) register(name string, pid int, stop func() error) {
	s.started = append(s.started, stopper{name, pid, stop})
}

// pids returns the process ids of the components the stack runs itself.
func (s *Stack) pids() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	pids := map[string]int{}
	for _, c := range s.started {
		if c.pid != 0 {
			pids[c.name] = c.pid
		}
	}
	return pids
}

// runProcess starts a component, waits until ready succeeds and registers
// it; the one log line says where it serves.
func (s *Stack) runProcess(ctx context.Context, name, binary string, args []string, addr string,
	ready func(context.Context) error) error {
	p, err := startProcess(name, binary, args, s.logDir)
	if err != nil {
		return err
	}
	s.register(name, p.pid(), p.stop)
	if err := p.waitReady(ctx, ready); err != nil {
		return err
	}
	s.log.Info("component started", zap.String("component", name), zap.Int("pid", p.pid()),
		zap.String("address", addr), zap.String("log", p.logPath))
	return nil
}

// prepare checks o, fills in defaults and makes its directories.
func (o *StackOptions) prepare() error {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if ip := net.ParseIP(o.NodeIP); ip == nil || ip.To4() == nil {
		return fmt.Errorf("StackOptions.NodeIP: %q is not an IPv4 address", o.NodeIP)
	}
	if o.NodeName == "" {
		return errors.New("StackOptions.NodeName: empty")
	}
	if o.Dir == "" {
		return errors.New("StackOptions.Dir: empty")
	}
	if err := checkAssets(o.Assets); err != nil {
		return err
	}
	if !netns.NodeMode() {
		return errors.New("StartStack: not in a node namespace: kube-proxy would rewrite this host's iptables rules; " +
			"run the program through netns.ReexecNode")
	}
	for _, d := range []string{o.Dir, filepath.Join(o.Dir, "logs"), filepath.Join(o.Dir, "pki")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("StackOptions.Dir: %w", err)
		}
	}
	return nil
}

// checkAssets reports every binary missing from dir.
func checkAssets(dir string) error {
	if dir == "" {
		return errors.New("StackOptions.Assets: empty (the directory hack/controlplane/build.sh --print-dir names)")
	}
	var errs []error
	for _, b := range binaries {
		info, err := os.Stat(filepath.Join(dir, b))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("StackOptions.Assets: %w (run hack/controlplane/build.sh)", err))
		case !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0:
			errs = append(errs, fmt.Errorf("StackOptions.Assets: %s is not an executable file", filepath.Join(dir, b)))
		}
	}
	return errors.Join(errs...)
}

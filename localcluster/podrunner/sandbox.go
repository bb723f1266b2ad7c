package podrunner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// SandboxConfig describes the namespaces of one pod.
type SandboxConfig struct {
	Dir        string // per-pod state dir (volumes, overlay upper/work dirs, logs)
	IP         string // pod IP
	Gateway    string // node IP
	HostIface  string // host-side veth name
	Hostname   string
	ResolvConf []byte
	// Hosts is the pod's /etc/hosts (see HostsFile); when nil, the pod
	// gets the hosts file of a pod with only its IP and Hostname.
	Hosts []byte
}

// holderTimeout bounds the wait for the holder to be in its namespaces,
// stopTimeout the wait for a killed process to be reaped, and cmdTimeout
// each command run to set up the sandbox.
const (
	holderTimeout = 10 * time.Second
	stopTimeout   = 10 * time.Second
	cmdTimeout    = 30 * time.Second
)

// Sandbox is the network, mount and UTS namespaces of one pod, kept alive by
// a holder process, and the containers started in them.
type Sandbox struct {
	cfg        SandboxConfig
	log        *zap.Logger
	holder     *exec.Cmd
	holderDone chan struct{}
	pid        int

	// linked and routed record what network() made, so that a failed
	// NewSandbox removes only that.
	linked, routed bool

	mu        sync.Mutex
	overlays  []string // directories of the pod's file system overlaid so far
	procs     map[*Process]struct{}
	destroyed bool

	destroyOnce sync.Once
	destroyErr  error
}

// NewSandbox starts a holder in new network, mount and UTS namespaces,
// links it to the node namespace with a veth pair, sets its addresses,
// routes and hostname, and gives it its own /etc/resolv.conf and
// /etc/hosts. On error, everything made so far is removed.
func NewSandbox(ctx context.Context, cfg SandboxConfig, log *zap.Logger) (*Sandbox, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sandbox dir: %w", err)
	}
	if err := ownProc(log); err != nil {
		return nil, err
	}
	s := &Sandbox{cfg: cfg, log: log.With(zap.String("ip", cfg.IP)), procs: map[*Process]struct{}{}}
	if err := s.startHolder(ctx); err != nil {
		return nil, err
	}
	if err := s.setUp(ctx); err != nil {
		return nil, errors.Join(err, s.Destroy())
	}
	s.log.Info("sandbox created", zap.Int("holderPid", s.pid), zap.String("hostIface", cfg.HostIface))
	return s, nil
}

func (cfg SandboxConfig) check() error {
	var errs []error
	if cfg.Dir == "" {
		errs = append(errs, errors.New("sandbox config: Dir: must be set"))
	}
	for field, ip := range map[string]string{"IP": cfg.IP, "Gateway": cfg.Gateway} {
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("sandbox config: %s: %q is not an IPv4 address", field, ip))
		}
	}
	if n := len(cfg.HostIface); n == 0 || n > 15 || strings.ContainsAny(cfg.HostIface, "/ \t\n") {
		errs = append(errs, fmt.Errorf("sandbox config: HostIface: %q is not an interface name of 1 to 15 characters", cfg.HostIface))
	}
	return errors.Join(errs...)
}

var (
	ownProcOnce sync.Once
	ownProcErr  error
)

// ownProc makes sure /proc shows this process's PID namespace, since
// nsenter finds a sandbox's namespaces under /proc/<holder pid>. A node
// namespace made with a PID namespace of its own but the parent's /proc
// gets a new proc mount, in its own mount namespace.
func ownProc(log *zap.Logger) error {
	ownProcOnce.Do(func() {
		self, _ := os.Readlink("/proc/self")
		if self == strconv.Itoa(os.Getpid()) {
			return
		}
		if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
			ownProcErr = fmt.Errorf("/proc shows another PID namespace and mounting a new one failed: %w", err)
			return
		}
		log.Info("mounted /proc for this PID namespace", zap.Int("pid", os.Getpid()))
	})
	return ownProcErr
}

// startHolder starts the holder and waits until it runs in its new
// namespaces: the shell says so only after unshare made them.
func (s *Sandbox) startHolder(ctx context.Context) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command("unshare", "--net", "--mount", "--uts", "--propagation", "private",
		"sh", "-c", "echo ready && exec sleep infinity")
	cmd.Stdout = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("start sandbox holder: %w", err)
	}
	s.holder, s.pid, s.holderDone = cmd, cmd.Process.Pid, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.holderDone) }()
	if err := awaitReady(ctx, r); err != nil {
		return errors.Join(fmt.Errorf("sandbox holder: %w", err), s.Destroy())
	}
	return nil
}

// awaitReady reads the holder's "ready" line, within holderTimeout.
func awaitReady(ctx context.Context, r *os.File) error {
	deadline := time.Now().Add(holderTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := r.SetReadDeadline(deadline); err != nil {
		return err
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || line != "ready\n" {
		return fmt.Errorf("did not enter its namespaces (read %q): %v", line, err)
	}
	return nil
}

func (s *Sandbox) setUp(ctx context.Context) error {
	if err := s.network(ctx); err != nil {
		return err
	}
	if s.cfg.Hostname != "" {
		if err := s.run(ctx, nil, "nsenter", "-t", s.pidArg(), "-u", "--", "hostname", s.cfg.Hostname); err != nil {
			return err
		}
	}
	return s.etcFiles()
}

// network links the pod to the node: a veth pair, the pod's address and
// routes through the gateway, and the node's route to the pod.
func (s *Sandbox) network(ctx context.Context) error {
	c := s.cfg
	if err := s.run(ctx, nil, "ip", "link", "add", c.HostIface, "type", "veth",
		"peer", "name", "eth0", "netns", s.pidArg()); err != nil {
		return err
	}
	s.linked = true
	if err := s.run(ctx, nil, "ip", "link", "set", c.HostIface, "up"); err != nil {
		return err
	}
	batch := fmt.Sprintf("link set lo up\nlink set eth0 up\naddr add %s/32 dev eth0\n"+
		"route add %s dev eth0 scope link\nroute add default via %s dev eth0\n", c.IP, c.Gateway, c.Gateway)
	if err := s.run(ctx, []byte(batch), "nsenter", "-t", s.pidArg(), "-n", "--", "ip", "-batch", "-"); err != nil {
		return err
	}
	if err := s.run(ctx, nil, "ip", "route", "add", c.IP+"/32", "dev", c.HostIface); err != nil {
		return err
	}
	s.routed = true
	return nil
}

// hostsName is the name of the pod's /etc/hosts in its directory.
const hostsName = "hosts"

// etcFiles gives the pod its own /etc/resolv.conf and /etc/hosts.
func (s *Sandbox) etcFiles() error {
	if s.cfg.ResolvConf != nil {
		if err := s.writeAndMount("resolv.conf", s.cfg.ResolvConf, "/etc/resolv.conf"); err != nil {
			return err
		}
	}
	hosts := s.cfg.Hosts
	if hosts == nil {
		hosts = HostsFile(s.cfg.IP, s.cfg.Hostname, "", nil)
	}
	return s.writeAndMount(hostsName, hosts, "/etc/hosts")
}

func (s *Sandbox) writeAndMount(name string, content []byte, containerPath string) error {
	path := filepath.Join(s.cfg.Dir, name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		return err
	}
	return s.Mount(path, containerPath, false)
}

// Destroy kills the processes still running in the sandbox and the holder,
// and removes the veth pair and the node's route to the pod. It can be
// called more than once.
func (s *Sandbox) Destroy() error {
	s.destroyOnce.Do(func() { s.destroyErr = s.destroy() })
	return s.destroyErr
}

func (s *Sandbox) destroy() error {
	s.mu.Lock()
	s.destroyed = true
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	var errs []error
	for p := range procs {
		errs = append(errs, p.kill())
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	errs = append(errs, s.removeLink(ctx))
	if s.holder != nil {
		_ = s.holder.Process.Kill()
		select {
		case <-s.holderDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("sandbox holder %d still running %s after SIGKILL", s.pid, stopTimeout))
		}
	}
	err := errors.Join(errs...)
	s.log.Info("sandbox destroyed", zap.Int("processes", len(procs)), zap.Error(err))
	return err
}

// removeLink removes the node's route to the pod and the veth pair, those
// of them the sandbox made.
func (s *Sandbox) removeLink(ctx context.Context) error {
	var errs []error
	if s.routed {
		errs = append(errs, s.run(ctx, nil, "ip", "route", "del", s.cfg.IP+"/32", "dev", s.cfg.HostIface))
	}
	if s.linked {
		errs = append(errs, s.run(ctx, nil, "ip", "link", "del", s.cfg.HostIface))
	}
	return errors.Join(errs...)
}

// run runs a command with stdin, and returns an error naming the command
// and holding its output when it fails.
func (s *Sandbox) run(ctx context.Context, stdin []byte, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (s *Sandbox) pidArg() string { return strconv.Itoa(s.pid) }

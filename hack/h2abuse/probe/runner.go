package probe

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server hosts: the three "pods" of the agent's upstream, on loopback.
var serverHosts = []string{"127.0.1.1", "127.0.1.2", "127.0.1.3"}

// minSideRun is the shortest time the side client runs alongside a probe.
const minSideRun = time.Second

// Runner measures probes against fresh processes, one set per probe, so
// that each peak RSS (VmHWM, which only grows) belongs to one probe.
type Runner struct {
	Bins Binaries
	// Cap is the resident memory at which a probe is stopped and the
	// process under test killed; 0 means 1 GiB.
	Cap uint64
	// SideRate is the side client's calls per second; 0 means 200.
	SideRate int
	// SideTimeout bounds each side call; 0 means 1s.
	SideTimeout time.Duration
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// Measure is what one probe cost one process.
type Measure struct {
	Probe  string
	Target string // "agent" or "greet-server"
	// IdleRSS is the resident memory before the probe, with the side
	// client connected; PeakRSS the most it reached during the probe.
	IdleRSS, PeakRSS uint64
	// EndRSS is the resident memory at the end of the probe, or just
	// before SIGTERM for a probe that sends one: what stayed, against the
	// transient peak.
	EndRSS uint64
	// Capped is set when the process passed Cap and was killed.
	Capped bool
	// Died is set when the process exited during the probe on its own.
	Died bool
	Side SideStats
	Outcome
	// Upstream connections of the agent to its servers before and after
	// the probe; empty for a greet-server.
	UpstreamBefore, UpstreamAfter []string
	// Output is the tail of the process's output when something went wrong.
	Output string
	// Err is a failure to set up or run the measurement.
	Err error
}

// UpstreamUnchanged reports whether the agent kept the very same upstream
// connections through the probe.
func (m Measure) UpstreamUnchanged() bool {
	return len(m.UpstreamBefore) > 0 && slices.Equal(m.UpstreamBefore, m.UpstreamAfter)
}

func (r *Runner) cap() uint64 {
	if r.Cap == 0 {
		return 1 << 30
	}
	return r.Cap
}

func (r *Runner) logf(format string, args ...any) {
	if r.Logf != nil {
		r.Logf(format, args...)
	}
}

// Agent runs p against a fresh agent over three fresh greet-servers.
func (r *Runner) Agent(ctx context.Context, p Probe, s Scale) Measure {
	m := Measure{Probe: p.Name, Target: "agent"}
	servers, err := StartServers(ctx, r.Bins.GreetServer, serverHosts...)
	if err != nil {
		m.Err = err
		return m
	}
	defer servers.Stop()
	endpoints := servers.Addrs
	if p.SlowUpstream {
		endpoints = nil
		for _, a := range servers.Addrs {
			l, err := NewSlowLink("127.0.0.1", a, s.SlowRate)
			if err != nil {
				m.Err = err
				return m
			}
			defer l.Close()
			endpoints = append(endpoints, l.Addr())
		}
	}
	agent, err := StartAgent(ctx, r.Bins.Agent, endpoints)
	if err != nil {
		m.Err = err
		return m
	}
	defer agent.Terminate(2 * time.Second)
	// The agent is ready with one endpoint connected; wait for all of them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conns, err := UpstreamConns(agent.PID(), endpoints)
		if err == nil && len(conns) >= len(endpoints) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.measure(ctx, &m, p, s, agent.Proc, agent.Addr, agent.PID(), endpoints, AgentDrainTimeout+5*time.Second)
	return m
}

// Direct runs p against one fresh greet-server, with no agent in between.
func (r *Runner) Direct(ctx context.Context, p Probe, s Scale) Measure {
	m := Measure{Probe: p.Name, Target: "greet-server"}
	servers, err := StartServers(ctx, r.Bins.GreetServer, serverHosts[0])
	if err != nil {
		m.Err = err
		return m
	}
	defer servers.Stop()
	srv := servers.Procs[0]
	r.measure(ctx, &m, p, s, srv, servers.Addrs[0], srv.PID(), nil, 15*time.Second)
	return m
}

// measure runs p against proc listening on addr with a side client on its
// own connection, sampling proc's memory throughout.
func (r *Runner) measure(ctx context.Context, m *Measure, p Probe, s Scale, proc *Proc, addr string, pid int,
	upstreams []string, termWait time.Duration) {
	timeout := r.SideTimeout
	if timeout == 0 {
		timeout = time.Second
	}
	rate := r.SideRate
	if rate == 0 {
		rate = 200
	}
	side, err := NewSide(addr, timeout)
	if err != nil {
		m.Err = err
		return
	}
	var sideOnce sync.Once
	stopSide := func() { sideOnce.Do(func() { m.Side = side.Stop() }) }
	defer stopSide()
	if err := side.Warm(ctx); err != nil {
		m.Err = err
		m.Output = proc.Output()
		return
	}
	time.Sleep(200 * time.Millisecond)
	idle, err := ReadMem(pid)
	if err != nil {
		m.Err = err
		return
	}
	m.IdleRSS = idle.RSS
	if upstreams != nil {
		m.UpstreamBefore, _ = UpstreamConns(pid, upstreams)
	}

	probeCtx, cancel := context.WithTimeout(ctx, 3*s.Duration+30*time.Second)
	defer cancel()
	mon := startMonitor(proc, r.cap(), cancel)
	side.Start(rate)
	r.logf("%s vs %s: idle RSS %s", p.Name, m.Target, MiB(idle.RSS))

	terminated := false
	t := Target{Addr: addr, Terminate: func() (time.Duration, bool) {
		stopSide()
		// The process's memory is gone once it exits.
		mon.final()
		if mem, err := ReadMem(pid); err == nil {
			m.EndRSS = mem.RSS
		}
		terminated = true
		return proc.Terminate(termWait)
	}}
	started := time.Now()
	m.Outcome = p.Run(probeCtx, t)
	if !terminated {
		// A probe over in a moment still gets a side sample worth the name.
		sleepCtx(probeCtx, minSideRun-time.Since(started))
	}
	stopSide()

	if upstreams != nil && !terminated && !mon.capped.Load() {
		// Let a replaced upstream connection show as such.
		time.Sleep(300 * time.Millisecond)
		m.UpstreamAfter, _ = UpstreamConns(pid, upstreams)
	}
	mon.final()
	if mem, err := ReadMem(pid); err == nil && !terminated {
		m.EndRSS = mem.RSS
	}
	m.PeakRSS, m.Capped = mon.stop()
	select {
	case <-proc.Exited():
		m.Died = !terminated && !m.Capped
	default:
	}
	if m.Died || m.Capped || m.Outcome.Err != nil {
		m.Output = proc.Output()
	}
	if m.Capped {
		r.logf("%s vs %s: RSS passed %s, stopped", p.Name, m.Target, MiB(r.cap()))
	}
}

// monitor samples a process's resident memory, and kills the process when
// it passes the cap.
type monitor struct {
	proc   *Proc
	cap    uint64
	peak   atomic.Uint64
	capped atomic.Bool
	done   chan struct{}
	quit   chan struct{}
	once   sync.Once
}

func startMonitor(p *Proc, limit uint64, onCap func()) *monitor {
	m := &monitor{proc: p, cap: limit, done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.quit:
				return
			case <-p.Exited():
				return
			case <-tick.C:
			}
			mem, err := ReadMem(p.PID())
			if err != nil {
				continue
			}
			m.raise(mem)
			if mem.RSS > m.cap {
				m.capped.Store(true)
				p.Cmd.Process.Signal(syscall.SIGKILL)
				onCap()
				return
			}
		}
	}()
	return m
}

func (m *monitor) raise(mem Mem) {
	for {
		old := m.peak.Load()
		v := max(mem.RSS, mem.Peak)
		if v <= old || m.peak.CompareAndSwap(old, v) {
			return
		}
	}
}

// final reads the process's peak once more, while it still runs.
func (m *monitor) final() {
	if mem, err := ReadMem(m.proc.PID()); err == nil {
		m.raise(mem)
	}
}

func (m *monitor) stop() (peak uint64, capped bool) {
	m.once.Do(func() { close(m.quit) })
	<-m.done
	return m.peak.Load(), m.capped.Load()
}

// MiB formats a byte count, e.g. "912 MiB" or "3.9 GiB".
func MiB(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", (b+(1<<19))>>20)
}

package probe

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/roundabout-dev/roundabout/hack/lib/procstat"
)

// Binaries are the programs a Runner starts.
type Binaries struct {
	Agent       string // roundabout-agent
	GreetServer string // greet-server
}

// Proc is a running child process. Its output is kept, up to a bound.
type Proc struct {
	Name   string
	Cmd    *exec.Cmd
	out    *tailBuffer
	exited chan struct{}
	err    error
}

// StartProc starts path with env added to this process's environment. The
// child is killed if this process dies first.
func StartProc(name, path string, env []string, args ...string) (*Proc, error) {
	p := &Proc{Name: name, Cmd: exec.Command(path, args...), out: &tailBuffer{max: 256 << 10}, exited: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.exited) }()
	return p, nil
}

// PID is the process identifier.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Output is the last part of what the process wrote.
func (p *Proc) Output() string { return p.out.String() }

// Terminate sends SIGTERM and waits up to timeout for the exit, then kills
// the process. It returns how long the exit took and whether it came
// within timeout.
func (p *Proc) Terminate(timeout time.Duration) (time.Duration, bool) {
	start := time.Now()
	select {
	case <-p.exited:
		return 0, true
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return time.Since(start), true
	case <-time.After(timeout):
		p.Kill()
		return time.Since(start), false
	}
}

// Kill kills the process and waits for it.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.exited
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
	cut bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max/2:]...)
		b.cut = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return "[...]\n" + string(b.buf)
	}
	return string(b.buf)
}

// Mem is a process's resident memory in bytes.
type Mem struct {
	RSS  uint64 // VmRSS: resident now
	Peak uint64 // VmHWM: the most ever resident
}

// ReadMem reads VmRSS and VmHWM from /proc/pid/status.
func ReadMem(pid int) (Mem, error) {
	st, err := procstat.ReadStatus(pid, "VmRSS", "VmHWM")
	if err != nil {
		return Mem{}, err
	}
	return Mem{RSS: uint64(st["VmRSS"]) << 10, Peak: uint64(st["VmHWM"]) << 10}, nil
}

// freePort returns a TCP port that is free on host now.
func freePort(host string) (int, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitTCP waits until something accepts connections on addr.
func waitTCP(ctx context.Context, addr string, p *Proc) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before listening on %s: %v\n%s", p.Name, addr, p.err, p.Output())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s never listened on %s", p.Name, addr)
}

// waitReady waits until url answers 200.
func waitReady(ctx context.Context, url string, p *Proc) error {
	deadline := time.Now().Add(10 * time.Second)
	client := http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before %s answered: %v\n%s", p.Name, url, p.err, p.Output())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s never answered 200", url)
}

// Servers are greet-server processes on loopback addresses sharing one port.
type Servers struct {
	Procs []*Proc
	Addrs []string
}

// StartServers starts one greet-server on each host (e.g. 127.0.1.1).
func StartServers(ctx context.Context, bin string, hosts ...string) (*Servers, error) {
	port, err := freePort(hosts[0])
	if err != nil {
		return nil, err
	}
	s := &Servers{}
	for i, h := range hosts {
		p, err := StartProc(fmt.Sprintf("greet-%d", i), bin,
			[]string{fmt.Sprintf("POD_NAME=greet-%d", i), "POD_IP=" + h, "GRPC_PORT=" + strconv.Itoa(port)})
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Procs = append(s.Procs, p)
		s.Addrs = append(s.Addrs, net.JoinHostPort(h, strconv.Itoa(port)))
	}
	for i, a := range s.Addrs {
		if err := waitTCP(ctx, a, s.Procs[i]); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// Stop terminates every server.
func (s *Servers) Stop() {
	var wg sync.WaitGroup
	for _, p := range s.Procs {
		wg.Go(func() { p.Terminate(5 * time.Second) })
	}
	wg.Wait()
}

// Agent is a running roundabout-agent.
type Agent struct {
	*Proc
	Addr      string // where clients connect
	AdminAddr string
	Endpoints []string
}

// AgentDrainTimeout is the --drain-timeout the agent under test gets: long
// enough that an exit which waits for it is unmistakable.
const AgentDrainTimeout = 10 * time.Second

// StartAgent starts the agent over a static list of endpoints and waits
// until it is ready.
func StartAgent(ctx context.Context, bin string, endpoints []string) (*Agent, error) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	admin, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	a := &Agent{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		AdminAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(admin)), Endpoints: endpoints}
	a.Proc, err = StartProc("roundabout-agent", bin, nil,
		"--upstream", "greet", "--listen", a.Addr, "--admin-addr", a.AdminAddr,
		"--endpoints", strings.Join(endpoints, ","), "--strategy", "round-robin",
		"--drain-timeout", AgentDrainTimeout.String(), "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, "http://"+a.AdminAddr+"/readyz", a.Proc); err != nil {
		a.Kill()
		return nil, err
	}
	return a, nil
}

// UpstreamConns lists the established TCP connections that process pid
// holds to any of remotes, as "local->remote", sorted. A connection that was
// replaced by a new one shows up with a different local port.
func UpstreamConns(pid int, remotes []string) ([]string, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range remotes {
		want[r] = true
	}
	var out []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "01" || !inodes[f[9]] { // 01: ESTABLISHED
				continue
			}
			local, remote := procAddr(f[1]), procAddr(f[2])
			if want[remote] {
				out = append(out, local+"->"+remote)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// socketInodes are the inodes of the sockets process pid has open.
func socketInodes(pid int) (map[string]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok {
			out[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return out, nil
}

// procAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080".
func procAddr(s string) string {
	hexIP, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	raw, err := hex.DecodeString(hexIP)
	if err != nil {
		return s
	}
	// The address is stored as host-order 32-bit words.
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, _ := strconv.ParseUint(hexPort, 16, 16)
	ip := net.IP(raw)
	if v4 := ip.To4(); v4 != nil && len(raw) == 16 && bytes.HasPrefix(raw, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}) {
		ip = v4
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(int(port)))
}

// SlowLink relays TCP connections to a target, passing the client's bytes
// on at a limited rate: a server that reads slowly, as seen by its client.
type SlowLink struct {
	ln     net.Listener
	target string
	rate   int // bytes per second toward the target

	mu    sync.Mutex
	conns []net.Conn
}

// NewSlowLink listens on host:0 and relays to target at rate bytes/s.
func NewSlowLink(host, target string, rate int) (*SlowLink, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			// Accepted sockets inherit a small receive buffer, so the
			// sender soon feels the slow reader.
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
	}}
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	l := &SlowLink{ln: ln, target: target, rate: rate}
	go l.accept()
	return l, nil
}

// Addr is where the link listens.
func (l *SlowLink) Addr() string { return l.ln.Addr().String() }

// Close stops the link and every connection through it.
func (l *SlowLink) Close() {
	l.ln.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

func (l *SlowLink) track(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns = append(l.conns, c)
}

func (l *SlowLink) accept() {
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			in.Close()
			continue
		}
		l.track(in)
		l.track(out)
		go func() {
			io.Copy(in, out)
			in.Close()
		}()
		go func() {
			l.throttle(out, in)
			out.Close()
		}()
	}
}

// throttle copies src to dst at no more than l.rate bytes per second.
func (l *SlowLink) throttle(dst io.Writer, src io.Reader) {
	buf := make([]byte, 4096)
	start := time.Now()
	var sent int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
			due := start.Add(time.Duration(sent * int64(time.Second) / int64(l.rate)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			} else if d < -time.Second {
				// Idle time is not credit for a later burst.
				start, sent = time.Now(), 0
			}
		}
		if err != nil {
			return
		}
	}
}

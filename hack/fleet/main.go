// Command fleet measures what big Services cost one agent, with real agent
// processes and greet-servers on loopback (127.0.2.0 and up, one address per
// server, one port), fed through static endpoint files:
//
//   - live: one agent over -servers live endpoints with every endpoint in
//     use (--subset-size 0): VmRSS, VmHWM, goroutines and threads when idle
//     and after -calls calls, against an agent over one endpoint;
//   - subset: -agents agents, agent i started with --subset-id i/N and
//     --subset-size -subset-size over -subset-servers servers, and the same
//     agents with no subset id (the statistical fallback): connections per
//     agent and per server, counted from the sockets in /proc/net/tcp;
//   - refusing: one agent over -servers endpoints where nothing listens:
//     its CPU over -measure after -settle, as a share of one core.
//
// It prints one table per scenario and a check line per target, and exits
// with status 1 when a target is missed.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roundabout-dev/roundabout/greet/server"
	"github.com/roundabout-dev/roundabout/hack/lib/procstat"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

type options struct {
	bin           string
	scenarios     string
	servers       int
	calls         int
	agents        int
	subsetServers int
	subsetSize    int
	settle        time.Duration
	measure       time.Duration
	port          int
	work          string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin", "directory holding roundabout-agent")
	flag.StringVar(&o.scenarios, "scenarios", "live,subset,refusing", "comma-separated scenarios to run")
	flag.IntVar(&o.servers, "servers", 1000, "endpoints of the live and refusing scenarios")
	flag.IntVar(&o.calls, "calls", 5000, "calls sent through the agent in the live scenario")
	flag.IntVar(&o.agents, "agents", 10, "agents of the subset scenario")
	flag.IntVar(&o.subsetServers, "subset-servers", 100, "servers of the subset scenario")
	flag.IntVar(&o.subsetSize, "subset-size", 10, "--subset-size of the subset scenario")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "refusing: time before the CPU is measured")
	flag.DurationVar(&o.measure, "measure", 60*time.Second, "refusing: time the CPU is measured over")
	flag.IntVar(&o.port, "port", 18090, "port every server listens on (the agents use the next ports)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "fleet-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(dir)
	o.work = dir
	missed := false
	for _, s := range strings.Split(o.scenarios, ",") {
		var err error
		switch s {
		case "live":
			err = live(o, &missed)
		case "subset":
			err = subset(o, &missed)
		case "refusing":
			err = refusing(o, &missed)
		default:
			err = fmt.Errorf("-scenarios: unknown scenario %q (want live, subset or refusing)", s)
		}
		if err != nil {
			fatal(fmt.Errorf("%s: %w", s, err))
		}
	}
	if missed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "fleet:", err)
	os.Exit(2)
}

// check prints one target line.
func check(missed *bool, name string, ok bool, format string, args ...any) {
	verdict := "ok  "
	if !ok {
		verdict = "MISS"
		*missed = true
	}
	fmt.Printf("check %s %-46s %s\n", verdict, name, fmt.Sprintf(format, args...))
}

// addr is the loopback address of server i: 127.0.2.0 and up.
func addr(i int) string {
	n := 2<<8 + i
	return fmt.Sprintf("127.0.%d.%d", n>>8, n&0xff)
}

// servers listens on n loopback addresses with greet-servers, one each.
type servers struct {
	addrs []string
	srvs  []*server.Server
	wg    sync.WaitGroup
}

func startServers(n, port int) (*servers, error) {
	s := &servers{}
	for i := range n {
		a := net.JoinHostPort(addr(i), strconv.Itoa(port))
		lis, err := net.Listen("tcp", a)
		if err != nil {
			s.stop()
			return nil, err
		}
		srv := server.New(server.Config{PodName: fmt.Sprintf("server-%d", i), PodIP: addr(i), Port: port}, zap.NewNop())
		s.wg.Go(func() { srv.Serve(lis) })
		s.addrs = append(s.addrs, a)
		s.srvs = append(s.srvs, srv)
	}
	return s, nil
}

func (s *servers) stop() {
	for _, srv := range s.srvs {
		srv.Stop()
	}
	s.wg.Wait()
}

// agent is one roundabout-agent process.
type agent struct {
	cmd    *exec.Cmd
	listen string
	admin  string
	log    *os.File
}

func startAgent(o options, name string, endpoints []string, listenPort, adminPort int, extra ...string) (*agent, error) {
	file := filepath.Join(o.work, name+".endpoints")
	if err := os.WriteFile(file, []byte(strings.Join(endpoints, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(o.work, name+".log"))
	if err != nil {
		return nil, err
	}
	a := &agent{listen: fmt.Sprintf("127.0.0.1:%d", listenPort), admin: fmt.Sprintf("127.0.0.1:%d", adminPort), log: logf}
	args := append([]string{"--upstream", "greet", "--listen", a.listen, "--endpoints-file", file,
		"--admin-addr", a.admin, "--log-level", "warn"}, extra...)
	a.cmd = exec.Command(filepath.Join(o.bin, "roundabout-agent"), args...)
	a.cmd.Env = append(os.Environ(), "POD_NAME="+name)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	return a, nil
}

func (a *agent) stop() {
	a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
	a.log.Close()
}

func (a *agent) pid() int { return a.cmd.Process.Pid }

// ready is how many endpoints the agent's /debug/endpoints shows ready.
func (a *agent) ready() (int, error) {
	resp, err := http.Get("http://" + a.admin + "/debug/endpoints")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var doc struct {
		Upstreams []struct {
			Endpoints []struct {
				State string `json:"state"`
			} `json:"endpoints"`
		} `json:"upstreams"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return 0, err
	}
	n := 0
	for _, u := range doc.Upstreams {
		for _, e := range u.Endpoints {
			if e.State == "ready" {
				n++
			}
		}
	}
	return n, nil
}

// waitReady polls /debug/endpoints until want endpoints are ready, for at
// most a minute.
func (a *agent) waitReady(want int) error {
	deadline := time.Now().Add(time.Minute)
	last := -1
	for time.Now().Before(deadline) {
		n, err := a.ready()
		if err == nil && n >= want {
			return nil
		}
		if err == nil {
			last = n
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("agent %s: %d of %d endpoints ready after a minute (log: %s)", a.admin, last, want, a.log.Name())
}

// runtimeMetrics reads, from the agent's /metrics, its goroutines and the
// bytes its Go heap and goroutine stacks hold.
func (a *agent) runtimeMetrics() (goroutines, heapKiB, stackKiB int, err error) {
	resp, err := http.Get("http://" + a.admin + "/metrics")
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	want := map[string]*int{"go_goroutines": &goroutines, "go_memstats_heap_inuse_bytes": &heapKiB, "go_memstats_stack_inuse_bytes": &stackKiB}
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if dst, known := want[name]; ok && known {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, 0, 0, fmt.Errorf("%s: %w", name, err)
			}
			*dst = int(f)
			found++
		}
	}
	if found != len(want) {
		return 0, 0, 0, errors.New("/metrics lacks go_goroutines, go_memstats_heap_inuse_bytes or go_memstats_stack_inuse_bytes")
	}
	return goroutines, heapKiB / 1024, stackKiB / 1024, sc.Err()
}

// idleSettle is how long the live scenario leaves the agent alone, once
// every endpoint is ready, before it measures the idle agent.
const idleSettle = 5 * time.Second

type sample struct {
	rss, hwm, threads, goroutines int
	heap, stacks                  int // KiB in use by the Go heap and goroutine stacks
}

func (a *agent) sample() (sample, error) {
	st, err := procstat.ReadStatus(a.pid(), "VmRSS", "VmHWM", "Threads")
	if err != nil {
		return sample{}, err
	}
	g, heap, stacks, err := a.runtimeMetrics()
	if err != nil {
		return sample{}, err
	}
	return sample{rss: int(st["VmRSS"]), hwm: int(st["VmHWM"]), threads: int(st["Threads"]), goroutines: g, heap: heap, stacks: stacks}, nil
}

// call sends n unary Greet calls through the agent, 50 at a time.
func call(target string, n int) (failed int, err error) {
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer cc.Close()
	client := greetv1.NewGreetServiceClient(cc)
	var next, fails atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if _, err := client.Greet(ctx, &greetv1.GreetRequest{FirstName: "fleet"}); err != nil {
					fails.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	return int(fails.Load()), nil
}

func live(o options, missed *bool) error {
	srv, err := startServers(o.servers, o.port)
	if err != nil {
		return err
	}
	defer srv.stop()
	one, err := startAgent(o, "live-1", srv.addrs[:1], o.port+1, o.port+2, "--subset-size", "0")
	if err != nil {
		return err
	}
	if err := one.waitReady(1); err != nil {
		one.stop()
		return err
	}
	base, err := one.sample()
	one.stop()
	if err != nil {
		return err
	}
	a, err := startAgent(o, "live", srv.addrs, o.port+1, o.port+2, "--subset-size", "0")
	if err != nil {
		return err
	}
	defer a.stop()
	start := time.Now()
	if err := a.waitReady(o.servers); err != nil {
		return err
	}
	connected := time.Since(start)
	// Idle means settled: the agent gives back what the dial wave freed
	// once the wave's last attempt has ended, just after the last
	// endpoint turned ready.
	time.Sleep(idleSettle)
	idle, err := a.sample()
	if err != nil {
		return err
	}
	failed, err := call(a.listen, o.calls)
	if err != nil {
		return err
	}
	loaded, err := a.sample()
	if err != nil {
		return err
	}
	n := o.servers - 1
	fmt.Printf("\n## live: one agent over %d live endpoints (--subset-size 0), all connected in %s\n\n", o.servers, connected.Round(time.Millisecond))
	fmt.Println("| | VmRSS MiB | VmHWM MiB | Go heap in use MiB | stacks MiB | goroutines | threads |")
	fmt.Println("|---|---|---|---|---|---|---|")
	row := func(name string, s sample) {
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.1f | %d | %d |\n", name, mib(s.rss), mib(s.hwm), mib(s.heap), mib(s.stacks), s.goroutines, s.threads)
	}
	row("1 endpoint, idle", base)
	row(fmt.Sprintf("%d endpoints, idle", o.servers), idle)
	row(fmt.Sprintf("after %d calls (%d failed)", o.calls, failed), loaded)
	per := func(a, b int) float64 { return float64(a-b) / float64(n) }
	fmt.Printf("\nper further connection: %.1f KiB VmRSS idle (Go heap %.1f, stacks %.1f), %.1f KiB after the calls (Go heap %.1f, stacks %.1f), %.2f goroutines\n\n",
		per(idle.rss, base.rss), per(idle.heap, base.heap), per(idle.stacks, base.stacks),
		per(loaded.rss, base.rss), per(loaded.heap, base.heap), per(loaded.stacks, base.stacks),
		per(idle.goroutines, base.goroutines))
	check(missed, "idle connection ≤ 32 KiB VmRSS", float64(idle.rss-base.rss)/float64(n) <= 32,
		"%.1f KiB", float64(idle.rss-base.rss)/float64(n))
	// A goroutine or two of the agent's own (a writer finishing, a GC
	// worker) may run at the moment of the count.
	check(missed, "idle connection ≤ 2 goroutines", idle.goroutines-base.goroutines <= 2*n+2,
		"%.3f", float64(idle.goroutines-base.goroutines)/float64(n))
	check(missed, fmt.Sprintf("%d endpoints ≤ 64 MiB VmRSS", o.servers), mib(loaded.rss) <= 64, "%.1f MiB after the calls", mib(loaded.rss))
	check(missed, fmt.Sprintf("%d endpoints ≤ 2100 goroutines", o.servers), loaded.goroutines <= 2100, "%d", loaded.goroutines)
	check(missed, "every call answered", failed == 0, "%d of %d failed", failed, o.calls)
	return nil
}

func mib(kib int) float64 { return float64(kib) / 1024 }

// tcpSocket is one line of /proc/net/tcp.
type tcpSocket struct {
	local, remote string
	established   bool
}

// sockets reads /proc/net/tcp, keyed by socket inode.
func sockets() (map[string]tcpSocket, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]tcpSocket{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 10 {
			continue
		}
		out[fl[9]] = tcpSocket{local: hexAddr(fl[1]), remote: hexAddr(fl[2]), established: fl[3] == "01"}
	}
	return out, sc.Err()
}

// hexAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080".
func hexAddr(s string) string {
	h, p, _ := strings.Cut(s, ":")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 4 {
		return s
	}
	port, _ := strconv.ParseUint(p, 16, 16)
	return net.JoinHostPort(net.IPv4(b[3], b[2], b[1], b[0]).String(), strconv.Itoa(int(port)))
}

// inodes lists the socket inodes pid has open.
func inodes(pid int) ([]string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(l, "socket:["); ok {
			out = append(out, strings.TrimSuffix(ino, "]"))
		}
	}
	return out, nil
}

// spread counts, from the sockets, the upstream connections of each agent
// and of each server.
func spread(agents []*agent, srv *servers) (perAgent []int, perServer map[string]int, err error) {
	socks, err := sockets()
	if err != nil {
		return nil, nil, err
	}
	perServer = map[string]int{}
	for _, a := range srv.addrs {
		perServer[a] = 0
	}
	for _, a := range agents {
		ins, err := inodes(a.pid())
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, ino := range ins {
			s, ok := socks[ino]
			if !ok || !s.established {
				continue
			}
			if _, up := perServer[s.remote]; up {
				n++
				perServer[s.remote]++
			}
		}
		perAgent = append(perAgent, n)
	}
	return perAgent, perServer, nil
}

func subset(o options, missed *bool) error {
	srv, err := startServers(o.subsetServers, o.port)
	if err != nil {
		return err
	}
	defer srv.stop()
	for _, mode := range []string{"i/C", "statistical"} {
		var agents []*agent
		stopAll := func() {
			for _, a := range agents {
				a.stop()
			}
		}
		for i := range o.agents {
			extra := []string{"--subset-size", strconv.Itoa(o.subsetSize)}
			if mode == "i/C" {
				extra = append(extra, "--subset-id", fmt.Sprintf("%d/%d", i, o.agents))
			}
			a, err := startAgent(o, fmt.Sprintf("subset-%d", i), srv.addrs, o.port+1+2*i, o.port+2+2*i, extra...)
			if err != nil {
				stopAll()
				return err
			}
			agents = append(agents, a)
		}
		for _, a := range agents {
			if err := a.waitReady(min(o.subsetSize, o.subsetServers)); err != nil {
				stopAll()
				return err
			}
		}
		perAgent, perServer, err := spread(agents, srv)
		stopAll()
		if err != nil {
			return err
		}
		hist := map[int]int{}
		lo, hi := o.agents, 0
		for _, n := range perServer {
			hist[n]++
			lo, hi = min(lo, n), max(hi, n)
		}
		fmt.Printf("\n## subset (%s): %d agents, --subset-size %d, over %d servers\n\n", mode, o.agents, o.subsetSize, o.subsetServers)
		fmt.Printf("connections per agent: %v\n\n", perAgent)
		fmt.Println("| connections to a server | servers |")
		fmt.Println("|---|---|")
		for n := lo; n <= hi; n++ {
			fmt.Printf("| %d | %d |\n", n, hist[n])
		}
		fmt.Println()
		if mode != "i/C" {
			continue
		}
		total := o.agents * min(o.subsetSize, o.subsetServers)
		floor, ceil := total/o.subsetServers, (total+o.subsetServers-1)/o.subsetServers
		check(missed, "every agent holds --subset-size connections",
			slices.Min(perAgent) == min(o.subsetSize, o.subsetServers) && slices.Max(perAgent) == min(o.subsetSize, o.subsetServers),
			"%d–%d", slices.Min(perAgent), slices.Max(perAgent))
		check(missed, fmt.Sprintf("every server has %d or %d connections", floor, ceil), lo >= floor && hi <= ceil,
			"%d–%d", lo, hi)
	}
	return nil
}

func refusing(o options, missed *bool) error {
	var addrs []string
	for i := range o.servers {
		addrs = append(addrs, net.JoinHostPort(addr(i), strconv.Itoa(o.port)))
	}
	// Nothing listens on o.port at these addresses: prove it for the first.
	if c, err := net.DialTimeout("tcp", addrs[0], time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s accepts connections; pick another -port", addrs[0])
	}
	a, err := startAgent(o, "refusing", addrs, o.port+1, o.port+2, "--subset-size", "0")
	if err != nil {
		return err
	}
	defer a.stop()
	time.Sleep(o.settle) // the measurement is of the agent after this long, by definition
	s0, err := procstat.ReadStat(a.pid())
	if err != nil {
		return err
	}
	start := time.Now()
	time.Sleep(o.measure)
	s1, err := procstat.ReadStat(a.pid())
	if err != nil {
		return err
	}
	share := float64(s1.CPU-s0.CPU) / float64(time.Since(start)) * 100
	s, err := a.sample()
	if err != nil {
		return err
	}
	fmt.Printf("\n## refusing: one agent over %d endpoints that refuse connections\n\n", o.servers)
	fmt.Println("| CPU, % of a core | VmRSS MiB | goroutines |")
	fmt.Println("|---|---|---|")
	fmt.Printf("| %.2f (%s after %s) | %.1f | %d |\n\n", share, o.measure, o.settle, mib(s.rss), s.goroutines)
	check(missed, "idle CPU ≤ 2% of a core", share <= 2, "%.2f%%", share)
	return nil
}

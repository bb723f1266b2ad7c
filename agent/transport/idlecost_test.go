package transport

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// idleServersEnv, set to N, turns TestIdleServersHelper into a process
// serving N idle gRPC servers for BenchmarkIdleClientConns.
const idleServersEnv = "ROUNDABOUT_IDLE_SERVERS"

// TestIdleServersHelper is not a test: run by BenchmarkIdleClientConns in a
// process of its own, it starts N gRPC servers on loopback, prints their
// addresses, and serves until its standard input closes.
func TestIdleServersHelper(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(idleServersEnv))
	if n == 0 {
		t.Skip("runs only as BenchmarkIdleClientConns' server process")
	}
	out := bufio.NewWriter(os.Stdout)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go grpc.NewServer().Serve(ln)
		fmt.Fprintln(out, ln.Addr())
	}
	out.Flush()
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// BenchmarkIdleClientConns measures what an idle client-role Conn costs:
// one op is one connection to a gRPC server of its own, run in another
// process so that only the client side is counted, once its SETTINGS
// exchange is over. It reports the heap (in use, with goroutine stacks)
// and resident set added per connection, and goroutines per connection.
// Run it with -benchtime=1000x.
func BenchmarkIdleClientConns(b *testing.B) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleServersHelper$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", idleServersEnv, b.N))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	addrs := make([]string, 0, b.N)
	sc := bufio.NewScanner(stdout)
	for len(addrs) < b.N && sc.Scan() {
		addrs = append(addrs, strings.TrimSpace(sc.Text()))
	}
	if len(addrs) < b.N {
		b.Fatalf("the server process started %d servers of %d", len(addrs), b.N)
	}

	heap0, rss0, g0 := idleFootprint()
	b.ResetTimer()
	conns := make([]*Conn, 0, b.N)
	for _, addr := range addrs {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		ready := make(chan struct{})
		c, err := NewClientConn(nc, Config{ProbeAfter: DefaultProbeAfter, KeepaliveTime: time.Minute}, Events{Ready: func() { close(ready) }})
		if err != nil {
			b.Fatal(err)
		}
		<-ready
		conns = append(conns, c)
	}
	b.StopTimer()
	// Settle: the SETTINGS acknowledgements are written and the writers
	// ended.
	for _, c := range conns {
		for c.procs.Load() > 1 || c.bufs.Load() > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	heap1, rss1, g1 := idleFootprint()
	n := float64(b.N)
	b.ReportMetric(float64(heap1-heap0)/n, "heap-B/conn")
	b.ReportMetric(float64(rss1-rss0)/n, "rss-B/conn")
	b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")
	for _, c := range conns {
		c.Close()
	}
}

// idleFootprint returns, after a garbage collection, the bytes of heap
// and goroutine stacks in use, the resident set and the goroutines.
func idleFootprint() (heap, rss uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse, vmRSS(), runtime.NumGoroutine()
}

func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

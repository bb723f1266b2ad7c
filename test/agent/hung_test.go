package agent

import (
	"bufio"
	"encoding/json"
	"flag"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

var hungStop = flag.Duration("hung-stop", 25*time.Second,
	"how long TestStoppedServerCostsFewCalls keeps one greet-server stopped; -short makes it 8s")

// TestStoppedServerCostsFewCalls is the hung-server scenario with real
// processes and the agent's default settings: three greet-servers, 100
// calls per second with 2 s deadlines, and one server stopped with SIGSTOP
// for 25 s. The agent's probe finds the stopped server within seconds and
// ejects it, at most 5% of all calls fail, and after SIGCONT the server is
// re-admitted by a PING and serves again.
func TestStoppedServerCostsFewCalls(t *testing.T) {
	const (
		rate     = 100
		deadline = 2 * time.Second
		warmup   = 3 * time.Second
		after    = 5 * time.Second
	)
	stop := *hungStop
	if testing.Short() {
		stop = 8 * time.Second
	}
	calls := int((warmup + stop + after).Seconds() * rate)

	hosts := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	port := strconv.Itoa(procs.FreePort(t, hosts[0]))
	var servers []*procs.Proc
	var addrs []string
	for i, h := range hosts {
		servers = append(servers, procs.Start(t, "greet-server",
			[]string{"POD_NAME=greet-" + strconv.Itoa(i), "POD_IP=" + h, "GRPC_PORT=" + port}))
		addrs = append(addrs, net.JoinHostPort(h, port))
	}
	for _, a := range addrs {
		procs.WaitTCP(t, a)
	}
	victim := servers[1]
	// Registered after Start, so it runs first: a stopped process would
	// not exit on the SIGTERM that ends it.
	t.Cleanup(func() { victim.Cmd.Process.Signal(syscall.SIGCONT) })

	a := startAgent(t, "--endpoints", strings.Join(addrs, ","))
	cc, err := grpc.NewClient(a.listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	l := greettest.StartOpenLoad(greetv1.NewGreetServiceClient(cc), rate, calls, deadline)

	time.Sleep(warmup) // the stop comes at a set point of the load
	if l.AnsweredBy("greet-1") == 0 {
		t.Fatal("greet-1 answered no call before it was stopped")
	}
	stoppedAt := time.Now()
	if err := victim.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(stop)
	contAt := time.Now()
	if err := victim.Cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	results := l.Wait(t, time.Duration(calls/rate)*time.Second+2*deadline+10*time.Second)

	ejectedAt := logLineTime(t, a, "endpoint ejected", addrs[1])
	readmittedAt := logLineTime(t, a, "endpoint re-admitted", addrs[1])
	failed, pinged, byCode := 0, 0, map[codes.Code]int{}
	servedAfter := 0
	for _, r := range results {
		if r.Err == nil {
			if r.Pod == "greet-1" && r.Start.After(readmittedAt) {
				servedAfter++
			}
			continue
		}
		failed++
		byCode[status.Code(r.Err)]++
		if strings.Contains(r.Err.Error(), "PING not answered") {
			pinged++
		}
	}
	t.Logf("stopped %v: %d of %d calls failed (%.2f%%, by code %v, %d naming the PING); ejected %v after SIGSTOP, re-admitted %v after SIGCONT",
		stop, failed, len(results), 100*float64(failed)/float64(len(results)), byCode, pinged,
		ejectedAt.Sub(stoppedAt).Round(time.Millisecond), readmittedAt.Sub(contAt).Round(time.Millisecond))
	if len(results) != calls {
		t.Fatalf("%d results for %d calls", len(results), calls)
	}
	if failed*100 > 5*calls {
		t.Errorf("%d of %d calls failed, more than 5%%", failed, calls)
	}
	if d := ejectedAt.Sub(stoppedAt); d < 0 || d > 5*time.Second {
		t.Errorf("ejected %v after SIGSTOP, want within 5s", d)
	}
	if d := readmittedAt.Sub(contAt); d < 0 || d > 10*time.Second {
		t.Errorf("re-admitted %v after SIGCONT, want within 10s", d)
	}
	if pinged == 0 {
		t.Error("no call caught on the stopped server failed naming the unanswered PING")
	}
	if servedAfter == 0 {
		t.Error("greet-1 answered no call after its re-admission")
	}
}

// logLineTime is the time of the first agent log line with msg about
// endpoint; the test fails without one.
func logLineTime(t *testing.T, a *agentProc, msg, endpoint string) time.Time {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(a.Out.String()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			TS       string `json:"ts"`
			Msg      string `json:"msg"`
			Endpoint string `json:"endpoint"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != msg || line.Endpoint != endpoint {
			continue
		}
		ts, err := time.Parse("2006-01-02T15:04:05.000Z0700", line.TS)
		if err != nil {
			t.Fatalf("log line %s: %v", sc.Text(), err)
		}
		return ts
	}
	t.Fatalf("no %q log line for %s in:\n%s", msg, endpoint, a.Out.String())
	return time.Time{}
}

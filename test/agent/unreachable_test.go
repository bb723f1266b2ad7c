package agent

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// blackholeAddr is an address on host that drops connection attempts: a
// socket listens there with a backlog of 0 and never accepts, and the one
// connection its queue holds is made here, so the kernel drops every later
// SYN and a dial to it waits out its timeout, as to a host that is gone.
func blackholeAddr(t *testing.T, host string) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "blackhole")
	t.Cleanup(func() { f.Close() })
	ip := net.ParseIP(host).To4()
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte(ip)}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: ip, Port: sa.(*syscall.SockaddrInet4).Port}).String()
	for filled := 0; ; filled++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		var ne net.Error
		switch {
		case err == nil:
			t.Cleanup(func() { c.Close() })
			if filled > 8 {
				t.Fatalf("%s still takes connections after %d: its queue never fills", addr, filled)
			}
			continue
		case errors.As(err, &ne) && ne.Timeout():
			return addr
		default:
			t.Fatalf("dial %s: %v, want a timeout once its queue is full", addr, err)
		}
	}
}

// TestUnreachableEndpointsDelayNoCall: an agent over a live endpoint, one
// that refuses connections and one that drops them serves its calls from
// the live one as soon as it is connected, the refusing one having failed. When every call has returned,
// the dropping endpoint's first dial is still pending (its 5 s timeout has
// not fired), so none of them waited for it; the agent turns ready before
// it fires too. Then the dial does time out, which shows that the endpoint was
// unreachable all along.
func TestUnreachableEndpointsDelayNoCall(t *testing.T) {
	live := procs.GreetServers(t, "127.0.0.2")[0]
	refused := closedAddr(t, "127.0.0.3")
	hole := blackholeAddr(t, "127.0.0.4")
	a := launchAgent(t, "--endpoints", strings.Join([]string{live, refused, hole}, ","), "--strategy", "round-robin")

	states := func() map[string]string {
		var doc struct {
			Upstreams []struct {
				Endpoints []struct{ Addr, State string }
			}
		}
		getJSON(t, "http://"+a.admin+"/debug/endpoints", &doc)
		out := map[string]string{}
		for _, e := range doc.Upstreams[0].Endpoints {
			out[e.Addr] = e.State
		}
		return out
	}
	failed := func(addr string) bool {
		for line := range strings.SplitSeq(a.Out.String(), "\n") {
			if strings.Contains(line, "endpoint connect failed") && strings.Contains(line, addr) {
				return true
			}
		}
		return false
	}
	procs.WaitHTTP(t, "http://"+a.admin+"/healthz")
	for deadline := time.Now().Add(10 * time.Second); states()[live] != "ready" || !failed(refused); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the live endpoint never became ready or the refusing one never failed: %v", states())
		}
	}

	c := greetClient(t, a.listen)
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Near"})
		took := time.Since(start)
		cancel()
		if err != nil {
			t.Fatalf("call %d failed after %s: %v", i, took, err)
		}
		if !strings.Contains(resp.GetResult(), "greet-0") {
			t.Fatalf("call %d answered %q, want the live endpoint greet-0", i, resp.GetResult())
		}
		if took > time.Second {
			t.Errorf("call %d took %s", i, took)
		}
	}
	st := states()
	if failed(hole) || st[hole] != "connecting" {
		t.Fatalf("the dropping endpoint's first dial ended before the calls did (state %q); "+
			"the calls cannot show that they did not wait for it", st[hole])
	}
	if st[refused] == "ready" {
		t.Fatalf("the refusing endpoint %s is ready", refused)
	}
	// Readiness waits for first attempts for a while (1 s), not for them
	// all to end.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body := readyz(a)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz %d %q", code, body)
		}
	}
	if failed(hole) || states()[hole] != "connecting" {
		t.Fatal("the agent turned ready only once the dropping endpoint's dial had timed out")
	}

	for deadline := time.Now().Add(15 * time.Second); !failed(hole); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the dial to the dropping endpoint %s never timed out", hole)
		}
	}
}

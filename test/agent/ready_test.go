package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// closedAddr is an address on host where nothing listens: connections to
// it are refused.
func closedAddr(t *testing.T, host string) string {
	t.Helper()
	return net.JoinHostPort(host, strconv.Itoa(procs.FreePort(t, host)))
}

// readyz returns /readyz's status code and body, or 0 and the error.
func readyz(a *agentProc) (int, string) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + a.admin + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReadyWithin waits for /readyz to answer 200 and fails when that
// takes longer than limit from start.
func waitReadyWithin(t *testing.T, a *agentProc, start time.Time, limit time.Duration) time.Duration {
	t.Helper()
	for {
		code, body := readyz(a)
		if code == http.StatusOK {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("not ready %s after start: %d %s", limit, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func greetClient(t *testing.T, addr string) greetv1.GreetServiceClient {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return greetv1.NewGreetServiceClient(cc)
}

// checkFailsFast makes calls with a 5 s deadline and checks that each
// fails within 1 s with UNAVAILABLE naming the upstream greet.
func checkFailsFast(t *testing.T, c greetv1.GreetServiceClient, calls int) {
	t.Helper()
	for range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Down"})
		cancel()
		d := time.Since(start)
		st := status.Convert(err)
		if st.Code() != codes.Unavailable || !strings.Contains(st.Message(), `upstream "greet"`) {
			t.Fatalf("call with no usable endpoint: %v; want UNAVAILABLE naming upstream \"greet\"", err)
		}
		if d > time.Second {
			t.Fatalf("call with no usable endpoint failed after %s, want at once", d)
		}
	}
}

// checkStaysReady polls /readyz for d and fails on any answer but 200.
func checkStaysReady(t *testing.T, a *agentProc, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if code, body := readyz(a); code != http.StatusOK {
			t.Fatalf("/readyz turned %d %s", code, body)
		}
	}
}

// TestOnlyEndpointDownIsReadyAndFailsFast: an agent whose only endpoint
// refuses connections is ready within 3 s, fails calls at once with
// UNAVAILABLE naming the upstream, and stays ready while the endpoint is
// down and ejected.
func TestOnlyEndpointDownIsReadyAndFailsFast(t *testing.T) {
	down := closedAddr(t, "127.0.0.2")
	start := time.Now()
	a := launchAgent(t, "--endpoints", down, "--eject-failures", "1")
	took := waitReadyWithin(t, a, start, 3*time.Second)
	t.Logf("ready %s after start with its only endpoint down", took.Round(time.Millisecond))
	if _, body := readyz(a); body != "ok" {
		t.Errorf("/readyz body %q, want ok", body)
	}
	checkFailsFast(t, greetClient(t, a.listen), 20)
	checkStaysReady(t, a, 2*time.Second)
	var doc struct {
		Upstreams []struct {
			Endpoints []struct{ Addr, State string }
		}
	}
	getJSON(t, "http://"+a.admin+"/debug/endpoints", &doc)
	if eps := doc.Upstreams[0].Endpoints; len(eps) != 1 || eps[0].Addr != down || eps[0].State == "ready" {
		t.Fatalf("/debug/endpoints: %+v, want %s not ready", doc, down)
	}
}

// TestNoEndpointsIsReadyAndFailsFast: an endpoints file that lists no
// endpoint is a synced discovery: the agent is ready, calls fail at once,
// and an endpoint written later takes them.
func TestNoEndpointsIsReadyAndFailsFast(t *testing.T) {
	file := filepath.Join(t.TempDir(), "endpoints")
	writeAtomic(t, file, "# no endpoints yet\n")
	start := time.Now()
	a := launchAgent(t, "--endpoints-file", file)
	waitReadyWithin(t, a, start, 3*time.Second)
	c := greetClient(t, a.listen)
	checkFailsFast(t, c, 5)

	servers := procs.GreetServers(t, "127.0.0.2")
	writeAtomic(t, file, servers[0]+"\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Greet(context.Background(), &greetv1.GreetRequest{FirstName: "Later"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint written later took no call: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReadyFindsReachableEndpointsConnected: readiness waits for the first
// connection attempts, so when it turns ready every endpoint that is up
// is already connected, and a call made at once succeeds.
func TestReadyFindsReachableEndpointsConnected(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	a := startAgent(t, "--endpoints", strings.Join(append(servers, closedAddr(t, "127.0.0.5")), ","))
	var doc struct {
		Upstreams []struct {
			Endpoints []struct{ Addr, State string }
		}
	}
	getJSON(t, "http://"+a.admin+"/debug/endpoints", &doc)
	ready := 0
	for _, e := range doc.Upstreams[0].Endpoints {
		if e.State == "ready" {
			ready++
		}
	}
	if ready != len(servers) {
		t.Fatalf("/debug/endpoints when ready: %+v, want the %d listening endpoints ready", doc, len(servers))
	}
	if _, err := greetClient(t, a.listen).Greet(context.Background(), &greetv1.GreetRequest{FirstName: "First"}); err != nil {
		t.Fatalf("first call once ready: %v", err)
	}
}

// TestReadyWaitsBoundedForFirstConnections: an endpoint whose handshake
// takes 500 ms is connected when the agent turns ready, and one that
// accepts but never answers holds readiness for the 1 s warm-up only.
func TestReadyWaitsBoundedForFirstConnections(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2")
	slow := delayedProxy(t, "127.0.0.3", servers[0], 500*time.Millisecond)
	silent := delayedProxy(t, "127.0.0.4", "", 0)
	start := time.Now()
	a := launchAgent(t, "--endpoints", slow+","+silent)
	took := waitReadyWithin(t, a, start, 3*time.Second)
	if took < 500*time.Millisecond {
		t.Errorf("ready %s after start, before the slow endpoint's handshake", took)
	}
	var doc struct {
		Upstreams []struct {
			Endpoints []struct{ Addr, State string }
		}
	}
	getJSON(t, "http://"+a.admin+"/debug/endpoints", &doc)
	for _, e := range doc.Upstreams[0].Endpoints {
		if want := map[string]string{slow: "ready", silent: "connecting"}[e.Addr]; e.State != want {
			t.Errorf("endpoint %s is %s when the agent turns ready, want %s", e.Addr, e.State, want)
		}
	}
}

// delayedProxy listens on host and, delay after accepting a connection,
// relays it to target; with no target it holds connections unanswered.
func delayedProxy(t *testing.T, host, target string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if target == "" {
				continue
			}
			go func() {
				time.Sleep(delay)
				up, err := net.Dial("tcp", target)
				if err != nil {
					c.Close()
					return
				}
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

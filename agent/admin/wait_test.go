package admin

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestWaitReadyReturnsOnceReady(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			t.Errorf("asked %s, want /readyz", r.URL.Path)
		}
		if asked.Add(1) < 4 {
			writeText(w, http.StatusServiceUnavailable, "upstream greet: endpoint discovery has not synced yet")
			return
		}
		writeText(w, http.StatusOK, "ok")
	}))
	defer srv.Close()
	start := time.Now()
	if err := WaitReady(context.Background(), srv.Listener.Addr().String(), 10*time.Second, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n != 4 {
		t.Errorf("asked %d times, want 4: it stops at the first 200", n)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s for four polls 10ms apart", d)
	}
}

func TestWaitReadyTimesOutNamingTheLastAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusServiceUnavailable, "upstream greet: forbidden to list endpointslices\n")
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	start := time.Now()
	err := WaitReady(context.Background(), addr, 300*time.Millisecond, 20*time.Millisecond)
	if err == nil {
		t.Fatal("ready from a server that never is")
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("gave up after %s, want the 300ms timeout", d)
	}
	for _, want := range []string{"http://" + addr + "/readyz", "not ready after 300ms",
		"503 Service Unavailable", "upstream greet: forbidden to list endpointslices"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestWaitReadyTimesOutNamingTheLastError(t *testing.T) {
	addr := closedAddr(t)
	err := WaitReady(context.Background(), addr, 200*time.Millisecond, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "http://"+addr+"/readyz") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v, want the URL and the refused connection", err)
	}
}

// A request that hangs is cut at the request timeout and asked again.
func TestWaitReadyAsksAgainAfterAHungRequest(t *testing.T) {
	var asked atomic.Int32
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		writeText(w, http.StatusOK, "ok")
	}))
	defer srv.Close()
	start := time.Now()
	if err := WaitReady(context.Background(), srv.Listener.Addr().String(), 10*time.Second, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < waitRequestTimeout || d > waitRequestTimeout+2*time.Second {
		t.Errorf("ready after %s, want about the %s request timeout", d, waitRequestTimeout)
	}
}

func TestLoopbackIfUnspecified(t *testing.T) {
	for in, want := range map[string]string{
		":9901": "127.0.0.1:9901", "0.0.0.0:9901": "127.0.0.1:9901", "[::]:9901": "[::1]:9901",
		"10.0.0.5:9901": "10.0.0.5:9901", "localhost:9901": "localhost:9901",
	} {
		if got := loopbackIfUnspecified(in); got != want {
			t.Errorf("loopbackIfUnspecified(%q) = %q, want %q", in, got, want)
		}
	}
}

// WaitDrained against the agent's own admin server: it returns once the
// count falls to zero, and once the agent has stopped.
func TestWaitDrainedReturnsOnceNoConnectionIsLeft(t *testing.T) {
	var open atomic.Int32
	open.Store(2)
	s := startServer(t, Config{Connections: func() int { return int(open.Load()) }})
	if code, body, _ := get(t, s, "/connections"); code != http.StatusOK || body != "2" {
		t.Fatalf("/connections = %d %q, want 200 \"2\"", code, body)
	}
	time.AfterFunc(200*time.Millisecond, func() { open.Store(0) })
	start := time.Now()
	n, err := WaitDrained(context.Background(), s.Addr(), 10*time.Second, 10*time.Millisecond)
	if err != nil || n != 0 {
		t.Fatalf("WaitDrained = %d, %v", n, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("drained after %s, before the connections closed", d)
	}
}

func TestWaitDrainedTimesOutWithTheConnectionsLeft(t *testing.T) {
	s := startServer(t, Config{Connections: func() int { return 3 }})
	n, err := WaitDrained(context.Background(), s.Addr(), 200*time.Millisecond, 10*time.Millisecond)
	if n != 3 || err == nil || !strings.Contains(err.Error(), "http://"+s.Addr()+"/connections") ||
		!strings.Contains(err.Error(), "3 client connections open") {
		t.Fatalf("WaitDrained = %d, %v; want 3 and an error naming the URL and the count", n, err)
	}
}

func TestWaitDrainedReturnsWhenTheAgentIsGone(t *testing.T) {
	addr := closedAddr(t)
	if n, err := WaitDrained(context.Background(), addr, 10*time.Second, 10*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("WaitDrained with no agent = %d, %v; want at once 0, nil", n, err)
	}
}

// closedAddr is a loopback address where nothing listens: connections to
// it are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

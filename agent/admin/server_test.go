package admin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s := New(cfg)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func get(t *testing.T, s *Server, path string) (int, string, http.Header) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + s.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func TestHealthz(t *testing.T) {
	s := startServer(t, Config{})
	code, body, _ := get(t, s, "/healthz")
	if code != http.StatusOK || body != "ok" {
		t.Fatalf("/healthz = %d %q, want 200 \"ok\"", code, body)
	}
}

func TestReadyz(t *testing.T) {
	var readyErr error
	s := startServer(t, Config{Ready: func() error { return readyErr }})

	code, body, _ := get(t, s, "/readyz")
	if code != http.StatusOK || body != "ok" {
		t.Fatalf("ready /readyz = %d %q, want 200 \"ok\"", code, body)
	}
	readyErr = errors.New("no endpoint connected yet")
	code, body, _ = get(t, s, "/readyz")
	if code != http.StatusServiceUnavailable || body != "no endpoint connected yet" {
		t.Fatalf("not-ready /readyz = %d %q, want 503 with the reason", code, body)
	}
}

func TestReadyzWithoutCheckIsReady(t *testing.T) {
	s := startServer(t, Config{})
	if code, _, _ := get(t, s, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d, want 200", code)
	}
}

func TestMetricsServesGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "roundabout_agent_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(7)
	s := startServer(t, Config{Gatherer: reg})

	code, body, _ := get(t, s, "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "roundabout_agent_test_total 7") {
		t.Fatalf("/metrics = %d %q, want 200 with the counter", code, body)
	}
}

func TestDebugEndpoints(t *testing.T) {
	type ep struct {
		Addr  string `json:"addr"`
		State string `json:"state"`
	}
	for _, tc := range []struct {
		upstreams []any
		want      string
	}{
		{nil, "{\n  \"upstreams\": []\n}\n"},
		{[]any{ep{Addr: "10.0.0.1:80", State: "ready"}},
			"{\n  \"upstreams\": [\n    {\n      \"addr\": \"10.0.0.1:80\",\n      \"state\": \"ready\"\n    }\n  ]\n}\n"},
		{[]any{ep{Addr: "a:1"}, ep{Addr: "b:2"}},
			"{\n  \"upstreams\": [\n    {\n      \"addr\": \"a:1\",\n      \"state\": \"\"\n    },\n    {\n      \"addr\": \"b:2\",\n      \"state\": \"\"\n    }\n  ]\n}\n"},
	} {
		s := startServer(t, Config{Debug: func() []any { return tc.upstreams }})
		code, body, h := get(t, s, "/debug/endpoints")
		if code != http.StatusOK || body != tc.want {
			t.Fatalf("/debug/endpoints over %d upstreams = %d %q, want 200 %q", len(tc.upstreams), code, body, tc.want)
		}
		if ct := h.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type = %q, want application/json", ct)
		}
	}
}

func TestDebugEndpointsEncodingError(t *testing.T) {
	s := startServer(t, Config{Debug: func() []any { return []any{map[string]any{"bad": make(chan int)}} }})
	if code, _, _ := get(t, s, "/debug/endpoints"); code != http.StatusInternalServerError {
		t.Fatalf("/debug/endpoints with unencodable value = %d, want 500", code)
	}
}

func TestDebugEndpointsAbsentWithoutDebug(t *testing.T) {
	s := startServer(t, Config{})
	if code, _, _ := get(t, s, "/debug/endpoints"); code != http.StatusNotFound {
		t.Fatalf("/debug/endpoints without Debug = %d, want 404", code)
	}
}

func TestStartErrorNamesAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = New(Config{Addr: ln.Addr().String()}).Start()
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on a used address = %v, want an error naming %s", err, ln.Addr())
	}
}

func TestShutdownStopsServing(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:0"})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s after Shutdown succeeded, want refused", addr)
	}
}

func TestShutdownBeforeStart(t *testing.T) {
	if err := New(Config{Addr: "127.0.0.1:0"}).Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start = %v, want nil", err)
	}
}

// TestShutdownWaitsForHandlers: Shutdown whose context has ended closes the
// connections at once and still returns only after the handler in progress
// has returned.
func TestShutdownWaitsForHandlers(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	s := New(Config{Addr: "127.0.0.1:0", Debug: func() []any {
		close(entered)
		<-release
		returned.Store(true)
		return []any{"late"}
	}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	requested := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/debug/endpoints")
		if err == nil {
			resp.Body.Close()
		}
		requested <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Had Shutdown not waited for the handler, it would return before the
	// handler is released.
	time.AfterFunc(50*time.Millisecond, func() { close(release) })
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a request in progress and no time = %v, want %v", err, context.Canceled)
	}
	if !returned.Load() {
		t.Fatal("Shutdown returned while a handler was still running")
	}
	<-requested
}

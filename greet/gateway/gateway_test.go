package gateway_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/roundabout-dev/roundabout/greet/gateway"
	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// newGateway returns a gateway handler in front of the greet server at addr.
func newGateway(t testing.TB, addr string, timeout time.Duration) http.Handler {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("SplitHostPort(%s): %v", addr, err)
	}
	port, _ := strconv.Atoi(portStr)
	cfg := gateway.Config{ServerHost: host, ServerPort: port, Timeout: timeout, LBPolicy: gateway.PolicyPickFirst}
	gw, err := gateway.New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return gw.Handler()
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/greet", strings.NewReader(body)))
	return rec
}

// errorJSON is the error body the gateway answers with.
type errorJSON struct {
	Error       string `json:"error"`
	Field       string `json:"field"`
	GRPCCode    string `json:"grpc_code"`
	GRPCMessage string `json:"grpc_message"`
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorJSON {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e errorJSON
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body.String(), err)
	}
	return e
}

func TestGreetReturnsServerResult(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "greet-a")
	rec := post(newGateway(t, srv.Addr(), 5*time.Second), `{"first_name":"Ada","last_name":"Lovelace"}`)
	want := "response from Greet rpc: Hello, Ada Lovelace from pod: name(greet-a), ip(127.0.0.2)."
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("got %d %q, want 200 %q", rec.Code, rec.Body.String(), want)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", ct)
	}
}

func TestClientMistakesAre400NamingTheField(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "greet-a")
	h := newGateway(t, srv.Addr(), 5*time.Second)
	tests := map[string]struct{ body, field string }{
		"malformed json":     {`{"first_name":`, "body"},
		"empty body":         {``, "body"},
		"array":              {`[]`, "body"},
		"trailing data":      {`{"first_name":"Ada"} {}`, "body"},
		"unknown field":      {`{"first_name":"Ada","age":36}`, "age"},
		"missing first_name": {`{"last_name":"Lovelace"}`, "first_name"},
		"empty first_name":   {`{"first_name":""}`, "first_name"},
		"null first_name":    {`{"first_name":null}`, "first_name"},
		"numeric first_name": {`{"first_name":7}`, "first_name"},
		"long last_name":     {`{"first_name":"Ada","last_name":"` + strings.Repeat("x", 300) + `"}`, "last_name"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := post(h, tc.body)
			e := decodeError(t, rec)
			if rec.Code != http.StatusBadRequest || e.Field != tc.field || !strings.Contains(e.Error, tc.field) {
				t.Errorf("got %d %+v, want 400 naming %s", rec.Code, e, tc.field)
			}
		})
	}
	if got := srv.Requests(); got != 0 {
		t.Errorf("server received %d requests for bad bodies, want 0", got)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "greet-a")
	rec := post(newGateway(t, srv.Addr(), 5*time.Second), `{"first_name":"`+strings.Repeat("x", 1<<20)+`"}`)
	if e := decodeError(t, rec); rec.Code != http.StatusRequestEntityTooLarge || e.Field != "body" {
		t.Errorf("got %d %+v, want 413 naming body", rec.Code, e)
	}
}

func TestUpstreamFailures(t *testing.T) {
	tests := map[string]struct {
		opts    []greettest.Option
		timeout time.Duration
		status  int
		code    string
	}{
		"unavailable": {[]greettest.Option{greettest.WithFailRate(1, nil)}, 5 * time.Second,
			http.StatusBadGateway, "Unavailable"},
		"deadline exceeded": {[]greettest.Option{greettest.WithDelay(time.Second)}, 100 * time.Millisecond,
			http.StatusGatewayTimeout, "DeadlineExceeded"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := greettest.Start(t, "127.0.0.2:0", "greet-a", tc.opts...)
			rec := post(newGateway(t, srv.Addr(), tc.timeout), `{"first_name":"Ada"}`)
			e := decodeError(t, rec)
			if rec.Code != tc.status || e.GRPCCode != tc.code || e.GRPCMessage == "" {
				t.Errorf("got %d %+v, want %d with grpc_code %s and a message", rec.Code, e, tc.status, tc.code)
			}
		})
	}
}

func TestKilledServerIs502(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "greet-a")
	h := newGateway(t, srv.Addr(), 5*time.Second)
	if rec := post(h, `{"first_name":"Ada"}`); rec.Code != http.StatusOK {
		t.Fatalf("before kill: got %d %q, want 200", rec.Code, rec.Body.String())
	}
	srv.Kill()
	rec := post(h, `{"first_name":"Ada"}`)
	if e := decodeError(t, rec); rec.Code != http.StatusBadGateway || e.GRPCCode != "Unavailable" {
		t.Errorf("after kill: got %d %+v, want 502 Unavailable", rec.Code, e)
	}
}

func TestRoutes(t *testing.T) {
	h := newGateway(t, "127.0.0.2:1", time.Second)
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodGet, "/greet", http.StatusMethodNotAllowed},
		{http.MethodPost, "/nowhere", http.StatusNotFound},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	srv := greettest.Start(t, "127.0.0.2:0", "greet-a")
	host, portStr, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(portStr)
	lis, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	cfg := gateway.Config{ServerHost: host, ServerPort: port, Timeout: time.Second, LBPolicy: gateway.PolicyPickFirst}
	go func() { ran <- gateway.Run(ctx, cfg, lis, zaptest.NewLogger(t)) }()
	resp, err := http.Post("http://"+lis.Addr().String()+"/greet", "application/json", strings.NewReader(`{"first_name":"Ada"}`))
	if err != nil {
		t.Fatalf("POST /greet: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST /greet = %d, want 200", resp.StatusCode)
	}
	stop()
	if err := <-ran; err != nil {
		t.Errorf("Run = %v, want nil after shutdown", err)
	}
}

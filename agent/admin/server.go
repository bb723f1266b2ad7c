// Package admin serves the agent's operational HTTP endpoints:
//
//	/metrics          Prometheus metrics
//	/healthz          200 "ok" while the process serves
//	/readyz           200 "ok" when ready, 503 with the reason otherwise
//	/connections      the number of client connections open to the proxies
//	/debug/endpoints  the agent's view of its endpoints, as indented JSON
//
// WaitReady and WaitDrained are the other side of /readyz and
// /connections, for the agent's wait-ready and drain-wait subcommands.
package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// readHeaderTimeout bounds how long a client may take to send its headers.
const readHeaderTimeout = 10 * time.Second

// Config describes an admin server.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	Addr string
	// Gatherer is what /metrics exposes; nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Ready reports whether the agent can serve traffic: nil means ready.
	// A nil Ready function means always ready.
	Ready func() error
	// Connections returns the number of client connections open to the
	// agent's proxies. When nil, /connections is not served.
	Connections func() int
	// Debug returns the state of each upstream, in the order the agent was
	// given them; /debug/endpoints serves it as EndpointsDoc. When nil,
	// /debug/endpoints is not served.
	Debug func() []any
	// Logger receives the server's lifecycle and error logs; nil discards them.
	Logger *zap.Logger
}

// Server is the admin HTTP server. Start and Shutdown are meant to be
// called once each, from the goroutine that owns the server.
type Server struct {
	cfg      Config
	log      *zap.Logger
	srv      *http.Server
	listener net.Listener
	done     chan struct{}

	mu       sync.Mutex
	stopping bool           // Shutdown started: requests not yet in a handler are refused
	handlers sync.WaitGroup // requests in a handler
}

// New returns a server for cfg. It does not listen until Start.
func New(cfg Config) *Server {
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           s.track(s.routes()),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          zap.NewStdLog(cfg.Logger),
	}
	return s
}

// Start binds the configured address and serves in the background. The
// error names the address when it cannot be bound.
func (s *Server) Start() error {
	if s.listener != nil {
		return errors.New("admin server already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("admin server: listen on %q: %w", s.cfg.Addr, err)
	}
	s.listener = ln
	s.log.Info("admin server listening", zap.String("addr", ln.Addr().String()))
	go s.serve()
	return nil
}

func (s *Server) serve() {
	defer close(s.done)
	if err := s.srv.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Error("admin server stopped", zap.Error(err))
	}
}

// Shutdown stops accepting connections and waits, until ctx is done, for
// the requests in progress to finish; then it closes the connections left
// and returns ctx's error. Either way it returns once every handler has
// returned, so nothing of the server logs afterwards. It is a no-op if the
// server never started.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.listener == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.handlers.Wait()
	s.log.Info("admin server stopped", zap.String("addr", s.Addr()))
	return err
}

// track counts the requests in h, so that Shutdown can wait for them; a
// request that reaches it once Shutdown waits is refused.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			writeText(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		s.handlers.Add(1)
		s.mu.Unlock()
		defer s.handlers.Done()
		h.ServeHTTP(w, r)
	})
}

// Addr returns the bound address, or the configured one before Start.
func (s *Server) Addr() string {
	if s.listener == nil {
		return s.cfg.Addr
	}
	return s.listener.Addr().String()
}

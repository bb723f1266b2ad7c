package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(s.log),
	}))
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.cfg.Connections != nil {
		mux.HandleFunc("GET /connections", s.connections)
	}
	if s.cfg.Debug != nil {
		mux.HandleFunc("GET /debug/endpoints", s.debugEndpoints)
	}
	return mux
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.cfg.Ready == nil {
		writeText(w, http.StatusOK, "ok")
		return
	}
	if err := s.cfg.Ready(); err != nil {
		writeText(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeText(w, http.StatusOK, "ok")
}

func (s *Server) connections(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, strconv.Itoa(s.cfg.Connections()))
}

// EndpointsDoc is the one shape of /debug/endpoints, whatever the number of
// upstreams: {"upstreams": [<state of upstream 1>, ...]}, in the order the
// agent was given its upstreams. The agent's upstream state is pool.Debug:
// its strategy, its subset (size, the agent's place i/C or "statistical",
// endpoints discovered and chosen) and the endpoints connected to.
type EndpointsDoc[T any] struct {
	Upstreams []T `json:"upstreams"`
}

// debugEndpoints encodes into a buffer first so an encoding error can still
// become a 500 rather than a truncated 200.
func (s *Server) debugEndpoints(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	doc := EndpointsDoc[any]{Upstreams: s.cfg.Debug()}
	if doc.Upstreams == nil {
		doc.Upstreams = []any{}
	}
	if err := enc.Encode(doc); err != nil {
		s.log.Error("encoding /debug/endpoints", zap.Error(err))
		writeText(w, http.StatusInternalServerError, "encoding debug state: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

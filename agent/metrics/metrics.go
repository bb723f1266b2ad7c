// Package metrics holds the agent's Prometheus metrics.
//
// Every series carries the upstream label, so one Prometheus job can scrape
// many agents. The metrics are:
//
//	roundabout_agent_requests_total{upstream,endpoint,code}    finished RPCs and retried attempts, by outcome
//	roundabout_agent_request_duration_seconds{upstream}        RPC duration histogram
//	roundabout_agent_requests_in_flight{upstream,endpoint}     RPCs started and not yet finished
//	roundabout_agent_ejections_total{upstream,endpoint}        outlier ejections
//	roundabout_agent_endpoints{upstream,state}                 endpoints of the subset in use, by state
//	roundabout_agent_discovered_endpoints{upstream}            endpoints discovery lists, subset or not
//	roundabout_agent_strategy_info{upstream,strategy}          1 for the strategy in use
//
// The code of requests_total is the gRPC status the client received, by
// name: a call the client cancelled is "Canceled", and one whose client reset
// it after its deadline (grpc-timeout) passed is "DeadlineExceeded". What the
// agent did itself has codes of its own:
//
//	endpoint="none", code="NoEndpoint"  the agent answered UNAVAILABLE: no endpoint could take the request
//	endpoint=<addr>, code="Retried"     an attempt the endpoint provably never processed (refused stream,
//	                                    above a GOAWAY's last stream, connection lost before sending),
//	                                    sent again to another endpoint
//
// An attempt that sent nothing, because the picked connection closed before
// the stream opened, is not counted.
//
// Per-request accounting (Endpoint.Begin and Endpoint.End) resolves its
// label children once per endpoint and code, so the hot path neither
// allocates nor hashes label values.
//
// A nil *Upstream or *Endpoint is valid and records nothing, so a caller
// turns metrics off by holding nil rather than by checking before every
// update.
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "roundabout_agent"

// Label names.
const (
	labelUpstream = "upstream"
	labelEndpoint = "endpoint"
	labelCode     = "code"
	labelState    = "state"
	labelStrategy = "strategy"
)

// NoEndpoint is the endpoint label of requests that found nothing usable.
const NoEndpoint = "none"

// Code labels of outcomes that are not a gRPC status from an endpoint.
const (
	// CodeNoEndpoint counts requests the agent answered with UNAVAILABLE
	// because no endpoint could take them; their endpoint is NoEndpoint.
	CodeNoEndpoint = "NoEndpoint"
	// CodeRetried counts attempts an endpoint provably never processed
	// that were sent again to another endpoint.
	CodeRetried = "Retried"
)

// DurationBuckets are the request duration histogram's upper bounds in
// seconds: from half a millisecond, for a local proxy hop, to 30 seconds.
var DurationBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// Metrics is the agent's set of metric vectors. It is safe for concurrent use.
type Metrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	inFlight   *prometheus.GaugeVec
	ejections  *prometheus.CounterVec
	endpoints  *prometheus.GaugeVec
	discovered *prometheus.GaugeVec
	strategy   *prometheus.GaugeVec

	mu        sync.Mutex
	upstreams map[string]*Upstream
}

// New creates the agent's metrics and registers them with reg. It panics if
// they are already registered there, as registering twice is a programming
// error.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "requests_total",
			Help: "RPCs finished, by upstream, endpoint and gRPC status code; NoEndpoint and Retried count what the agent did itself.",
		}, []string{labelUpstream, labelEndpoint, labelCode}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "request_duration_seconds",
			Help:    "Time from the start of an RPC to its end, by upstream.",
			Buckets: DurationBuckets,
		}, []string{labelUpstream}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "requests_in_flight",
			Help: "RPCs started and not yet finished, by upstream and endpoint.",
		}, []string{labelUpstream, labelEndpoint}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "ejections_total",
			Help: "Times an endpoint was ejected for consecutive failures.",
		}, []string{labelUpstream, labelEndpoint}),
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "endpoints",
			Help: "Endpoints of an upstream by state: ready, connecting, ejected or draining.",
		}, []string{labelUpstream, labelState}),
		discovered: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "discovered_endpoints",
			Help: "Endpoints discovery lists for an upstream; the agent connects to the subset of them that endpoints counts.",
		}, []string{labelUpstream}),
		strategy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "strategy_info",
			Help: "Balancing strategy in use for an upstream; the value is always 1.",
		}, []string{labelUpstream, labelStrategy}),
		upstreams: map[string]*Upstream{},
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.ejections, m.endpoints, m.discovered, m.strategy)
	return m
}

// Upstream returns the metrics of the named upstream, creating them on first
// use. Later calls with the same name return the same value.
func (m *Metrics) Upstream(name string) *Upstream {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.upstreams[name]; ok {
		return u
	}
	u := newUpstream(m, name)
	m.upstreams[name] = u
	return u
}

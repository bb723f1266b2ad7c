package pool

import (
	"sort"
	"time"
)

// Debug is the state of an upstream as /debug/endpoints shows it.
type Debug struct {
	Upstream string `json:"upstream"`
	Strategy string `json:"strategy"`
	// RejectedStrategy is the last strategy request that was not applied,
	// with the reason, until a valid one replaces it.
	RejectedStrategy string          `json:"rejected_strategy,omitempty"`
	Endpoints        []EndpointDebug `json:"endpoints"`
}

// EndpointDebug is one endpoint's state and figures.
type EndpointDebug struct {
	Addr      string  `json:"addr"`
	State     State   `json:"state"`
	InFlight  int64   `json:"in_flight"`
	EWMAMs    float64 `json:"ewma_ms"`
	Requests  int64   `json:"requests_total"`
	Failures  int64   `json:"failures_total"`
	Ejections int     `json:"ejections_total"`
}

// Debug returns a snapshot of the pool.
func (p *Pool) Debug() Debug {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := Debug{Upstream: p.cfg.Upstream, Strategy: p.builder.Name(), RejectedStrategy: p.invalid,
		Endpoints: make([]EndpointDebug, 0, len(p.endpoints))}
	now := time.Now()
	for _, e := range p.endpoints {
		d.Endpoints = append(d.Endpoints, e.debug(now))
	}
	sort.Slice(d.Endpoints, func(i, j int) bool { return d.Endpoints[i].Addr < d.Endpoints[j].Addr })
	return d
}

func (e *Endpoint) debug(now time.Time) EndpointDebug {
	d := EndpointDebug{Addr: e.Addr, State: e.state(), InFlight: e.load.InFlight(),
		EWMAMs:   float64(e.load.EWMA(now)) / float64(time.Millisecond),
		Requests: e.requests.Load(), Failures: e.failed.Load()}
	e.mu.Lock()
	d.Ejections = e.ejections
	e.mu.Unlock()
	return d
}

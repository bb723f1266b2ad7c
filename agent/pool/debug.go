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
	Subset           SubsetDebug     `json:"subset"`
	Endpoints        []EndpointDebug `json:"endpoints"`
}

// SubsetDebug is how the endpoints connected to were chosen.
type SubsetDebug struct {
	// Size is the subset size; 0 means every endpoint.
	Size int `json:"size"`
	// ID is the agent's place "i/C" among its peers, or "statistical"
	// when it is not known and a hash of the pod name places the agent.
	ID string `json:"id"`
	// From says what gave ID.
	From string `json:"from,omitempty"`
	// Balance is "exact" with i/C known, else why it is only statistical.
	Balance string `json:"balance"`
	// Discovered is the number of endpoints discovered, InSubset the
	// number chosen among them.
	Discovered int `json:"discovered"`
	InSubset   int `json:"in_subset"`
}

// StatisticalBalance is SubsetDebug.Balance without a known place.
const StatisticalBalance = "balance is only statistical: no subset id or peers Service gives this agent its place i/C"

func (p *Pool) subsetDebugLocked() SubsetDebug {
	s := p.subset
	d := SubsetDebug{Size: s.Size, ID: s.Position.String(), From: s.From, Balance: "exact",
		Discovered: len(p.discovered), InSubset: len(p.discovered)}
	if s.Size > 0 {
		d.InSubset = min(s.Size, len(p.discovered))
	}
	if !s.Position.Exact() {
		d.ID, d.Balance = "statistical", StatisticalBalance
	}
	return d
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
		Subset: p.subsetDebugLocked(), Endpoints: make([]EndpointDebug, 0, len(p.endpoints))}
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

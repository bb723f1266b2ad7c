package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Upstream holds the metrics of one upstream. It is safe for concurrent use.
// A nil *Upstream records nothing.
type Upstream struct {
	m          *Metrics
	name       string
	duration   prometheus.Observer
	noEndpoint prometheus.Counter

	mu        sync.Mutex
	endpoints map[string]*Endpoint
	strategy  string
}

func newUpstream(m *Metrics, name string) *Upstream {
	return &Upstream{
		m:          m,
		name:       name,
		duration:   m.duration.WithLabelValues(name),
		noEndpoint: m.requests.WithLabelValues(name, NoEndpoint, CodeNoEndpoint),
		endpoints:  map[string]*Endpoint{},
	}
}

// Endpoint returns the metrics of the endpoint at addr, creating its label
// children on first use. Later calls with the same addr return the same
// value until Forget(addr). On a nil *Upstream it returns nil.
func (u *Upstream) Endpoint(addr string) *Endpoint {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if e, ok := u.endpoints[addr]; ok {
		return e
	}
	e := newEndpoint(u, addr)
	u.endpoints[addr] = e
	return e
}

// Forget deletes every series of the endpoint at addr, so a removed
// endpoint stops being exported. An *Endpoint still held for addr keeps
// working but its updates are no longer exported.
func (u *Upstream) Forget(addr string) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if e, ok := u.endpoints[addr]; ok {
		e.forget()
		delete(u.endpoints, addr)
	}
	labels := prometheus.Labels{labelUpstream: u.name, labelEndpoint: addr}
	u.m.requests.DeletePartialMatch(labels)
	u.m.inFlight.DeletePartialMatch(labels)
	u.m.ejections.DeletePartialMatch(labels)
}

// SetStrategy records name as the upstream's strategy and deletes the
// series of the previous one.
func (u *Upstream) SetStrategy(name string) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.strategy != "" && u.strategy != name {
		u.m.strategy.DeleteLabelValues(u.name, u.strategy)
	}
	u.strategy = name
	u.m.strategy.WithLabelValues(u.name, name).Set(1)
}

// SetEndpoints records that n endpoints are in state, the state label,
// whose values the caller defines.
func (u *Upstream) SetEndpoints(state string, n int) {
	if u == nil {
		return
	}
	u.m.endpoints.WithLabelValues(u.name, state).Set(float64(n))
}

// SetDiscovered records that discovery lists n endpoints, of which the
// subset in use is counted by SetEndpoints.
func (u *Upstream) SetDiscovered(n int) {
	if u == nil {
		return
	}
	u.m.discovered.WithLabelValues(u.name).Set(float64(n))
}

// NoEndpoint counts a request the agent answered with UNAVAILABLE because
// no endpoint was usable.
func (u *Upstream) NoEndpoint() {
	if u == nil {
		return
	}
	u.noEndpoint.Inc()
}

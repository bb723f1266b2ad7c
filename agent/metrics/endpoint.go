package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// numCodes is the number of gRPC status codes, OK (0) to Unauthenticated (16).
const numCodes = int(codes.Unauthenticated) + 1

// counterRef lets an atomic.Pointer hold a prometheus.Counter interface.
type counterRef struct{ c prometheus.Counter }

// Endpoint holds the metrics of one endpoint of an upstream. Its methods are
// safe for concurrent use and, once a code has been seen, do not allocate.
type Endpoint struct {
	up        *Upstream
	addr      string
	duration  prometheus.Observer
	inFlight  prometheus.Gauge
	ejections prometheus.Counter

	// codes holds the requests_total child of each code, resolved on first
	// use so that only codes that occurred are exported.
	codes [numCodes]atomic.Pointer[counterRef]

	mu        sync.Mutex // guards resolving codes against forget
	forgotten bool
}

func newEndpoint(u *Upstream, addr string) *Endpoint {
	return &Endpoint{
		up:        u,
		addr:      addr,
		duration:  u.duration,
		inFlight:  u.m.inFlight.WithLabelValues(u.name, addr),
		ejections: u.m.ejections.WithLabelValues(u.name, addr),
	}
}

// Addr returns the endpoint's address, its endpoint label.
func (e *Endpoint) Addr() string { return e.addr }

// Begin records the start of a request.
func (e *Endpoint) Begin() {
	e.inFlight.Inc()
}

// End records the end of a request begun with Begin: its status code and
// how long it took. Codes outside the gRPC range are counted as Unknown.
func (e *Endpoint) End(code codes.Code, d time.Duration) {
	e.inFlight.Dec()
	e.duration.Observe(d.Seconds())
	if c := e.counter(code); c != nil {
		c.Inc()
	}
}

// Ejected counts an ejection of the endpoint.
func (e *Endpoint) Ejected() {
	e.ejections.Inc()
}

// counter returns the requests_total child for code, or nil once the
// endpoint has been forgotten and the child was never resolved.
func (e *Endpoint) counter(code codes.Code) prometheus.Counter {
	if code >= codes.Code(numCodes) {
		code = codes.Unknown
	}
	if ref := e.codes[code].Load(); ref != nil {
		return ref.c
	}
	return e.resolve(code)
}

// resolve creates the requests_total child for code, unless the endpoint
// was forgotten: recreating its series then would leak them.
func (e *Endpoint) resolve(code codes.Code) prometheus.Counter {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ref := e.codes[code].Load(); ref != nil {
		return ref.c
	}
	if e.forgotten {
		return nil
	}
	c := e.up.m.requests.WithLabelValues(e.up.name, e.addr, code.String())
	e.codes[code].Store(&counterRef{c: c})
	return c
}

// forget stops the endpoint from creating new series.
func (e *Endpoint) forget() {
	e.mu.Lock()
	e.forgotten = true
	e.mu.Unlock()
}

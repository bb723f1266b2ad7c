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

// Outcomes beyond the gRPC codes, indexing Endpoint.codes after them.
const (
	outcomeRetried = numCodes + iota
	numOutcomes
)

// outcomeLabel is the code label of an outcome.
func outcomeLabel(o int) string {
	if o == outcomeRetried {
		return CodeRetried
	}
	return codes.Code(o).String()
}

// counterRef lets an atomic.Pointer hold a prometheus.Counter interface.
type counterRef struct{ c prometheus.Counter }

// Endpoint holds the metrics of one endpoint of an upstream. Its methods are
// safe for concurrent use and, once a code has been seen, do not allocate.
// A nil *Endpoint records nothing.
type Endpoint struct {
	up        *Upstream
	addr      string
	duration  prometheus.Observer
	inFlight  prometheus.Gauge
	ejections prometheus.Counter

	// codes holds the requests_total child of each code and of
	// outcomeRetried, resolved on first use so that only outcomes that
	// occurred are exported.
	codes [numOutcomes]atomic.Pointer[counterRef]

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
	if e == nil {
		return
	}
	e.inFlight.Inc()
}

// End records the end of a request begun with Begin: the status code the
// client received and how long the call took. Codes outside the gRPC range
// are counted as Unknown.
func (e *Endpoint) End(code codes.Code, d time.Duration) {
	if e == nil {
		return
	}
	e.inFlight.Dec()
	e.duration.Observe(d.Seconds())
	if code >= codes.Code(numCodes) {
		code = codes.Unknown
	}
	e.count(int(code))
}

// Retried records the end of an attempt begun with Begin that the endpoint
// provably never processed and that was sent again to another endpoint. It
// is counted with code CodeRetried and observes no duration: the call goes
// on.
func (e *Endpoint) Retried() {
	if e == nil {
		return
	}
	e.inFlight.Dec()
	e.count(outcomeRetried)
}

// Abandon undoes Begin for an attempt that sent nothing to the endpoint;
// it is not counted as a request.
func (e *Endpoint) Abandon() {
	if e == nil {
		return
	}
	e.inFlight.Dec()
}

// Ejected counts an ejection of the endpoint.
func (e *Endpoint) Ejected() {
	if e == nil {
		return
	}
	e.ejections.Inc()
}

// count increments the requests_total child of outcome o, unless the
// endpoint has been forgotten and the child was never resolved.
func (e *Endpoint) count(o int) {
	if ref := e.codes[o].Load(); ref != nil {
		ref.c.Inc()
		return
	}
	if c := e.resolve(o); c != nil {
		c.Inc()
	}
}

// resolve creates the requests_total child of outcome o, unless the
// endpoint was forgotten: recreating its series then would leak them.
func (e *Endpoint) resolve(o int) prometheus.Counter {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ref := e.codes[o].Load(); ref != nil {
		return ref.c
	}
	if e.forgotten {
		return nil
	}
	c := e.up.m.requests.WithLabelValues(e.up.name, e.addr, outcomeLabel(o))
	e.codes[o].Store(&counterRef{c: c})
	return c
}

// forget stops the endpoint from creating new series.
func (e *Endpoint) forget() {
	e.mu.Lock()
	e.forgotten = true
	e.mu.Unlock()
}

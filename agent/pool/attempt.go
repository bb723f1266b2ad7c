package pool

import (
	"time"

	"github.com/roundabout-dev/roundabout/agent/transport"
)

// Attempt is the accounting of one attempt to send a request to an
// endpoint, the one path by which a request's outcome reaches the endpoint,
// as a grpc-go picker's Done callback is. Endpoint.Begin starts it, and
// exactly one of Cancel or End finishes it; each updates together
// everything that follows the endpoint's requests:
//   - its load figures (requests in flight and the latency average), which
//     the strategies read;
//   - its outlier detection, which ejects an endpoint that keeps failing;
//   - its metrics (requests in flight, requests by outcome, and the duration
//     of the call that ends with it).
//
// An Attempt is a value held by one goroutine at a time. Once it is
// finished, Cancel and End do nothing; the zero Attempt is finished.
type Attempt struct {
	e     *Endpoint // nil once finished
	call  time.Time // when the attempt's call began
	start time.Time // when the attempt began
}

// Begin starts the accounting of an attempt on e of a call that began at
// call, and counts it in flight until it is finished. The zero call means
// that the attempt begins its call.
func (e *Endpoint) Begin(call time.Time) Attempt {
	start := time.Now()
	if call.IsZero() {
		call = start
	}
	e.load.Begin()
	e.metrics.Begin()
	return Attempt{e: e, call: call, start: start}
}

// Endpoint is the endpoint the attempt was begun on, or nil once it is
// finished.
func (a *Attempt) Endpoint() *Endpoint { return a.e }

// Began is when the attempt began.
func (a *Attempt) Began() time.Time { return a.start }

// Cancel finishes an attempt that sent nothing to the endpoint, as when its
// connection closed before the request stream opened: it only leaves the
// in-flight figures. It records no latency, since a near-zero sample would
// make an endpoint that fails fast look fast, and says nothing about the
// endpoint's health.
func (a *Attempt) Cancel() {
	e := a.e
	if e == nil {
		return
	}
	a.e = nil
	e.load.Cancel()
	e.metrics.Abandon()
}

// End finishes an attempt that was sent to the endpoint, with its result:
// res.Code is the status the client sees. retried reports that the request
// was sent again to another endpoint, so the call goes on: the attempt is
// then counted as Retried, otherwise by res.Code with the call's duration.
// Either way the attempt's latency is sampled into the endpoint's average
// and its result feeds outlier detection.
func (a *Attempt) End(res transport.Result, retried bool) {
	e := a.e
	if e == nil {
		return
	}
	a.e = nil
	now := time.Now()
	e.load.End(now.Sub(a.start), now)
	e.report(res)
	if retried {
		e.metrics.Retried()
		return
	}
	e.metrics.End(res.Code, now.Sub(a.call))
}

package pool

import (
	"errors"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/roundabout-dev/roundabout/agent/transport"
)

// maxEjection caps how long one ejection lasts.
const maxEjection = 5 * time.Minute

// report feeds the outcome of one request, as Attempt.End is given it, into
// passive outlier detection. res.Code is the status the client saw: a reset
// after the client's deadline passed is DeadlineExceeded. Transport
// failures, UNAVAILABLE, and DEADLINE_EXCEEDED or CANCELLED before the
// server had begun its response count as consecutive failures; anything
// else resets the count.
func (e *Endpoint) report(res transport.Result) {
	e.requests.Add(1)
	if !isFailure(res) {
		e.succeeded()
		return
	}
	e.failed.Add(1)
	e.fail()
}

// isFailure reports whether res says that the endpoint failed the request,
// as opposed to the request or its client.
func isFailure(res transport.Result) bool {
	switch {
	case res.Rejected:
		return false
	case res.Err != nil, res.Code == codes.Unavailable:
		return true
	case res.Code == codes.DeadlineExceeded, res.Code == codes.Canceled:
		return !res.Responded
	}
	return false
}

func (e *Endpoint) connFailed() { e.fail() }

// succeeded resets the failure count. An endpoint ejected before earns
// back one step of its ejection backoff for every EjectBackoff it stays
// healthy, so an old incident does not lengthen the next ejection forever.
func (e *Endpoint) succeeded() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = 0
	if e.ejections == 0 || e.ejected {
		return
	}
	if now := time.Now(); now.Sub(e.healthySince) >= e.pool.cfg.EjectBackoff {
		e.ejections--
		e.healthySince = now
	}
}

func (e *Endpoint) fail() {
	e.mu.Lock()
	e.failures++
	trip := e.failures >= e.pool.cfg.EjectFailures && !e.ejected && !e.removed
	e.mu.Unlock()
	if trip {
		e.pool.eject(e, zap.Int("consecutive_failures", e.pool.cfg.EjectFailures))
	}
}

// connDead ejects the endpoint at once when its connection closed because
// the server stopped answering PINGs: requests sent to it would hang.
func (e *Endpoint) connDead(err error) {
	if errors.Is(err, transport.ErrPingTimeout) {
		e.pool.eject(e, zap.NamedError("cause", err))
	}
}

// eject takes e out of rotation, unless that would eject more than
// MaxEjectionPercent. After a backoff that doubles with each ejection, a
// probe that the endpoint answers puts it back.
func (p *Pool) eject(e *Endpoint, why zap.Field) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.mu.Lock()
	skip := e.ejected || e.removed
	e.mu.Unlock()
	if skip {
		return
	}
	if !p.canEjectLocked() {
		e.mu.Lock()
		e.failures = 0
		e.mu.Unlock()
		if p.cfg.MaxEjectionPercent == 0 {
			return // ejection is off
		}
		e.log.Warn("endpoint not ejected: too many endpoints ejected already",
			zap.Int("max_ejection_percent", p.cfg.MaxEjectionPercent), why)
		return
	}
	e.mu.Lock()
	d := min(p.cfg.EjectBackoff<<min(e.ejections, 16), maxEjection)
	e.ejections++
	e.failures = 0
	e.ejected = true
	e.ejectedUntil = time.Now().Add(d)
	e.mu.Unlock()
	p.publishLocked()
	// Logged once the picker no longer has the endpoint, so that a reader
	// of the log line finds it out of rotation.
	e.log.Warn("endpoint ejected", zap.Duration("for", d), why)
	e.metrics.Ejected()
	p.afterLocked(d, e.readmit)
}

func (p *Pool) canEjectLocked() bool {
	ejected := 0
	for _, o := range p.endpoints {
		o.mu.Lock()
		if o.ejected {
			ejected++
		}
		o.mu.Unlock()
	}
	return (ejected+1)*100 <= p.cfg.MaxEjectionPercent*len(p.endpoints)
}

// readmit ends an ejection whose backoff is over once the endpoint answers
// a probe on its connection; no request is sent to it before. It is called
// when the backoff ends and whenever a new connection is ready; without a
// connection it waits for the next one.
func (e *Endpoint) readmit() {
	e.mu.Lock()
	c := e.conn.Load()
	if !e.ejected || e.removed || e.probing || c == nil || time.Now().Before(e.ejectedUntil) {
		e.mu.Unlock()
		return
	}
	e.probing = true
	e.mu.Unlock()

	err := c.Probe()

	e.mu.Lock()
	e.probing = false
	ok := err == nil && e.ejected && !e.removed
	if ok {
		e.ejected = false
		e.healthySince = time.Now()
	}
	e.mu.Unlock()
	switch {
	case ok:
		e.log.Info("endpoint re-admitted", zap.String("by", "answered PING"))
		e.pool.publish()
	case errors.Is(err, transport.ErrPingPolicy):
		// The server would count one more PING against the connection;
		// a new connection is probed as soon as it is ready.
		e.renew(c)
	}
	// Otherwise the probe failed and closed the connection, or it closed
	// on its own: the next connection is probed once ready.
}

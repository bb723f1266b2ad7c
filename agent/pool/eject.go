package pool

import (
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
)

// maxEjection caps how long one ejection lasts.
const maxEjection = 5 * time.Minute

// Report feeds the outcome of one request into passive outlier detection:
// UNAVAILABLE results and transport failures count as consecutive failures,
// anything else resets the count.
func (e *Endpoint) Report(code codes.Code, transportErr error) {
	e.requests.Add(1)
	if code != codes.Unavailable && transportErr == nil {
		e.succeeded()
		return
	}
	e.failed.Add(1)
	e.fail()
}

func (e *Endpoint) connFailed() { e.fail() }

// succeeded resets the failure count. An endpoint ejected before earns
// back one step of its ejection backoff for every EjectBackoff it stays
// healthy, so an old incident does not lengthen the next ejection forever.
func (e *Endpoint) succeeded() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = 0
	if e.ejections == 0 {
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
	trip := e.failures >= e.pool.cfg.EjectFailures && !time.Now().Before(e.ejectedUntil) && !e.removed
	e.mu.Unlock()
	if trip {
		e.pool.eject(e)
	}
}

// eject takes e out of rotation for a backoff that doubles with each
// ejection, unless that would eject more than MaxEjectionPercent.
func (p *Pool) eject(e *Endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.canEjectLocked() {
		e.mu.Lock()
		e.failures = 0
		e.mu.Unlock()
		e.log.Warn("endpoint not ejected: too many endpoints ejected already",
			zap.Int("max_ejection_percent", p.cfg.MaxEjectionPercent))
		return
	}
	e.mu.Lock()
	d := min(p.cfg.EjectBackoff<<min(e.ejections, 16), maxEjection)
	e.ejections++
	e.failures = 0
	e.ejectedUntil = time.Now().Add(d)
	e.healthySince = e.ejectedUntil
	e.mu.Unlock()
	e.log.Warn("endpoint ejected", zap.Duration("for", d), zap.Int("consecutive_failures", p.cfg.EjectFailures))
	if e.Metrics != nil {
		e.Metrics.Ejected()
	}
	p.publishLocked()
	p.afterLocked(d, func() { p.readmit(e) })
}

func (p *Pool) canEjectLocked() bool {
	ejected := 0
	for _, o := range p.endpoints {
		o.mu.Lock()
		if time.Now().Before(o.ejectedUntil) {
			ejected++
		}
		o.mu.Unlock()
	}
	return (ejected+1)*100 <= p.cfg.MaxEjectionPercent*len(p.endpoints)
}

func (p *Pool) readmit(e *Endpoint) {
	e.mu.Lock()
	removed := e.removed
	e.mu.Unlock()
	if removed {
		return
	}
	e.log.Info("endpoint re-admitted")
	p.publish()
}

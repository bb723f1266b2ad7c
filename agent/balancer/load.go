package balancer

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultDecay is the time constant of the latency EWMA: an observation's
// weight falls to 1/e after this long.
const DefaultDecay = 10 * time.Second

// Load is the live load of one endpoint: requests in flight and a
// peak-sensitive, time-decayed latency average (the "peak EWMA" of Finagle
// and Linkerd). The proxy updates it; pickers read it. The zero value is
// ready to use with DefaultDecay.
type Load struct {
	inflight atomic.Int64

	mu      sync.Mutex
	ewma    float64 // nanoseconds
	sampled bool    // a request has completed
	stamp   time.Time
	decay   time.Duration
}

// NewLoad returns a Load whose EWMA decays with the given time constant.
func NewLoad(decay time.Duration) *Load { return &Load{decay: decay} }

// Begin records that a request to the endpoint started.
func (l *Load) Begin() { l.inflight.Add(1) }

// End records that a request finished after rtt, observed at now. A
// negative rtt counts as zero.
func (l *Load) End(rtt time.Duration, now time.Time) {
	l.inflight.Add(-1)
	l.mu.Lock()
	l.sampled = true
	l.observeLocked(float64(max(rtt, 0)), now)
	l.mu.Unlock()
}

// Cancel records that a request started with Begin ended without reaching
// the endpoint, as when no connection was ready. It leaves the latency
// average alone: recording such an attempt with End would count it as a
// near-zero latency and make an endpoint that fails fast look fast.
func (l *Load) Cancel() { l.inflight.Add(-1) }

// InFlight is the number of requests currently in flight.
func (l *Load) InFlight() int64 { return l.inflight.Load() }

// EWMA returns the latency average decayed to now. It is zero until the
// first request completes and at least one nanosecond afterwards, so a
// long-idle endpoint still reads as measured (and cheap), never as unknown.
func (l *Load) EWMA(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observeLocked(0, now)
	if !l.sampled {
		return 0
	}
	return max(time.Duration(l.ewma), 1)
}

// observeLocked folds one sample into the average. A sample above the current
// average replaces it at once (peak sensitivity); smaller samples pull it down
// with a weight that grows with the time since the last sample. Reads fold in
// a zero sample, so the average of an idle endpoint decays towards zero and
// the endpoint is tried again. A now earlier than the last observation, as
// when concurrent callers read the clock in one order and lock in the other,
// counts as no time passing and never moves the stamp back.
func (l *Load) observeLocked(sample float64, now time.Time) {
	elapsed := l.advanceLocked(now)
	switch {
	case sample >= l.ewma:
		l.ewma = sample
	case elapsed > 0:
		w := math.Exp(-float64(elapsed) / float64(l.decayOrDefault()))
		l.ewma = l.ewma*w + sample*(1-w)
	}
}

// advanceLocked moves the stamp to now and returns the time since the
// previous observation. The first observation, and a now before the stamp,
// count as no time passing.
func (l *Load) advanceLocked(now time.Time) time.Duration {
	if l.stamp.IsZero() {
		l.stamp = now
		return 0
	}
	elapsed := now.Sub(l.stamp)
	if elapsed <= 0 {
		return 0
	}
	l.stamp = now
	return elapsed
}

func (l *Load) decayOrDefault() time.Duration {
	if l.decay <= 0 {
		return DefaultDecay
	}
	return l.decay
}

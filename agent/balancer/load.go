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
// and Linkerd). The accounting of every request updates it; pickers read
// it. The zero value is ready to use with DefaultDecay.
//
// The average jumps to any sample above its current value, blends smaller
// samples in with a weight that grows with the time since the previous
// sample, and between samples decays towards zero, so an idle endpoint is
// tried again. Only samples change it: reading it, however often, does not,
// so pickers never write to it and its value does not depend on traffic
// elsewhere.
type Load struct {
	inflight atomic.Int64

	mu    sync.Mutex
	ewma  float64   // nanoseconds, as of stamp
	stamp time.Time // when the last sample was taken; zero until the first
	decay time.Duration
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
	ewma, stamp := l.ewma, l.stamp
	l.mu.Unlock()
	if stamp.IsZero() {
		return 0
	}
	return max(time.Duration(ewma*l.weight(now.Sub(stamp))), 1)
}

// observeLocked folds one sample into the average. A now earlier than the
// last sample, as when concurrent requests read the clock in one order and
// end in the other, counts as no time passing and never moves the stamp
// back.
func (l *Load) observeLocked(sample float64, now time.Time) {
	if l.stamp.IsZero() {
		l.ewma, l.stamp = sample, now
		return
	}
	w := l.weight(now.Sub(l.stamp))
	if now.After(l.stamp) {
		l.stamp = now
	}
	if current := l.ewma * w; sample >= current {
		l.ewma = sample
	} else {
		l.ewma = current + sample*(1-w)
	}
}

// weight is how much of the average survives elapsed: 1 for no time (or a
// negative one), falling by a factor e every decay time constant.
func (l *Load) weight(elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 1
	}
	decay := l.decay
	if decay <= 0 {
		decay = DefaultDecay
	}
	return math.Exp(-float64(elapsed) / float64(decay))
}

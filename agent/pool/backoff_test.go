package pool

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// noJitter makes backoffDelay return the undisturbed delay: a random
// number of 0.5 spreads it by nothing.
func noJitter() float64 { return 0.5 }

// TestBackoffDelaySequence checks the delays of consecutive failures
// against gRPC's connection backoff: 1 s, then ×1.6 each time, up to 120 s,
// where it stays.
func TestBackoffDelaySequence(t *testing.T) {
	want := []time.Duration{
		1 * time.Second,
		1600 * time.Millisecond,
		2560 * time.Millisecond,
		4096 * time.Millisecond,
		6553600 * time.Microsecond,
		10485760 * time.Microsecond,
		16777216 * time.Microsecond,
		26843545600 * time.Nanosecond,
		42949672960 * time.Nanosecond,
		68719476736 * time.Nanosecond,
		109951162777600 * time.Nanosecond / 1000,
		120 * time.Second, // 175.9 s, capped
		120 * time.Second,
	}
	for retries, w := range want {
		got := backoffDelay(DefaultBackoffBase, DefaultBackoffMax, retries, noJitter)
		if diff := got - w; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("retry %d: delay %v, want %v", retries, got, w)
		}
	}
}

// TestBackoffDelayCap checks that the delay never exceeds the cap, however
// many failures came before (the loop stops growing once it is reached),
// and that a base above the cap is cut down to it from the first retry.
func TestBackoffDelayCap(t *testing.T) {
	for _, retries := range []int{12, 100, 1 << 20, math.MaxInt} {
		if got := backoffDelay(time.Second, 120*time.Second, retries, noJitter); got != 120*time.Second {
			t.Errorf("retry %d: delay %v, want the cap, 120s", retries, got)
		}
	}
	for retries := range 3 {
		if got := backoffDelay(time.Second, 100*time.Millisecond, retries, noJitter); got != 100*time.Millisecond {
			t.Errorf("base above the cap, retry %d: delay %v, want the cap, 100ms", retries, got)
		}
	}
	if got := backoffDelay(time.Second, 120*time.Second, -1, noJitter); got != time.Second {
		t.Errorf("negative retry count: delay %v, want the base", got)
	}
}

// TestBackoffDelayJitter checks the bounds of the spread: the random number
// r in [0, 1) scales the delay by 1 + 0.2·(2r−1), so r = 0 gives 0.8× and
// r just below 1 at most 1.2× (the float product rounds to it), at the
// base, in the middle and at the cap, which jitter spreads as gRPC does.
func TestBackoffDelayJitter(t *testing.T) {
	below1 := math.Nextafter(1, 0)
	for _, tc := range []struct {
		retries int
		plain   time.Duration
	}{{0, time.Second}, {3, 4096 * time.Millisecond}, {40, 120 * time.Second}} {
		low := backoffDelay(time.Second, 120*time.Second, tc.retries, func() float64 { return 0 })
		high := backoffDelay(time.Second, 120*time.Second, tc.retries, func() float64 { return below1 })
		wantLow := time.Duration(float64(tc.plain) * 0.8)
		wantHigh := time.Duration(float64(tc.plain) * 1.2)
		if d := low - wantLow; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("retry %d, r=0: delay %v, want %v", tc.retries, low, wantLow)
		}
		if d := wantHigh - high; d < 0 || d > time.Microsecond {
			t.Errorf("retry %d, r→1: delay %v, want at most and about %v", tc.retries, high, wantHigh)
		}
	}

	// The source the run loop uses keeps every delay in bounds and spreads
	// them over the whole range: a fleet that lost its server together
	// does not come back together.
	rnd := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Duration(math.MaxInt64), time.Duration(0)
	for range 10000 {
		d := backoffDelay(time.Second, 120*time.Second, 0, rnd.Float64)
		if d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("delay %v outside [800ms, 1.2s]", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 810*time.Millisecond || hi < 1190*time.Millisecond {
		t.Errorf("10000 delays spread over [%v, %v] only, want about [800ms, 1.2s]", lo, hi)
	}
	for range 1000 {
		if d := backoffDelay(time.Second, 120*time.Second, 0, jitterSource); d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("jitterSource: delay %v outside [800ms, 1.2s]", d)
		}
	}
}

// TestRetryAfterRoundsUpToTheGrid checks that a retry waits at least its
// delay and less than one tick more, and falls due on the process's grid.
func TestRetryAfterRoundsUpToTheGrid(t *testing.T) {
	tick := 250 * time.Millisecond
	phase := time.Duration(retryPhase * float64(tick))
	now := time.Unix(1_800_000_000, 123_456_789)
	for _, d := range []time.Duration{0, time.Nanosecond, 800 * time.Millisecond, time.Second, 1234567891 * time.Nanosecond, 144 * time.Second} {
		got := retryAfter(now, d, tick)
		if got < d || got >= d+tick {
			t.Errorf("delay %v waits %v, want within [%v, %v)", d, got, d, d+tick)
		}
		if due := now.Add(got).UnixNano() - int64(phase); due%int64(tick) != 0 {
			t.Errorf("delay %v waits %v: due %v past a tick", d, got, time.Duration(due%int64(tick)))
		}
	}
	if got := retryAfter(now, time.Second, 0); got != time.Second {
		t.Errorf("no grid: waits %v, want the delay", got)
	}
}

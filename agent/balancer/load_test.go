package balancer

import (
	"math"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestLoadInFlight(t *testing.T) {
	var l Load
	l.Begin()
	l.Begin()
	if got := l.InFlight(); got != 2 {
		t.Fatalf("InFlight after two Begin = %d; want 2", got)
	}
	l.End(time.Millisecond, t0)
	if got := l.InFlight(); got != 1 {
		t.Fatalf("InFlight after one End = %d; want 1", got)
	}
}

func TestLoadCancelLeavesLatencyAlone(t *testing.T) {
	var l Load
	l.Begin()
	l.Cancel()
	if got, ewma := l.InFlight(), l.EWMA(t0); got != 0 || ewma != 0 {
		t.Fatalf("after Begin, Cancel: InFlight %d, EWMA %v; want 0 and no sample", got, ewma)
	}
	l.End(50*time.Millisecond, t0)
	l.Begin()
	l.Cancel()
	if got := l.EWMA(t0); got != 50*time.Millisecond {
		t.Fatalf("EWMA after a cancelled request = %v; want the 50ms sample unchanged", got)
	}
}

func TestLoadEWMAIsZeroUntilFirstSample(t *testing.T) {
	var l Load
	l.Begin()
	for _, at := range []time.Time{t0, t0.Add(time.Second), t0.Add(time.Hour)} {
		if got := l.EWMA(at); got != 0 {
			t.Fatalf("EWMA(%v) before any End = %v; want 0", at, got)
		}
	}
	l.End(20*time.Millisecond, t0.Add(time.Hour))
	if got := l.EWMA(t0.Add(time.Hour)); got != 20*time.Millisecond {
		t.Fatalf("EWMA right after the first sample = %v; want 20ms", got)
	}
}

func TestLoadEWMAJumpsToPeaks(t *testing.T) {
	var l Load
	l.End(10*time.Millisecond, t0)
	l.End(100*time.Millisecond, t0.Add(time.Millisecond))
	if got := l.EWMA(t0.Add(time.Millisecond)); got != 100*time.Millisecond {
		t.Fatalf("EWMA after a 100ms peak = %v; want 100ms at once", got)
	}
}

func TestLoadEWMADecaysWithTimeConstant(t *testing.T) {
	l := NewLoad(time.Second)
	l.End(100*time.Millisecond, t0)
	got := l.EWMA(t0.Add(time.Second))
	want := 100 * time.Millisecond.Seconds() * math.Exp(-1)
	if math.Abs(got.Seconds()-want) > want/1000 {
		t.Fatalf("EWMA one time constant later = %v; want %.6fs", got, want)
	}
}

func TestLoadSmallerSampleBlendsByElapsedTime(t *testing.T) {
	l := NewLoad(time.Second)
	l.End(100*time.Millisecond, t0)
	l.End(10*time.Millisecond, t0) // no time passed: no weight
	if got := l.EWMA(t0); got != 100*time.Millisecond {
		t.Fatalf("EWMA after a smaller simultaneous sample = %v; want 100ms", got)
	}
	l.End(10*time.Millisecond, t0.Add(time.Second))
	w := math.Exp(-1)
	want := 0.100*w + 0.010*(1-w)
	if got := l.EWMA(t0.Add(time.Second)).Seconds(); math.Abs(got-want) > want/1000 {
		t.Fatalf("EWMA after a smaller sample one time constant later = %.6fs; want %.6fs", got, want)
	}
}

func TestLoadEWMAStaysPositiveAfterLongIdle(t *testing.T) {
	var l Load
	l.End(time.Millisecond, t0)
	if got := l.EWMA(t0.Add(24 * time.Hour)); got <= 0 {
		t.Fatalf("EWMA a day after a sample = %v; want > 0 so the endpoint is not mistaken for unmeasured", got)
	}
}

func TestLoadNegativeRTTCountsAsZero(t *testing.T) {
	var l Load
	l.End(-time.Second, t0)
	if got := l.EWMA(t0); got != 1 {
		t.Fatalf("EWMA after a negative rtt = %v; want the 1ns floor", got)
	}
}

func TestLoadLateSampleDoesNotMoveTheClockBack(t *testing.T) {
	a, b := NewLoad(time.Second), NewLoad(time.Second)
	a.End(100*time.Millisecond, t0.Add(2*time.Second))
	a.End(100*time.Millisecond, t0.Add(time.Second)) // ended later, read the clock earlier
	b.End(100*time.Millisecond, t0.Add(2*time.Second))
	if ga, gb := a.EWMA(t0.Add(3*time.Second)), b.EWMA(t0.Add(3*time.Second)); ga != gb {
		t.Fatalf("EWMA after an out-of-order sample = %v; want %v as without it", ga, gb)
	}
	if got := a.EWMA(t0.Add(time.Second)); got != 100*time.Millisecond {
		t.Fatalf("EWMA read before the last sample's time = %v; want the undecayed 100ms", got)
	}
}

// TestLoadReadsDoNotChangeTheAverage compares an average read every 100ms
// with one never read: the next sample must leave both the same.
func TestLoadReadsDoNotChangeTheAverage(t *testing.T) {
	read, unread := NewLoad(time.Second), NewLoad(time.Second)
	read.End(100*time.Millisecond, t0)
	unread.End(100*time.Millisecond, t0)
	for i := range 20 {
		read.EWMA(t0.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	at := t0.Add(2 * time.Second)
	read.End(10*time.Millisecond, at)
	unread.End(10*time.Millisecond, at)
	if r, u := read.EWMA(at), unread.EWMA(at); r != u {
		t.Fatalf("EWMA of an often-read average = %v; want %v as if never read", r, u)
	}
}

func TestLoadConcurrentUse(t *testing.T) {
	var l Load
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				l.Begin()
				now := t0.Add(time.Duration(g*1000+i) * time.Microsecond)
				l.EWMA(now)
				l.End(time.Millisecond, now)
			}
		})
	}
	wg.Wait()
	if got := l.InFlight(); got != 0 {
		t.Fatalf("InFlight after balanced Begin/End = %d; want 0", got)
	}
}

package proxy

import (
	"math"
	"testing"
	"time"
)

func TestParseTimeout(t *testing.T) {
	valid := map[string]time.Duration{
		"1H": time.Hour, "2M": 2 * time.Minute, "1999m": 1999 * time.Millisecond, "30S": 30 * time.Second,
		"100u": 100 * time.Microsecond, "7n": 7, "0m": 0, "99999999H": math.MaxInt64, "00000005S": 5 * time.Second,
	}
	for in, want := range valid {
		if got, ok := parseTimeout(in); !ok || got != want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "S", "10", "10s", "-1S", "+1S", "1.5S", "123456789S", " 1S", "1 S"} {
		if got, ok := parseTimeout(in); ok {
			t.Errorf("parseTimeout(%q) = %v, want it refused", in, got)
		}
	}
}

func TestDeadlineSlack(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		100 * time.Millisecond: 10 * time.Millisecond,
		2 * time.Second:        100 * time.Millisecond,
		time.Hour:              100 * time.Millisecond,
	} {
		if got := deadlineSlack(timeout); got != want {
			t.Errorf("deadlineSlack(%v) = %v, want %v", timeout, got, want)
		}
	}
}

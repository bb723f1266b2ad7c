package proxy

import (
	"math"
	"strconv"
	"time"
)

// parseTimeout reads a grpc-timeout header value: at most eight digits and
// a unit, H, M, S, m, u or n. It reports false for anything else. Values
// beyond the range of a time.Duration are capped.
func parseTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	var unit time.Duration
	switch v[len(v)-1] {
	case 'H':
		unit = time.Hour
	case 'M':
		unit = time.Minute
	case 'S':
		unit = time.Second
	case 'm':
		unit = time.Millisecond
	case 'u':
		unit = time.Microsecond
	case 'n':
		unit = time.Nanosecond
	default:
		return 0, false
	}
	digits := v[:len(v)-1]
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	if n > math.MaxInt64/int64(unit) {
		return math.MaxInt64, true
	}
	return time.Duration(n) * unit, true
}

// deadlineSlack is how much earlier than its grpc-timeout a call may end
// and still count as reset for its deadline: the timeout runs from when the
// client sent the request, slightly before the agent received it.
func deadlineSlack(timeout time.Duration) time.Duration {
	return min(timeout/10, 100*time.Millisecond)
}

package pool

import (
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/backoff"
)

// Reconnection follows gRPC's connection backoff (grpc-go's
// backoff.DefaultConfig, the same in every gRPC implementation): the first
// retry after BackoffBase, each further one backoffMultiplier times later,
// up to BackoffMax, each delay spread by ±backoffJitter so that the
// clients of a server that restarted do not all return at once.
var (
	backoffMultiplier = backoff.DefaultConfig.Multiplier
	backoffJitter     = backoff.DefaultConfig.Jitter
)

// backoffDelay is the delay before retry number retries (0 for the first)
// of a failed connection; rnd returns a number in [0, 1).
func backoffDelay(base, limit time.Duration, retries int, rnd func() float64) time.Duration {
	d := float64(base)
	for ; retries > 0 && d < float64(limit); retries-- {
		d *= backoffMultiplier
	}
	d = min(d, float64(limit))
	d *= 1 + backoffJitter*(rnd()*2-1)
	return time.Duration(max(d, 0))
}

// jitterSource is the randomness of backoffDelay.
var jitterSource = rand.Float64

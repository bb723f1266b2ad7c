package filewatch

import (
	"time"

	"go.uber.org/zap"
)

// DefaultDebounce is how long Watch waits after the first event of a burst
// before it reads the file.
const DefaultDebounce = 50 * time.Millisecond

// Option configures Watch.
type Option func(*options)

type options struct {
	debounce time.Duration
	log      *zap.Logger
}

func newOptions(opts []Option) options {
	o := options{debounce: DefaultDebounce, log: zap.NewNop()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithDebounce sets how long Watch waits after the first event of a burst
// before reading the file; events during the wait are folded into one read.
// Zero reads on every event. Negative values are treated as zero.
func WithDebounce(d time.Duration) Option {
	return func(o *options) { o.debounce = max(d, 0) }
}

// WithLogger sets where Watch logs read failures and recoveries. Without
// it Watch logs nothing.
func WithLogger(log *zap.Logger) Option {
	return func(o *options) {
		if log != nil {
			o.log = log
		}
	}
}

package filewatch

import (
	"time"

	"go.uber.org/zap"
)

// DefaultSettle is how long the directory must stay quiet after an event
// before Watch reads the file, and how long an empty file must stay empty
// before Watch delivers it.
const DefaultSettle = 100 * time.Millisecond

// maxSettles bounds how long a stream of events may hold a read back: the
// file is read at the latest this many settle intervals after the first
// event of a burst, even if events keep coming.
const maxSettles = 10

// Option configures Watch.
type Option func(*options)

type options struct {
	settle time.Duration
	log    *zap.Logger
}

func newOptions(opts []Option) options {
	o := options{settle: DefaultSettle, log: zap.NewNop()}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithSettle sets the settle interval: Watch reads the file once the
// directory has had no event for d, and reads an empty file again d later
// before delivering it. Events that keep arriving delay a read by at most
// ten intervals. Zero reads on every event and delivers an empty file at
// once; negative values are treated as zero.
func WithSettle(d time.Duration) Option {
	return func(o *options) { o.settle = max(d, 0) }
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

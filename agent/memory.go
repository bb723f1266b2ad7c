package main

import (
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"
)

// memoryReleaser gives the memory the handshakes of a dial wave left
// behind back to the system. Connecting to many endpoints at once (start-up
// over a big Service, a subset change, a scale-up) takes read buffers,
// dial state and first frames for all of them together; afterwards an idle
// connection needs a fraction of that, but the runtime keeps the freed
// pages for the heap to grow into, up to twice the live heap. A release
// after the wave makes the resident set what the connections hold. It
// runs at most once per minReleaseInterval, so endpoint churn cannot make
// it a steady cost.
type memoryReleaser struct {
	log  *zap.Logger
	mu   sync.Mutex
	last time.Time
}

const minReleaseInterval = 30 * time.Second

// dialWaveEnded is pool.Config.DialWaveEnded.
func (r *memoryReleaser) dialWaveEnded(n int) {
	r.mu.Lock()
	if !r.last.IsZero() && time.Since(r.last) < minReleaseInterval {
		r.mu.Unlock()
		return
	}
	r.last = time.Now()
	r.mu.Unlock()
	start := time.Now()
	debug.FreeOSMemory()
	r.log.Info("returned freed memory to the system after connecting many endpoints at once",
		zap.Int("endpoints", n), zap.Duration("took", time.Since(start)))
}

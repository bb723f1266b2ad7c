package transport

import (
	"time"

	"go.uber.org/zap"
)

// Defaults for Config.
const (
	DefaultStreamWindow     = 1 << 20
	DefaultConnWindow       = 16 << 20
	DefaultKeepaliveTime    = 20 * time.Second
	DefaultKeepaliveTimeout = 10 * time.Second
	DefaultProbeAfter       = time.Second
	DefaultProbeTimeout     = time.Second
	// DefaultReplayLimit is how many request bytes an upstream stream keeps
	// so that a request the server provably never processed can be retried.
	DefaultReplayLimit = 64 << 10
)

// Config tunes one Conn.
type Config struct {
	// StreamWindow is the receive window advertised for every stream, and so
	// the most bytes buffered per stream and direction.
	StreamWindow uint32
	// ConnWindow is the connection-level receive window.
	ConnWindow uint32
	// ProbeAfter is how long a request on a client-role Conn may wait with
	// no frame read on the connection before the Conn sends a PING to check
	// that the server still answers. Zero disables probes.
	ProbeAfter time.Duration
	// ProbeTimeout is how long a probe, or a Probe call, waits for the
	// PING's acknowledgement before the connection is declared dead and
	// closed.
	ProbeTimeout time.Duration
	// KeepaliveTime is how long a client-role Conn whose requests are all
	// older than its last answered PING may go without reading a frame
	// before it sends another PING. Zero disables keepalive pings.
	KeepaliveTime time.Duration
	// KeepaliveTimeout is how long to wait for a keepalive PING's
	// acknowledgement before the connection is declared dead and closed.
	KeepaliveTimeout time.Duration
	// ReplayLimit bounds the request bytes kept for a transparent retry.
	ReplayLimit int
	// Logger receives connection-level events. Nil means no logging.
	Logger *zap.Logger
}

func (c Config) withDefaults() Config {
	if c.StreamWindow == 0 {
		c.StreamWindow = DefaultStreamWindow
	}
	if c.ConnWindow == 0 {
		c.ConnWindow = DefaultConnWindow
	}
	if c.KeepaliveTimeout == 0 {
		c.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = DefaultProbeTimeout
	}
	if c.ReplayLimit == 0 {
		c.ReplayLimit = DefaultReplayLimit
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

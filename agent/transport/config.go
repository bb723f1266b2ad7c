package transport

import (
	"time"

	"go.uber.org/zap"
)

// Defaults for Config.
const (
	// DefaultStreamWindow is the receive window of one stream. Together
	// with DefaultMaxConcurrentStreams it bounds the DATA one client
	// connection can have buffered: 100 streams × 128 KiB per direction.
	DefaultStreamWindow = 128 << 10
	DefaultConnWindow   = 16 << 20
	// DefaultMaxConcurrentStreams is advertised to local clients; streams
	// above it are refused.
	DefaultMaxConcurrentStreams = 100
	// DefaultMaxHeaderListSize bounds one decoded header block, as
	// SETTINGS_MAX_HEADER_LIST_SIZE counts it.
	DefaultMaxHeaderListSize = 64 << 10
	// DefaultPrefaceTimeout is how long a new client connection has to send
	// the HTTP/2 preface and its first SETTINGS frame.
	DefaultPrefaceTimeout   = 5 * time.Second
	DefaultKeepaliveTimeout = 10 * time.Second
	DefaultProbeAfter       = 500 * time.Millisecond
	DefaultProbeTimeout     = time.Second
	// DefaultReplayLimit is how many request bytes an upstream stream keeps
	// so that a request the server provably never processed can be retried.
	DefaultReplayLimit = 64 << 10
)

// maxQueuedControlFrames bounds the control frames (SETTINGS and PING
// acknowledgements, RST_STREAM, WINDOW_UPDATE) queued for a peer. A peer
// that provokes more without reading them is sent GOAWAY ENHANCE_YOUR_CALM
// and closed, as x/net/http2's server does.
const maxQueuedControlFrames = 10000

// goAwayTimeout is how long a connection closed for a protocol error
// waits for its GOAWAY to be written before it is closed anyway.
const goAwayTimeout = time.Second

// Config tunes one Conn.
type Config struct {
	// StreamWindow is the receive window advertised for every stream, and so
	// the most bytes buffered per stream and direction.
	StreamWindow uint32
	// ConnWindow is the connection-level receive window.
	ConnWindow uint32
	// MaxConcurrentStreams is the most streams a local client may have
	// open on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
	MaxConcurrentStreams uint32
	// MaxHeaderListSize bounds a received header block
	// (SETTINGS_MAX_HEADER_LIST_SIZE); a larger one fails its stream.
	MaxHeaderListSize uint32
	// PrefaceTimeout bounds the time from accepting a client connection to
	// its preface and first SETTINGS frame.
	PrefaceTimeout time.Duration
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
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if c.MaxHeaderListSize == 0 {
		c.MaxHeaderListSize = DefaultMaxHeaderListSize
	}
	if c.PrefaceTimeout == 0 {
		c.PrefaceTimeout = DefaultPrefaceTimeout
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

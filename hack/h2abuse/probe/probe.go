package probe

import (
	"context"
	"fmt"
	"time"
)

// Target is the HTTP/2 server a probe attacks.
type Target struct {
	// Addr is host:port of the server (the agent's listener or a greet-server).
	Addr string
	// Terminate stops the side client, sends SIGTERM to the server's process
	// and waits for it to exit. It returns how long the exit took and
	// whether it came before the wait gave up.
	Terminate func() (time.Duration, bool)
}

// Outcome is what a probe saw of its own connections.
type Outcome struct {
	// Ending is how the (first) abusive connection ended.
	Ending Ending
	// Closed summarises how the abusive connections ended, for the table.
	Closed string
	// Notes are facts for the report: frames sent, answers received.
	Notes []string
	// Cases are per-case answers, for probes made of several small cases.
	Cases []Case
	// Terminated is set by a probe that sent SIGTERM: ExitAfter is how long
	// the exit took and ExitInTime whether it came before the wait gave up.
	Terminated bool
	ExitAfter  time.Duration
	ExitInTime bool
	// Err is a failure of the probe itself (it could not connect, ...).
	Err error
}

// Case is one small case of a probe and what the server answered.
type Case struct {
	Name   string
	Answer string
}

func (o *Outcome) note(format string, args ...any) {
	o.Notes = append(o.Notes, fmt.Sprintf(format, args...))
}

// Probe is one way to misbehave.
type Probe struct {
	// Name identifies the probe, e.g. "rapid-reset".
	Name string
	// Class is the probe class it belongs to (1-9).
	Class int
	// About says what it does, in a line.
	About string
	// SlowUpstream puts a SlowLink between the agent and every
	// greet-server, so the agent's upstream writes back up.
	SlowUpstream bool
	// Terminates marks a probe that ends by SIGTERM to the server.
	Terminates bool
	// Run attacks t until it is done, ctx ends, or its time bound passes.
	Run func(ctx context.Context, t Target) Outcome
}

// Scale sets the size of every probe.
type Scale struct {
	// Duration bounds each flood.
	Duration time.Duration
	// RapidResetConns is how many connections reset calls in parallel.
	RapidResetConns int
	// OneByteFrames is how many 1-byte DATA frames carry the LongGreet body.
	OneByteFrames int
	// SlowRate is the rate, in bytes/s, at which a slow server reads.
	SlowRate int
	// BigFrameConns is how many connections each send one 16 MiB DATA frame.
	BigFrameConns int
	// PrefaceConns and SilentConns are the idle connections of class 7:
	// those that send the preface only and those that send nothing.
	PrefaceConns, SilentConns int
	// MaxStreams bounds the streams opened beyond MAX_CONCURRENT_STREAMS.
	MaxStreams int
}

// DefaultScale is the scale of the command's report.
var DefaultScale = Scale{
	Duration:        4 * time.Second,
	RapidResetConns: 4,
	OneByteFrames:   200_000,
	SlowRate:        1 << 20,
	BigFrameConns:   40,
	PrefaceConns:    5000,
	SilentConns:     1000,
	MaxStreams:      10_000,
}

// Probes lists every probe at scale s, in class order.
func Probes(s Scale) []Probe {
	return []Probe{
		{Name: "rapid-reset", Class: 1, About: fmt.Sprintf("a Greet call (HEADERS, DATA) then RST_STREAM CANCEL, as fast as possible on %d connections (CVE-2023-44487)", s.RapidResetConns),
			Run: func(ctx context.Context, t Target) Outcome { return rapidReset(ctx, t, s) }},
		{Name: "ping-flood", Class: 2, About: "PING frames on a connection that never reads",
			Run: func(ctx context.Context, t Target) Outcome { return pingFlood(ctx, t, s) }},
		{Name: "settings-flood", Class: 2, About: "SETTINGS frames on a connection that never reads",
			Run: func(ctx context.Context, t Target) Outcome { return settingsFlood(ctx, t, s) }},
		{Name: "reset-flood", Class: 2, About: "WINDOW_UPDATE of 0 on stream after stream, each provoking RST_STREAM, never reading",
			Run: func(ctx context.Context, t Target) Outcome { return resetFlood(ctx, t, s) }},
		{Name: "zero-window-20", Class: 3, About: "INITIAL_WINDOW_SIZE 0, 20 GreetManyTimes streams of 10000 small greetings, never read",
			Run: func(ctx context.Context, t Target) Outcome { return zeroWindow(ctx, t, s, 20) }},
		{Name: "zero-window-300", Class: 3, About: "INITIAL_WINDOW_SIZE 0, 300 GreetManyTimes streams of 10000 small greetings, never read",
			Run: func(ctx context.Context, t Target) Outcome { return zeroWindow(ctx, t, s, 300) }},
		{Name: "one-byte-data", Class: 4, SlowUpstream: true,
			About: fmt.Sprintf("LongGreet body as %d 1-byte DATA frames; the agent's servers read at %d KiB/s", s.OneByteFrames, s.SlowRate>>10),
			Run:   func(ctx context.Context, t Target) Outcome { return oneByteData(ctx, t, s) }},
		{Name: "16mib-frames", Class: 5, About: fmt.Sprintf("one DATA frame of 16 MiB on each of %d connections", s.BigFrameConns),
			Run: func(ctx context.Context, t Target) Outcome { return bigFrames(ctx, t, s) }},
		{Name: "max-frame-size-0", Class: 6, About: "SETTINGS_MAX_FRAME_SIZE=0, then a Greet call",
			Run: func(ctx context.Context, t Target) Outcome { return maxFrameSizeZero(ctx, t, s) }},
		{Name: "idle-conns-sigterm", Class: 7, Terminates: true,
			About: fmt.Sprintf("%d connections that send only the preface and %d that send nothing, then SIGTERM", s.PrefaceConns, s.SilentConns),
			Run:   func(ctx context.Context, t Target) Outcome { return idleConns(ctx, t, s) }},
		{Name: "bad-headers", Class: 8, About: "request trailers, a second HEADERS, malformed pseudo-headers, HEADERS on a closed stream",
			Run: func(ctx context.Context, t Target) Outcome { return badHeaders(ctx, t, s) }},
		{Name: "continuation-flood", Class: 9, About: "HEADERS without END_HEADERS, then CONTINUATION frames without end, reconnecting",
			Run: func(ctx context.Context, t Target) Outcome { return continuationFlood(ctx, t, s) }},
		{Name: "huge-headers", Class: 9, About: "Greet calls each with a 256 KiB header list",
			Run: func(ctx context.Context, t Target) Outcome { return hugeHeaders(ctx, t, s) }},
		{Name: "hpack-bomb", Class: 9, About: "Greet calls whose 3 KiB header block decodes to 12 MiB (one 4 KiB table entry referenced 3000 times); table size abuse",
			Run: func(ctx context.Context, t Target) Outcome { return hpackBomb(ctx, t, s) }},
		{Name: "streams-beyond-max", Class: 9, About: fmt.Sprintf("up to %d LongGreet streams opened and left open on one connection", s.MaxStreams),
			Run: func(ctx context.Context, t Target) Outcome { return manyStreams(ctx, t, s) }},
		{Name: "window-overflow", Class: 9, About: "WINDOW_UPDATE pushing the connection and a stream window past 2^31-1",
			Run: func(ctx context.Context, t Target) Outcome { return windowOverflow(ctx, t, s) }},
	}
}

// closeOnDone closes conns when ctx ends, so a probe stopped early (for
// example because the server's memory passed the cap) lets go at once.
func closeOnDone(ctx context.Context, conns ...*Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.Close()
		}
	})
}

// sleepCtx waits for d or until ctx ends, and reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

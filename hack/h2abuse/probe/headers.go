package probe

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// headerCase writes one misbehaving stream on a fresh connection. It
// returns the stream to watch and the condition that counts as its answer.
type headerCase struct {
	name string
	run  func(c *Conn, obs *Observer, authority string) (id uint32, done func(Ending) bool, err error)
}

func field(name, value string) hpack.HeaderField { return hpack.HeaderField{Name: name, Value: value} }

// request is a Greet call with its headers changed by edit, sent as
// HEADERS and one DATA frame that ends the stream.
func request(edit func([]hpack.HeaderField) []hpack.HeaderField) func(*Conn, *Observer, string) (uint32, func(Ending) bool, error) {
	return func(c *Conn, _ *Observer, authority string) (uint32, func(Ending) bool, error) {
		id := c.NextID()
		if err := c.Headers(id, false, edit(RequestHeaders(authority, PathGreet))...); err != nil {
			return id, nil, err
		}
		return id, nil, c.Fr.WriteData(id, true, GreetMessage("Malformed"))
	}
}

var headerCases = []headerCase{
	{"request trailers", func(c *Conn, _ *Observer, a string) (uint32, func(Ending) bool, error) {
		id, err := c.Request(PathGreet, GreetMessage("Trailers"), false)
		if err != nil {
			return id, nil, err
		}
		return id, nil, c.Headers(id, true, field("x-trailer", "1"))
	}},
	{"pseudo-header in trailers", func(c *Conn, _ *Observer, a string) (uint32, func(Ending) bool, error) {
		id, err := c.Request(PathGreet, GreetMessage("Trailers"), false)
		if err != nil {
			return id, nil, err
		}
		return id, nil, c.Headers(id, true, field(":path", PathGreet))
	}},
	{"second HEADERS without END_STREAM", func(c *Conn, _ *Observer, a string) (uint32, func(Ending) bool, error) {
		id, err := c.Request(PathGreet, nil, false)
		if err == nil {
			err = c.Headers(id, false, field("x-again", "1"))
		}
		if err == nil {
			err = c.Fr.WriteData(id, true, GreetMessage("Again"))
		}
		return id, nil, err
	}},
	{"no :path", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		return slices.DeleteFunc(h, func(f hpack.HeaderField) bool { return f.Name == ":path" })
	})},
	{"unknown pseudo-header", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		return slices.Insert(h, 4, field(":foo", "bar"))
	})},
	{"pseudo-header after a regular one", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		return append(h, field(":protocol", "x"))
	})},
	{"duplicate :method", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		return slices.Insert(h, 1, field(":method", "POST"))
	})},
	{"uppercase header name", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		return append(h, field("X-Upper", "1"))
	})},
	{"connection-specific header", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		return append(h, field("connection", "keep-alive"))
	})},
	{"te other than trailers", request(func(h []hpack.HeaderField) []hpack.HeaderField {
		for i := range h {
			if h[i].Name == "te" {
				h[i].Value = "gzip"
			}
		}
		return h
	})},
	{"HEADERS on a closed stream", func(c *Conn, obs *Observer, a string) (uint32, func(Ending) bool, error) {
		id, err := c.Request(PathGreet, GreetMessage("Closed"), true)
		if err == nil {
			err = c.Flush()
		}
		if err != nil {
			return id, nil, err
		}
		first := obs.WaitFor(time.Second, func(e Ending) bool { return answered(e, id) })
		if !answered(first, id) {
			return id, nil, fmt.Errorf("first call on stream %d got no answer", id)
		}
		resets := first.Frames[http2.FrameRSTStream]
		done := func(e Ending) bool { return e.Frames[http2.FrameRSTStream] > resets }
		return id, done, c.Headers(id, true, RequestHeaders(a, PathGreet)...)
	}},
	{"HEADERS after RST_STREAM", func(c *Conn, _ *Observer, a string) (uint32, func(Ending) bool, error) {
		id, err := c.Request(PathGreet, nil, false)
		if err == nil {
			err = c.Fr.WriteRSTStream(id, http2.ErrCodeCancel)
		}
		if err == nil {
			err = c.Headers(id, true, RequestHeaders(a, PathGreet)...)
		}
		return id, func(e Ending) bool { return e.Frames[http2.FrameRSTStream] > 0 }, err
	}},
}

func badHeaders(ctx context.Context, t Target, _ Scale) Outcome {
	var out Outcome
	var ends []Ending
	for _, hc := range headerCases {
		if ctx.Err() != nil {
			break
		}
		ans, end, err := runHeaderCase(ctx, t, hc)
		if err != nil {
			ans = "probe failed: " + err.Error()
		}
		out.Cases = append(out.Cases, Case{Name: hc.name, Answer: ans})
		ends = append(ends, end)
	}
	if len(ends) == 0 {
		out.Err = ctx.Err()
		return out
	}
	out.Ending, out.Closed = ends[0], tally(ends)
	return out
}

func runHeaderCase(ctx context.Context, t Target, hc headerCase) (string, Ending, error) {
	c, err := Start(ctx, t.Addr, DialOptions{Window: BigWindow})
	if err != nil {
		return "", Ending{}, err
	}
	defer c.Close()
	defer closeOnDone(ctx, c)()
	obs := Observe(c, ObserveOptions{Streams: true})
	id, done, err := hc.run(c, obs, t.Addr)
	if err == nil {
		err = c.Flush()
	}
	custom := done != nil
	if !custom {
		done = func(e Ending) bool { return answered(e, id) }
	}
	if !obs.WaitFor(time.Second, done).Ended() {
		// Let a GOAWAY that follows the answer arrive too.
		obs.WaitFor(100*time.Millisecond, func(Ending) bool { return false })
	}
	end := obs.Stop()
	writeErr(&end, err)
	switch {
	case !done(end) && !end.Ended():
		return "no answer within 1s", end, nil
	case custom && !done(end):
		// What the stream got before is the earlier call's answer.
		return "connection: " + end.String(), end, nil
	}
	return answer(end, id), end, nil
}

package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// gRPC method paths of greet.v1.GreetService.
const (
	PathGreet          = "/greet.v1.GreetService/Greet"
	PathGreetManyTimes = "/greet.v1.GreetService/GreetManyTimes"
	PathLongGreet      = "/greet.v1.GreetService/LongGreet"
)

// Conn is one raw HTTP/2 client connection. Its Framer writes into a
// buffered writer that the caller flushes; nothing reads the socket unless
// the caller starts an Observer on it.
type Conn struct {
	NC     net.Conn
	BW     *bufio.Writer
	Fr     *http2.Framer
	enc    *hpack.Encoder
	hbuf   bytes.Buffer
	nextID uint32
	addr   string
}

// DialOptions tune the socket of a probe connection.
type DialOptions struct {
	// RcvBuf, when positive, sets SO_RCVBUF before connecting, so that a
	// connection that never reads stops the peer's writes quickly.
	RcvBuf int
	// Window, when positive, is advertised by Start as the initial stream
	// window and the connection window, for a probe that reads its answers
	// and never returns window.
	Window uint32
}

// BigWindow is the receive window of probes that read whole answers.
const BigWindow = 1 << 30

// Dial connects to addr without sending anything.
func Dial(ctx context.Context, addr string, opt DialOptions) (*Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if opt.RcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, opt.RcvBuf)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Conn{NC: nc, BW: bufio.NewWriterSize(nc, 64<<10), nextID: 1, addr: addr}
	c.Fr = http2.NewFramer(c.BW, nil)
	c.Fr.AllowIllegalWrites = true
	c.enc = hpack.NewEncoder(&c.hbuf)
	return c, nil
}

// Start dials addr and sends the client preface and one SETTINGS frame
// carrying settings, flushed.
func Start(ctx context.Context, addr string, opt DialOptions, settings ...http2.Setting) (*Conn, error) {
	c, err := Dial(ctx, addr, opt)
	if err != nil {
		return nil, err
	}
	if opt.Window > 0 {
		settings = append([]http2.Setting{{ID: http2.SettingInitialWindowSize, Val: opt.Window}}, settings...)
	}
	if err := c.Preface(settings...); err != nil {
		c.Close()
		return nil, err
	}
	if opt.Window > 65535 {
		if err := c.Fr.WriteWindowUpdate(0, opt.Window-65535); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.Flush(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Preface writes the client preface and a SETTINGS frame, and flushes.
func (c *Conn) Preface(settings ...http2.Setting) error {
	if _, err := io.WriteString(c.BW, http2.ClientPreface); err != nil {
		return err
	}
	if err := c.Fr.WriteSettings(settings...); err != nil {
		return err
	}
	return c.BW.Flush()
}

// Close closes the socket.
func (c *Conn) Close() error { return c.NC.Close() }

// Flush writes out the buffered frames.
func (c *Conn) Flush() error { return c.BW.Flush() }

// Batch calls write up to n times, flushing after every `every` calls and
// at the end, until write fails or, when deadline is not zero, it passes.
// It returns how many calls succeeded and the first error.
func (c *Conn) Batch(n, every int, deadline time.Time, write func() error) (int, error) {
	done := 0
	for done < n && (deadline.IsZero() || time.Now().Before(deadline)) {
		if err := write(); err != nil {
			return done, err
		}
		done++
		if done%every == 0 {
			if err := c.Flush(); err != nil {
				return done, err
			}
		}
	}
	return done, c.Flush()
}

// Deadline bounds every later write (and read) on the socket.
func (c *Conn) Deadline(t time.Time) { c.NC.SetDeadline(t) }

// NextID returns the next client stream identifier.
func (c *Conn) NextID() uint32 {
	id := c.nextID
	c.nextID += 2
	return id
}

// Block HPACK-encodes fields with the connection's encoder. The result is
// valid until the next call.
func (c *Conn) Block(fields ...hpack.HeaderField) []byte {
	c.hbuf.Reset()
	for _, f := range fields {
		c.enc.WriteField(f)
	}
	return c.hbuf.Bytes()
}

// Encoder is the connection's HPACK encoder, for table size games.
func (c *Conn) Encoder() *hpack.Encoder { return c.enc }

// Headers writes fields as one header block on stream id: a HEADERS frame
// and as many CONTINUATION frames as 16 KiB fragments need.
func (c *Conn) Headers(id uint32, end bool, fields ...hpack.HeaderField) error {
	block := c.Block(fields...)
	return c.HeaderBlock(id, end, block)
}

// HeaderBlock writes an already encoded header block on stream id.
func (c *Conn) HeaderBlock(id uint32, end bool, block []byte) error {
	const frag = 16384
	first := block[:min(len(block), frag)]
	rest := block[len(first):]
	err := c.Fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(rest) == 0})
	for err == nil && len(rest) > 0 {
		f := rest[:min(len(rest), frag)]
		rest = rest[len(f):]
		err = c.Fr.WriteContinuation(id, len(rest) == 0, f)
	}
	return err
}

// Request opens a new stream with a gRPC request for path and, when msg is
// not nil, sends it as one gRPC message. endStream ends the request.
func (c *Conn) Request(path string, msg []byte, endStream bool, extra ...hpack.HeaderField) (uint32, error) {
	id := c.NextID()
	fields := append(RequestHeaders(c.addr, path), extra...)
	if err := c.Headers(id, endStream && msg == nil, fields...); err != nil {
		return id, err
	}
	if msg != nil {
		if err := c.Fr.WriteData(id, endStream, msg); err != nil {
			return id, err
		}
	}
	return id, nil
}

// RequestHeaders is the header list of a gRPC request for path.
func RequestHeaders(authority, path string) []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: path},
		{Name: ":authority", Value: authority},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	}
}

// Message frames a protobuf message as one uncompressed gRPC message.
func Message(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", m, err))
	}
	out := make([]byte, 5+len(b))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(b)))
	copy(out[5:], b)
	return out
}

// GreetMessage is the gRPC message of a Greet or LongGreet request.
func GreetMessage(first string) []byte {
	return Message(&greetv1.GreetRequest{FirstName: first, LastName: "Probe"})
}

// ManyTimesMessage asks GreetManyTimes for count greetings that each carry name.
func ManyTimesMessage(name string, count int32) []byte {
	return Message(&greetv1.GreetManyTimesRequest{Greeting: &greetv1.GreetRequest{FirstName: name}, Count: count})
}

// frameHeader is the 9-byte header of an HTTP/2 frame, written by hand when
// the Framer would have to copy a huge payload into its own buffer.
func frameHeader(length uint32, t http2.FrameType, flags http2.Flags, streamID uint32) []byte {
	return []byte{
		byte(length >> 16), byte(length >> 8), byte(length),
		byte(t), byte(flags),
		byte(streamID >> 24), byte(streamID >> 16), byte(streamID >> 8), byte(streamID),
	}
}

package transport

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Errors reported by Conn.
var (
	ErrClosed        = errors.New("connection closed")
	ErrGoingAway     = errors.New("connection is going away")
	errBadPreface    = errors.New("client did not send the HTTP/2 preface")
	errIDsExhausted  = errors.New("stream identifiers exhausted")
	errNotServerRole = errors.New("only a server-role connection accepts streams")
	errNoTrailers    = errors.New("server closed the stream without trailers")
)

type role uint8

const (
	roleServer role = iota // faces the local client
	roleClient             // faces an upstream server
)

// readBufferSize and writeBufferSize size a connection's read and send
// buffers, which it holds only while it has bytes in them (bufpool.go).
const (
	readBufferSize  = 32 << 10
	writeBufferSize = 32 << 10
)

// Handler serves the request streams a server-role Conn accepts.
type Handler interface {
	// ServeStream is called on the connection's reader goroutine once the
	// request headers of s arrived. It must not block: it links s to an
	// upstream with Conn.Open or answers it with Stream.Fail.
	ServeStream(s *Stream)
}

// Events are the lifecycle callbacks of a client-role Conn. Each may be nil.
// The end of the connection is signalled by Done.
type Events struct {
	// Ready is called once the server's SETTINGS frame arrived.
	Ready func()
	// GoAway is called once when the server sends GOAWAY or the connection
	// can open no more streams; open streams go on.
	GoAway func(code http2.ErrCode, debug string)
}

// Conn is one HTTP/2 connection relaying streams.
type Conn struct {
	nc      net.Conn
	role    role
	cfg     Config
	log     *zap.Logger
	handler Handler
	events  Events

	fr          *http2.Framer // reader goroutine only
	rd          readBuf       // reader goroutine only: what fr reads from
	sawSettings bool          // reader goroutine only: the peer's first SETTINGS arrived
	// pend lists, for the reader goroutine only, the connections that were
	// given frames to write while it handled the frames it has buffered; it
	// writes them out once it would block on a read (flushPending).
	pend []*Conn

	// wmu is held by whoever writes to the socket: the writer goroutine, or
	// a reader goroutine writing inline (writeNow). It guards the fields
	// below and the write ops of collect's callers.
	wmu    sync.Mutex
	wfr    *http2.Framer
	sb     *sendBuf
	henc   *hpack.Encoder
	hbuf   []byte
	iops   []writeOp // writeNow's batch
	iended []*Stream

	// The writer goroutine runs while there is something to write or a
	// stream is open (writer.go). wkMu guards the fields below it; kick is
	// sent with wkMu held.
	kick     chan struct{}
	wkMu     sync.Mutex
	writing  bool // the writer goroutine runs
	canWrite bool // the handshake was written: wake may start the writer
	stopped  bool // the connection failed: no goroutine may start

	hb headerBlock // the header block being read (headers.go)

	done    chan struct{}
	closeMu sync.Once
	wg      sync.WaitGroup // the goroutines the Conn started
	procs   atomic.Int32   // how many of them run
	bufs    atomic.Int32   // pooled read and send buffers held
	err     error
	readAny atomic.Bool // a frame was read since the last keepalive check
	pingAck chan struct{}
	acks    pingAcks // PING acknowledgements owed to the peer (pingack.go)
	health  health   // client role: probes and keepalive PINGs
	// upOpen counts, on a server-role Conn, the upstream halves of its
	// calls that have not ended. It exceeds the open streams while resets
	// of the client are still on their way upstream.
	upOpen atomic.Int32

	mu             sync.Mutex
	streams        map[uint32]*Stream
	ctrl           ctrlQueue
	ready          streamQueue
	connBlocked    []*Stream
	waitSlot       []*Stream
	resets         resetRing // streams recently closed by RST_STREAM
	buffered       int       // DATA bytes queued for this connection's peer
	sendWin        int64
	recvUnacked    uint32
	peerInitWin    int64
	peerMaxFrame   uint32
	peerMaxStreams uint32
	peerTableSize  uint32
	tableSizeDirty bool
	nextID         uint32
	maxPeerID      uint32
	active         int
	started        bool // the preface was exchanged and the writer runs
	goAwaySent     bool
	peerGoAway     bool
	closing        bool // close once the queued frames are flushed
	aborting       bool // closing for an error: only control frames are still written
	closed         bool
	healthGroup    *healthGroup // client role: the health checks' group, see keepalive.go
	healthArmed    bool         // a stream opened since the last check that found none
	healthBusy     bool         // a health check runs
}

func newConn(nc net.Conn, r role, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	return &Conn{
		nc: nc, role: r, cfg: cfg, log: cfg.Logger,
		kick: make(chan struct{}, 1), done: make(chan struct{}),
		pingAck: make(chan struct{}, 1),
		streams: map[uint32]*Stream{}, sendWin: 65535, peerInitWin: 65535,
		peerMaxFrame: 16384, peerMaxStreams: math.MaxUint32, nextID: 1,
		ctrl: ctrlQueue{max: maxQueuedControlFrames},
	}
}

// initFraming allocates the buffers and framers, once the connection
// proved to speak HTTP/2, so that connections that never do cost little.
// prefix holds bytes already read from the connection.
func (c *Conn) initFraming(prefix []byte) {
	c.rd.init(c.nc, &c.bufs, prefix)
	c.sb = newSendBuf(c.nc, &c.bufs)
	c.fr = http2.NewFramer(nil, &c.rd)
	c.fr.SetMaxReadFrameSize(maxFrameSize)
	c.hb.init(c.cfg.MaxHeaderListSize)
	c.fr.SetReuseFrames()
	c.wfr = http2.NewFramer(c.sb, nil)
	c.henc = hpack.NewEncoder(&headerSink{c})
}

// headerSink lets the HPACK encoder append into the writer's scratch buffer.
type headerSink struct{ c *Conn }

func (h *headerSink) Write(p []byte) (int, error) {
	h.c.hbuf = append(h.c.hbuf, p...)
	return len(p), nil
}

// NewServerConn wraps an accepted connection from a local client. Serve
// must be called to run it.
func NewServerConn(nc net.Conn, cfg Config, h Handler) *Conn {
	c := newConn(nc, roleServer, cfg)
	c.handler = h
	return c
}

// NewClientConn sends the client preface and settings on nc and starts the
// connection's reader. ev.Ready fires when the server answers with its
// SETTINGS.
func NewClientConn(nc net.Conn, cfg Config, ev Events) (*Conn, error) {
	c := newConn(nc, roleClient, cfg)
	c.events = ev
	c.initFraming(nil)
	if _, err := io.WriteString(c.sb, http2.ClientPreface); err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.writeInitialSettings(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("write client settings: %w", err)
	}
	c.started = true
	c.joinHealth()
	c.enableWriter()
	c.spawn(c.readLoop)
	return c, nil
}

// Handshake reads the client's preface within PrefaceTimeout and answers
// with the agent's settings. Serve calls it when it was not called before.
func (c *Conn) Handshake() error {
	if c.role != roleServer {
		return errNotServerRole
	}
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if started {
		return nil
	}
	if err := c.handshake(); err != nil {
		c.fail(err)
		return err
	}
	return nil
}

// Serve runs a server-role connection until it closes, and returns once
// every goroutine of the connection ended.
func (c *Conn) Serve() error {
	if err := c.Handshake(); err != nil {
		return err
	}
	c.enableWriter()
	c.readLoop()
	<-c.done
	c.wg.Wait()
	return c.Err()
}

// handshake reads the client preface and the header of the first frame,
// which must be SETTINGS, within PrefaceTimeout, and answers with the
// agent's settings. Until that header arrived the connection holds no
// buffers. The reader reads the rest of the frame under the same deadline.
func (c *Conn) handshake() error {
	c.nc.SetReadDeadline(time.Now().Add(c.cfg.PrefaceTimeout))
	var buf [len(http2.ClientPreface) + frameHeaderLen]byte
	if _, err := io.ReadFull(c.nc, buf[:len(http2.ClientPreface)]); err != nil {
		return fmt.Errorf("read preface: %w", err)
	}
	if string(buf[:len(http2.ClientPreface)]) != http2.ClientPreface {
		return errBadPreface
	}
	if _, err := io.ReadFull(c.nc, buf[len(http2.ClientPreface):]); err != nil {
		return fmt.Errorf("read first frame: %w", err)
	}
	c.mu.Lock()
	if c.closed || c.goAwaySent {
		c.mu.Unlock()
		return ErrClosed
	}
	c.initFraming(buf[len(http2.ClientPreface):])
	c.started = true
	c.mu.Unlock()
	return c.writeInitialSettings()
}

// frameHeaderLen is the length of an HTTP/2 frame header.
const frameHeaderLen = 9

func (c *Conn) writeInitialSettings() error {
	settings := []http2.Setting{
		{ID: http2.SettingInitialWindowSize, Val: c.cfg.StreamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: c.cfg.MaxHeaderListSize},
	}
	if c.role == roleServer {
		settings = append(settings, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.cfg.MaxConcurrentStreams})
	} else {
		settings = append(settings, http2.Setting{ID: http2.SettingEnablePush, Val: 0})
	}
	if err := c.wfr.WriteSettings(settings...); err != nil {
		return err
	}
	if err := c.wfr.WriteWindowUpdate(0, c.cfg.ConnWindow-65535); err != nil {
		return err
	}
	return c.sb.flush()
}

// Done is closed when the connection is gone.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Active is the number of streams open on the connection.
func (c *Conn) Active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active + len(c.waitSlot)
}

// Buffered is the number of DATA bytes queued for the connection's peer
// and not yet written: what the connection holds in memory for it.
func (c *Conn) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buffered
}

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Close closes the connection at once; streams still open fail. It returns
// once the goroutines the Conn started have ended, so it must not be called
// from a Handler, Observer or Events callback.
func (c *Conn) Close() {
	c.fail(ErrClosed)
	c.wg.Wait()
}

// wake tells the writer goroutine that there is something to write,
// starting it when it does not run.
func (c *Conn) wake() {
	c.wkMu.Lock()
	if c.writing || !c.canWrite || c.stopped {
		c.kickLocked()
		c.wkMu.Unlock()
		return
	}
	c.writing = true
	c.startLocked()
	c.wkMu.Unlock()
	go c.runWriter()
}

// nudge wakes the writer goroutine if it runs, so that it ends when the
// connection turned idle.
func (c *Conn) nudge() {
	c.wkMu.Lock()
	if c.writing {
		c.kickLocked()
	}
	c.wkMu.Unlock()
}

func (c *Conn) kickLocked() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// enableWriter lets wake start the writer goroutine, once the handshake
// was written without it, and starts it for anything queued meanwhile.
func (c *Conn) enableWriter() {
	c.wkMu.Lock()
	c.canWrite = true
	pending := len(c.kick) > 0
	c.wkMu.Unlock()
	if pending {
		c.wake()
	}
}

// startLocked counts a goroutine about to start; wkMu is held and the
// connection has not failed. Every goroutine of a Conn is counted this
// way, and none after fail, so that Close, which waits for them once fail
// returned, never waits while one is being added.
func (c *Conn) startLocked() {
	c.wg.Add(1)
	c.procs.Add(1)
}

// ended is deferred by every goroutine startLocked counted.
func (c *Conn) ended() {
	c.procs.Add(-1)
	c.wg.Done()
}

// spawn runs f on a goroutine of the Conn, unless the connection failed.
func (c *Conn) spawn(f func()) {
	if !c.enter() {
		return
	}
	go func() {
		defer c.ended()
		f()
	}()
}

// enter counts the calling goroutine, one the runtime started for the Conn
// (a timer's), as the Conn's; it reports false, and the goroutine must
// return at once, when the connection failed.
func (c *Conn) enter() bool {
	c.wkMu.Lock()
	defer c.wkMu.Unlock()
	if c.stopped {
		return false
	}
	c.startLocked()
	return true
}

// Package proxy is the agent's data path: it accepts the local client's
// HTTP/2 connections, picks an endpoint for every request stream, and links
// the stream to that endpoint's pooled connection.
//
// A request is picked in one place, call.send, for its first attempt and
// for every transparent retry; each attempt's outcome is accounted in one
// place, call.Done, which ends the attempt's pool.Attempt.
package proxy

import (
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/transport"
)

// Config tunes a Proxy.
type Config struct {
	// Upstream names the upstream in errors and logs.
	Upstream string
	// HashHeader is the request header whose value keys hash-based
	// strategies; empty means none. It must be lower case.
	HashHeader string
	// MaxAttempts bounds how often one request is sent: the first try plus
	// transparent retries of attempts the server provably never processed.
	MaxAttempts int
	// Transport configures the client-facing connections.
	Transport transport.Config
	// MaxHandshakes bounds the client connections accepted but not yet
	// through the HTTP/2 preface; more wait, unaccepted, in the listen
	// backlog. Zero means DefaultMaxHandshakes.
	MaxHandshakes int
	// Logger receives connection events and, at debug level, one line per
	// request.
	Logger *zap.Logger
}

// DefaultMaxHandshakes is the default of Config.MaxHandshakes. A connection
// in its handshake costs about 5 KiB, so 1000 of them cost about 5 MiB.
const DefaultMaxHandshakes = 1000

// Proxy serves one upstream on one listener.
type Proxy struct {
	cfg        Config
	pool       *pool.Pool
	log        *zap.Logger
	hashHeader atomic.Pointer[string]

	// handshakes holds a token per connection still in its handshake.
	handshakes chan struct{}
	stop       chan struct{} // closed by Shutdown

	mu       sync.Mutex
	conns    map[*transport.Conn]struct{}
	lns      []net.Listener
	shutdown bool
	wg       sync.WaitGroup
}

// New returns a proxy that picks from p.
func New(cfg Config, p *pool.Pool) *Proxy {
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.MaxHandshakes == 0 {
		cfg.MaxHandshakes = DefaultMaxHandshakes
	}
	px := &Proxy{cfg: cfg, pool: p, log: cfg.Logger.With(zap.String("upstream", cfg.Upstream)),
		conns:      map[*transport.Conn]struct{}{},
		handshakes: make(chan struct{}, cfg.MaxHandshakes), stop: make(chan struct{})}
	px.hashHeader.Store(&cfg.HashHeader)
	return px
}

// SetHashHeader changes the request header hash-based strategies key on;
// it applies to the next request. name must be lower case; empty means none.
func (p *Proxy) SetHashHeader(name string) {
	if old := p.hashHeader.Swap(&name); *old != name {
		p.log.Info("hash header changed", zap.String("from", *old), zap.String("to", name))
	}
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown and the accept error otherwise.
func (p *Proxy) Serve(ln net.Listener) error {
	if !p.track(ln) {
		ln.Close()
		return nil
	}
	for {
		// A connection is accepted only when a handshake slot is free, so
		// that connections which never send their preface wait in the
		// kernel's backlog rather than in the agent's memory.
		select {
		case p.handshakes <- struct{}{}:
		case <-p.stop:
			return nil
		}
		nc, err := ln.Accept()
		if err != nil {
			<-p.handshakes
			if p.isShutdown() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		p.serveConn(nc)
	}
}

// Conns is the number of client connections open now, those still in
// their handshake included.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

func (p *Proxy) track(ln net.Listener) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lns = append(p.lns, ln)
	return !p.shutdown
}

func (p *Proxy) isShutdown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shutdown
}

func (p *Proxy) serveConn(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := transport.NewServerConn(nc, p.cfg.Transport, p)
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		nc.Close()
		<-p.handshakes
		return
	}
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	go p.run(c)
}

// run serves one client connection. Its frame stays small, as the
// goroutine's stack is most of what an idle connection costs.
func (p *Proxy) run(c *transport.Conn) {
	defer p.wg.Done()
	err := c.Handshake()
	<-p.handshakes
	if err == nil {
		err = c.Serve()
	}
	p.closed(c, err)
}

//go:noinline
func (p *Proxy) closed(c *transport.Conn, err error) {
	p.log.Debug("client connection closed", zap.Stringer("remote", c.RemoteAddr()), zap.Error(err))
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// Shutdown stops accepting, tells every client connection that no new
// streams are taken, and waits for the streams in flight to finish until
// ctx ends; then it closes what is left. It returns once every connection
// it served has ended, so nothing of the proxy logs afterwards; a Serve
// still running returns nil.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if !p.shutdown {
		close(p.stop)
	}
	p.shutdown = true
	for _, ln := range p.lns {
		ln.Close()
	}
	for c := range p.conns {
		c.GoAway()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	// Closed outside the lock: closing a connection waits for its reader,
	// which may be serving a stream.
	p.mu.Lock()
	conns := slices.Collect(maps.Keys(p.conns))
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	<-done
	return ctx.Err()
}

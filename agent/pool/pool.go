// Package pool keeps one HTTP/2 connection per endpoint of an upstream and
// publishes the picker over the endpoints that can take requests.
//
// Update is the one place where the endpoint set changes: new endpoints are
// dialled, removed ones drained. The pool keeps the whole discovered set
// and connects to the subset of it that Config.Subset chooses (package
// subset); SetSubset changes the subset and re-applies it to that set. Every change of membership, connection
// state, ejection or strategy publishes a new immutable snapshot (picker and
// endpoint table) with one atomic store; Pick reads it with one atomic load.
// Each attempt to send a request to an endpoint is accounted through one
// Attempt (Endpoint.Begin, then Cancel or End), which updates the load
// figures the strategies read, outlier detection and the metrics together.
package pool

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/metrics"
	"github.com/roundabout-dev/roundabout/agent/subset"
	"github.com/roundabout-dev/roundabout/agent/transport"
)

// Config tunes a Pool.
type Config struct {
	// Upstream names the upstream in logs, metrics and errors.
	Upstream string
	// Transport configures every upstream connection.
	Transport transport.Config
	// DialTimeout bounds one TCP connect plus the HTTP/2 handshake.
	DialTimeout time.Duration
	// BackoffBase and BackoffMax bound the delay between failed connection
	// attempts to one endpoint: it starts at BackoffBase and grows by
	// backoffMultiplier, jittered, up to BackoffMax (backoff.go).
	BackoffBase, BackoffMax time.Duration
	// EjectFailures is how many consecutive connection failures or
	// UNAVAILABLE results eject an endpoint.
	EjectFailures int
	// EjectBackoff is the first ejection's length; each further ejection
	// of the same endpoint doubles it, up to 5 minutes.
	EjectBackoff time.Duration
	// MaxEjectionPercent caps the share of endpoints ejected at once; zero
	// disables ejection.
	MaxEjectionPercent int
	// DrainTimeout bounds how long a removed endpoint's streams may run.
	DrainTimeout time.Duration
	// Subset chooses the endpoints connected to among those discovered;
	// the zero Subset connects to every one.
	Subset Subset
	// Metrics receives the upstream's figures. Nil disables metrics.
	Metrics *metrics.Upstream
	// Logger receives one line per state change.
	Logger *zap.Logger
	// DialWaveEnded, when set, is called once the first connection
	// attempts of the endpoints that one change of the endpoint set added
	// have all ended, when that change added at least largeDialWave of
	// them; n is how many. Their handshakes take memory all at once that
	// is garbage afterwards, which the callee may give back to the system.
	// It is called on a goroutine of the pool, with no lock held.
	DialWaveEnded func(n int)
}

// largeDialWave is the fewest endpoints added at once that call
// Config.DialWaveEnded.
const largeDialWave = 64

// dialWave counts down the first connection attempts of the endpoints one
// change of the endpoint set added.
type dialWave struct {
	n    int
	left atomic.Int32
}

// Subset is how a Pool chooses the endpoints it connects to among the
// discovered ones.
type Subset struct {
	// Size is how many endpoints to connect to; 0 means every one.
	Size int
	// Position is the client's place among its peers: exact (i/C) or the
	// statistical fallback.
	Position subset.Position
	// From says what gave Position, for logs and /debug/endpoints, such as
	// "--subset-id" or "peers service gateway".
	From string
}

// Pool is the set of endpoints of one upstream and their connections.
type Pool struct {
	cfg  Config
	log  *zap.Logger
	snap atomic.Pointer[snapshot]

	mu sync.Mutex
	// discovered is the sorted, deduplicated set Update was last given;
	// endpoints holds the subset of it chosen by subset.
	discovered []string
	subset     Subset
	endpoints  map[string]*Endpoint
	builder    balancer.Builder
	invalid    string // last rejected strategy request, for /debug/endpoints
	closed     bool
	timers     map[*time.Timer]struct{} // pending afterLocked calls

	// wg counts every goroutine the pool starts and every pending timer of
	// afterLocked; Close waits for it.
	wg sync.WaitGroup
	// abort is closed when Close runs out of time: drains stop waiting
	// and close their connections at once.
	abort     chan struct{}
	abortOnce sync.Once
}

// snapshot is what Pick reads: the picker and the endpoints it may return.
type snapshot struct {
	picker balancer.Picker
	byAddr map[string]*Endpoint
	addrs  []string // the keys of byAddr, sorted
}

// New returns an empty pool using the strategy b.
func New(cfg Config, b balancer.Builder) *Pool {
	cfg = withDefaults(cfg)
	p := &Pool{cfg: cfg, log: cfg.Logger.With(zap.String("upstream", cfg.Upstream)),
		subset: cfg.Subset, endpoints: map[string]*Endpoint{}, builder: b, timers: map[*time.Timer]struct{}{}, abort: make(chan struct{})}
	cfg.Metrics.SetStrategy(b.Name())
	p.publishLocked()
	return p
}

// Defaults of the Config fields that have one; the agent's flags default to
// the same values.
const (
	DefaultDialTimeout   = 5 * time.Second
	DefaultBackoffBase   = time.Second
	DefaultBackoffMax    = 120 * time.Second
	DefaultEjectFailures = 5
	DefaultEjectBackoff  = 5 * time.Second
	DefaultDrainTimeout  = 30 * time.Second
)

func withDefaults(cfg Config) Config {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.EjectFailures == 0 {
		cfg.EjectFailures = DefaultEjectFailures
	}
	if cfg.EjectBackoff == 0 {
		cfg.EjectBackoff = DefaultEjectBackoff
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return cfg
}

// Pick chooses the endpoint for one request and returns it with its
// connection, or balancer.ErrNoEndpoint when no endpoint can take the
// request. An endpoint whose connection went away after the snapshot was
// taken is skipped: the picker is asked again, as often as there are
// endpoints. The request is accounted with the endpoint's Begin.
func (p *Pool) Pick(info balancer.PickInfo) (*Endpoint, *transport.Conn, error) {
	s := p.snap.Load()
	for range max(len(s.byAddr), 1) {
		be, err := s.picker.Pick(info)
		if err != nil {
			return nil, nil, balancer.ErrNoEndpoint
		}
		e := s.byAddr[be.Addr]
		if c := e.conn.Load(); c != nil {
			return e, c, nil
		}
	}
	return nil, nil, balancer.ErrNoEndpoint
}

// Update replaces the discovered endpoint set and applies the subset to
// it: endpoints of the subset not connected before are dialled, endpoints
// no longer in it are drained and closed.
func (p *Pool) Update(set []discovery.Endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	addrs := make([]string, len(set))
	for i, d := range set {
		addrs[i] = d.Addr
	}
	slices.Sort(addrs)
	p.discovered = slices.Compact(addrs)
	p.applyLocked()
}

// SetSubset changes how the endpoints are chosen and re-applies the choice
// to the discovered set. It does nothing once the pool is closed.
func (p *Pool) SetSubset(s Subset) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || s == p.subset {
		return
	}
	from := p.subset
	p.subset = s
	p.log.Info("subset changed", zap.Int("size", s.Size), zap.Int("previous_size", from.Size),
		zap.String("id", s.Position.String()), zap.String("previous_id", from.Position.String()),
		zap.String("id_from", s.From), zap.Int("discovered", len(p.discovered)))
	p.applyLocked()
}

// applyLocked connects to the subset of the discovered set: endpoints new
// to it are dialled, those that left it are drained and closed.
func (p *Pool) applyLocked() {
	chosen := subset.Select(p.discovered, p.subset.Size, p.subset.Position)
	p.cfg.Metrics.SetDiscovered(len(p.discovered))
	want := make(map[string]bool, len(chosen))
	var added []*Endpoint
	for _, addr := range chosen {
		want[addr] = true
		if _, ok := p.endpoints[addr]; !ok {
			added = append(added, p.addLocked(addr))
		}
	}
	if len(added) >= largeDialWave && p.cfg.DialWaveEnded != nil {
		w := &dialWave{n: len(added)}
		w.left.Store(int32(len(added)))
		for _, e := range added {
			e.wave = w
		}
	}
	for _, e := range added {
		p.wg.Go(e.run)
	}
	for addr, e := range p.endpoints {
		if !want[addr] {
			p.removeLocked(e)
		}
	}
	p.publishLocked()
}

// addLocked adds the endpoint at addr; the caller starts its run loop.
func (p *Pool) addLocked(addr string) *Endpoint {
	e := newEndpoint(p, addr)
	p.endpoints[addr] = e
	p.log.Info("endpoint added", zap.String("endpoint", addr))
	return e
}

func (p *Pool) removeLocked(e *Endpoint) {
	delete(p.endpoints, e.Addr)
	p.log.Info("endpoint removed", zap.String("endpoint", e.Addr), zap.Int("in_flight", int(e.load.InFlight())))
	e.remove()
	p.cfg.Metrics.Forget(e.Addr)
}

// SetStrategy swaps the strategy. Requests in flight keep their endpoint;
// the next pick uses the new strategy. It does nothing once the pool is
// closed.
func (p *Pool) SetStrategy(b balancer.Builder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	from := p.builder.Name()
	p.builder = b
	p.invalid = ""
	p.publishLocked()
	p.cfg.Metrics.SetStrategy(b.Name())
	if from != b.Name() {
		p.log.Info("strategy changed", zap.String("from", from), zap.String("to", b.Name()))
	}
}

// RejectStrategy records a strategy request that was not applied, so that
// /debug/endpoints shows it.
func (p *Pool) RejectStrategy(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.invalid = reason
}

// Strategy is the current strategy's name.
func (p *Pool) Strategy() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.builder.Name()
}

// publish rebuilds the snapshot after an endpoint changed state.
func (p *Pool) publish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publishLocked()
}

func (p *Pool) publishLocked() {
	usable := make([]balancer.Endpoint, 0, len(p.endpoints))
	byAddr := make(map[string]*Endpoint, len(p.endpoints))
	counts := map[State]int{}
	for addr, e := range p.endpoints {
		st := e.state()
		counts[st]++
		if st == StateReady {
			usable = append(usable, balancer.Endpoint{Addr: addr, Load: e.load})
			byAddr[addr] = e
		}
	}
	slices.SortFunc(usable, func(a, b balancer.Endpoint) int { return strings.Compare(a.Addr, b.Addr) })
	addrs := make([]string, len(usable))
	for i, e := range usable {
		addrs[i] = e.Addr
	}
	// Over no usable endpoint, the builder's picker fails every pick with
	// balancer.ErrNoEndpoint.
	picker := p.builder.Build(usable)
	p.snap.Store(&snapshot{picker: picker, byAddr: byAddr, addrs: addrs})
	for _, st := range states {
		p.cfg.Metrics.SetEndpoints(string(st), counts[st])
	}
}

// Dialled reports whether the first connection attempt to every endpoint
// has ended: each endpoint is either in the picker or has failed to
// connect once. An empty pool has nothing to dial.
func (p *Pool) Dialled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.endpoints {
		if !e.dialled.Load() {
			return false
		}
	}
	return true
}

// Close removes every endpoint and lets their connections drain, each
// within the drain timeout; when ctx ends first, the connections still
// draining are closed at once. Close returns once every goroutine the pool
// started has ended and every connection it opened is closed, so nothing
// of the pool logs or runs afterwards; Update, SetStrategy and late
// transport events are then no-ops. Calling Close again only waits.
func (p *Pool) Close(ctx context.Context) {
	p.mu.Lock()
	p.closed = true
	for _, e := range p.endpoints {
		e.remove()
	}
	p.endpoints = map[string]*Endpoint{}
	for t := range p.timers {
		if t.Stop() {
			p.wg.Done()
		}
	}
	clear(p.timers)
	p.publishLocked()
	p.mu.Unlock()

	drained := make(chan struct{})
	var aborter sync.WaitGroup // aborts the drains if ctx ends before them
	aborter.Go(func() {
		select {
		case <-ctx.Done():
			p.abortOnce.Do(func() { close(p.abort) })
		case <-drained:
		}
	})
	p.wg.Wait()
	close(drained)
	aborter.Wait()
}

// afterLocked runs f in a goroutine of its own after d, unless the pool is
// closed by then: Close stops the timer, or waits for f if it has started.
// On a closed pool it does nothing. It serves the re-admission of ejected
// endpoints.
func (p *Pool) afterLocked(d time.Duration, f func()) {
	if p.closed {
		return
	}
	var t *time.Timer
	p.wg.Add(1)
	t = time.AfterFunc(d, func() {
		defer p.wg.Done()
		p.mu.Lock()
		delete(p.timers, t)
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			f()
		}
	})
	p.timers[t] = struct{}{}
}

// Metrics is the upstream's metrics; nil, which records nothing, when
// metrics are off.
func (p *Pool) Metrics() *metrics.Upstream { return p.cfg.Metrics }

// ReadyCount is how many endpoints can take requests now.
func (p *Pool) ReadyCount() int { return len(p.snap.Load().byAddr) }

// ReadyAddrs lists the addresses of the endpoints that can take requests,
// sorted. The slice must not be modified.
func (p *Pool) ReadyAddrs() []string { return p.snap.Load().addrs }

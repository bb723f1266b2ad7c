package greettest

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dialTimeout bounds the balancer's connection to a backend.
const dialTimeout = 5 * time.Second

// ConnBalancer is a TCP proxy that picks a backend once per connection,
// round-robin, and then relays every byte of that connection to it. That is
// what kube-proxy does for a ClusterIP Service: a long-lived HTTP/2
// connection, and every gRPC call on it, stays on the pod it was first sent to.
type ConnBalancer struct {
	lis      net.Listener
	backends []string
	picks    []atomic.Int64
	next     atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
}

// StartConnBalancer listens on addr and spreads connections over backends
// ("host:port"). It is closed when the test ends.
func StartConnBalancer(tb testing.TB, addr string, backends ...string) *ConnBalancer {
	tb.Helper()
	if len(backends) == 0 {
		tb.Fatalf("greettest: connection balancer needs at least one backend")
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("greettest: listening on %s: %v", addr, err)
	}
	b := &ConnBalancer{lis: lis, backends: backends, picks: make([]atomic.Int64, len(backends)),
		conns: make(map[net.Conn]struct{})}
	b.wg.Add(1)
	go b.acceptLoop()
	tb.Cleanup(b.Close)
	return b
}

// Addr is the balancer's listening address, the "ClusterIP:port".
func (b *ConnBalancer) Addr() string { return b.lis.Addr().String() }

// Connections returns how many connections went to each backend, in the order given.
func (b *ConnBalancer) Connections() []int64 {
	counts := make([]int64, len(b.picks))
	for i := range b.picks {
		counts[i] = b.picks[i].Load()
	}
	return counts
}

// Close stops accepting, cuts every relayed connection and waits for the relays to end.
func (b *ConnBalancer) Close() {
	_ = b.lis.Close()
	b.mu.Lock()
	b.closed = true
	for c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *ConnBalancer) acceptLoop() {
	defer b.wg.Done()
	for {
		client, err := b.lis.Accept()
		if err != nil {
			return
		}
		i := int((b.next.Add(1) - 1) % uint64(len(b.backends)))
		b.picks[i].Add(1)
		b.wg.Add(1)
		go b.relay(client, b.backends[i])
	}
}

// relay copies bytes both ways between client and backend until either side closes.
func (b *ConnBalancer) relay(client net.Conn, backend string) {
	defer b.wg.Done()
	defer client.Close()
	if !b.add(client) {
		return
	}
	defer b.remove(client)
	server, err := net.DialTimeout("tcp", backend, dialTimeout)
	if err != nil {
		return
	}
	defer server.Close()
	if !b.add(server) {
		return
	}
	defer b.remove(server)
	done := make(chan struct{}, 2)
	go pipe(server, client, done)
	go pipe(client, server, done)
	<-done // either direction ended: close both, which ends the other copy
	_ = client.Close()
	_ = server.Close()
	<-done
}

func pipe(dst, src net.Conn, done chan<- struct{}) {
	_, _ = io.Copy(dst, src)
	done <- struct{}{}
}

// add registers c for Close, or reports false when the balancer is already closed.
func (b *ConnBalancer) add(c net.Conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.conns[c] = struct{}{}
	return true
}

func (b *ConnBalancer) remove(c net.Conn) {
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

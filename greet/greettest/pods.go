package greettest

import (
	"fmt"
	"net"
	"strconv"
	"testing"
)

// portAttempts bounds the search for an ephemeral port free on every host.
const portAttempts = 20

// StartPods starts one server per host, all on the same port, named greet-0,
// greet-1, ... in host order. It uses port when it is free on every host and
// otherwise one ephemeral port free on all of them, which is what a DNS name
// with several A records needs. opts apply to every server.
func StartPods(tb testing.TB, hosts []string, port int, opts ...Option) []*Server {
	tb.Helper()
	listeners, err := listenShared(hosts, port)
	if err != nil {
		tb.Fatalf("greettest: %v", err)
	}
	pods := make([]*Server, len(listeners))
	for i, lis := range listeners {
		pods[i] = Serve(tb, lis, fmt.Sprintf("greet-%d", i), opts...)
	}
	return pods
}

// listenShared listens on the same port on every host, trying port first.
func listenShared(hosts []string, port int) ([]net.Listener, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("no hosts to listen on")
	}
	if port != 0 {
		if ls, err := listenAll(hosts, port); err == nil {
			return ls, nil
		}
	}
	var lastErr error
	for range portAttempts {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", hosts[0], err)
		}
		rest, err := listenAll(hosts[1:], first.Addr().(*net.TCPAddr).Port)
		if err == nil {
			return append([]net.Listener{first}, rest...), nil
		}
		_ = first.Close()
		lastErr = err
	}
	return nil, fmt.Errorf("no port free on all of %v after %d attempts: %w", hosts, portAttempts, lastErr)
}

// listenAll listens on host:port for every host, or on none of them.
func listenAll(hosts []string, port int) ([]net.Listener, error) {
	ls := make([]net.Listener, 0, len(hosts))
	for _, h := range hosts {
		lis, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			closeAll(ls)
			return nil, err
		}
		ls = append(ls, lis)
	}
	return ls, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

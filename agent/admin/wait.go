package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Polling of WaitReady and WaitDrained: how often the agent is asked, how
// long one answer may take, and how much of a body is quoted.
const (
	WaitInterval       = 100 * time.Millisecond
	waitRequestTimeout = time.Second
	waitBodyLimit      = 4 << 10
)

// WaitReady asks http://addr/readyz every interval until it answers 200
// and returns nil. Once timeout has passed, or ctx has ended, it returns an
// error naming the URL and the last answer (status and body) or the last
// error. An empty or unspecified host in addr is reached on loopback. The
// requests use no proxy.
func WaitReady(ctx context.Context, addr string, timeout, interval time.Duration) error {
	url := "http://" + loopbackIfUnspecified(addr) + "/readyz"
	last := "no answer yet"
	err := poll(ctx, timeout, interval, func(ctx context.Context) bool {
		code, body, err := fetch(ctx, url)
		switch {
		case ctx.Err() != nil: // cut short: the last answer stands
		case err != nil:
			last = "last error: " + err.Error()
		case code != http.StatusOK:
			last = fmt.Sprintf("last answer: %d %s: %s", code, http.StatusText(code), body)
		}
		return err == nil && code == http.StatusOK
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s not ready after %s; %s", url, timeout, last)
	}
	if err != nil {
		return fmt.Errorf("%s: stopped waiting: %w; %s", url, err, last)
	}
	return nil
}

// WaitDrained asks http://addr/connections every interval until no client
// connection is open, or the agent refuses the connection (it has
// stopped), and returns 0 and nil. Once timeout has passed it returns the
// connections still open and an error naming the URL; when ctx ends first,
// ctx's error. addr is read as in WaitReady.
func WaitDrained(ctx context.Context, addr string, timeout, interval time.Duration) (int, error) {
	url := "http://" + loopbackIfUnspecified(addr) + "/connections"
	open, last := -1, "no answer yet"
	err := poll(ctx, timeout, interval, func(ctx context.Context) bool {
		code, body, err := fetch(ctx, url)
		switch {
		case ctx.Err() != nil: // cut short: the last answer stands
			return false
		case errors.Is(err, syscall.ECONNREFUSED):
			open = 0
			return true
		case err != nil:
			last = "last error: " + err.Error()
			return false
		case code != http.StatusOK:
			last = fmt.Sprintf("last answer: %d %s: %s", code, http.StatusText(code), body)
			return false
		}
		n, err := strconv.Atoi(body)
		if err != nil {
			last = fmt.Sprintf("last answer: %q is not a number", body)
			return false
		}
		open, last = n, fmt.Sprintf("%d client connections open", n)
		return n == 0
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return open, fmt.Errorf("%s not drained after %s; %s", url, timeout, last)
	}
	if err != nil {
		return open, fmt.Errorf("%s: stopped waiting: %w; %s", url, err, last)
	}
	return 0, nil
}

// poll calls done every interval until it reports true, and returns nil;
// or context.DeadlineExceeded once timeout has passed, or ctx's error when
// it ends first. A call cut short by the end of either is not counted.
func poll(ctx context.Context, timeout, interval time.Duration, done func(context.Context) bool) error {
	wait, cancel := context.WithTimeoutCause(ctx, timeout, context.DeadlineExceeded)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if done(wait) {
			return nil
		}
		if wait.Err() != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return context.DeadlineExceeded
		}
		select {
		case <-wait.Done():
		case <-tick.C:
		}
	}
}

// client asks the agent directly, never through a proxy from the
// environment, on a new connection each time.
var client = &http.Client{Timeout: waitRequestTimeout,
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// fetch GETs url once and returns the status and the start of the body,
// trimmed.
func fetch(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, waitBodyLimit))
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}

// loopbackIfUnspecified replaces an empty or unspecified host, where an
// agent listens on every address, with the loopback address of its family.
func loopbackIfUnspecified(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch ip := net.ParseIP(host); {
	case host == "", ip != nil && ip.Equal(net.IPv4zero):
		host = "127.0.0.1"
	case ip != nil && ip.Equal(net.IPv6unspecified):
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Polling of WaitReady: how often /readyz is asked, how long one answer
// may take, and how much of a body is quoted.
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
	client := &http.Client{Timeout: waitRequestTimeout,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	last := "no answer yet"
	for {
		ready, answer := askReady(ctx, client, url)
		if ready {
			return nil
		}
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				return fmt.Errorf("%s not ready after %s; %s", url, timeout, last)
			}
			return fmt.Errorf("%s: stopped waiting: %w; %s", url, ctx.Err(), last)
		}
		last = answer
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// askReady GETs url once: true on 200, else the answer or the error.
func askReady(ctx context.Context, client *http.Client, url string) (bool, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, "last error: " + err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, "last error: " + err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, waitBodyLimit))
	if resp.StatusCode == http.StatusOK {
		return true, ""
	}
	return false, fmt.Sprintf("last answer: %s: %s", resp.Status, strings.TrimSpace(string(body)))
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

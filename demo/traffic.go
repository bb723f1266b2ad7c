package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"
)

// Gateway sends greetings to one greet-gateway pod, the way a user of the
// REST API would, and reads which server pod answered each.
type Gateway struct {
	url    string
	client *http.Client
}

// NewGateway returns a Gateway for the pod at ip, serving HTTP on port.
func NewGateway(ip string, port int) *Gateway {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	return &Gateway{
		url:    "http://" + net.JoinHostPort(ip, fmt.Sprint(port)) + "/greet",
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
}

// Greet sends one greeting and returns the name of the pod that answered.
func (g *Gateway) Greet(ctx context.Context, n int) (string, error) {
	body := fmt.Sprintf(`{"first_name":"Demo","last_name":"%d"}`, n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %d %s", g.url, resp.StatusCode, strings.TrimSpace(string(text)))
	}
	pod, ok := greetserver.PodName(string(text))
	if !ok {
		return "", fmt.Errorf("POST %s: no pod name in %q", g.url, text)
	}
	return pod, nil
}

// Close drops the gateway's idle connections.
func (g *Gateway) Close() { g.client.CloseIdleConnections() }

// Tally counts requests per pod.
type Tally map[string]int

// Total is the number of requests counted.
func (t Tally) Total() int {
	n := 0
	for _, v := range t {
		n += v
	}
	return n
}

// Pods returns the pod names in order.
func (t Tally) Pods() []string {
	names := make([]string, 0, len(t))
	for k := range t {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Sequential sends n greetings one after the other and tallies them.
func (g *Gateway) Sequential(ctx context.Context, n int) (Tally, error) {
	t := Tally{}
	for i := range n {
		pod, err := g.Greet(ctx, i)
		if err != nil {
			return t, fmt.Errorf("request %d of %d: %w", i+1, n, err)
		}
		t[pod]++
	}
	return t, nil
}

// Hit is one request's outcome in a load run.
type Hit struct {
	At      time.Time
	Pod     string
	Latency time.Duration
	Err     error
}

// Load sends requests at rate per second for d, each in its own goroutine
// with at most maxInFlight outstanding, and returns every outcome sent.
// It sends at most rate*d requests; each one is bounded by the client's
// timeout, and ctx ends the run early.
func (g *Gateway) Load(ctx context.Context, rate int, d time.Duration, maxInFlight int) []Hit {
	total := int(d.Seconds() * float64(rate))
	hits := make([]Hit, total)
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	sent := 0
	for ; sent < total && g.slot(ctx, tick.C, sem); sent++ {
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			start := time.Now()
			pod, err := g.Greet(ctx, i)
			hits[i] = Hit{At: start, Pod: pod, Latency: time.Since(start), Err: err}
		}(sent)
	}
	wg.Wait()
	return hits[:sent]
}

// slot waits for the next tick and a free place among the requests in
// flight, and reports false when ctx ends first.
func (g *Gateway) slot(ctx context.Context, tick <-chan time.Time, sem chan struct{}) bool {
	select {
	case <-ctx.Done():
		return false
	case <-tick:
	}
	select {
	case <-ctx.Done():
		return false
	case sem <- struct{}{}:
		return true
	}
}

// LoadSummary condenses a load run.
type LoadSummary struct {
	Requests  int
	Failures  int
	FirstErr  error
	P50, P99  time.Duration
	PerSecond float64
	Tally     Tally
	// Start is when the first request was sent, and Span the time from
	// then to the last one.
	Start time.Time
	Span  time.Duration
}

// Summarize counts requests, failures and latency percentiles of hits, and
// measures the rate they were sent at.
func Summarize(hits []Hit) LoadSummary {
	s := LoadSummary{Requests: len(hits), Tally: Tally{}}
	s.Start, s.Span = span(hits)
	lat := make([]time.Duration, 0, len(hits))
	for _, h := range hits {
		if h.Err != nil {
			s.Failures++
			if s.FirstErr == nil {
				s.FirstErr = h.Err
			}
			continue
		}
		s.Tally[h.Pod]++
		lat = append(lat, h.Latency)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s.P50, s.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if s.Span > 0 {
		s.PerSecond = float64(len(hits)-1) / s.Span.Seconds()
	}
	return s
}

// span returns when the first request was sent and the time from then to
// the last one.
func span(hits []Hit) (time.Time, time.Duration) {
	if len(hits) == 0 {
		return time.Time{}, 0
	}
	first, last := hits[0].At, hits[0].At
	for _, h := range hits[1:] {
		if h.At.Before(first) {
			first = h.At
		}
		if h.At.After(last) {
			last = h.At
		}
	}
	return first, last.Sub(first)
}

// percentile is the q-th quantile of sorted, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

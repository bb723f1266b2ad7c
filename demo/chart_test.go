package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/admin"
	"github.com/roundabout-dev/roundabout/agent/pool"
)

func TestChartListsIdlePodsAndScalesBars(t *testing.T) {
	var buf bytes.Buffer
	Chart(&buf, Tally{"b": 30, "x": 3}, []string{"a", "b"})
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (a, b, then x):\n%s", len(lines), buf.String())
	}
	for i, want := range []struct {
		name string
		full int
		n    string
	}{{"a", 0, " 0"}, {"b", barWidth, " 30"}, {"x", barWidth / 10, " 3"}} {
		f := strings.Fields(lines[i])
		if f[0] != want.name || strings.Count(lines[i], "█") != want.full || !strings.HasSuffix(lines[i], want.n) {
			t.Errorf("line %d = %q, want pod %s with %d full cells ending%s", i, lines[i], want.name, want.full, want.n)
		}
	}
	if got := tallyLine(Tally{"b": 30}, []string{"a", "b", "c"}); got != "0/30/0" {
		t.Errorf("tallyLine = %q, want 0/30/0", got)
	}
}

func TestSummarizeCountsFailuresAndPercentiles(t *testing.T) {
	var hits []Hit
	t0 := time.Now()
	for i := 1; i <= 100; i++ {
		hits = append(hits, Hit{At: t0.Add(time.Duration(i) * 10 * time.Millisecond),
			Pod: "p" + string(rune('0'+i%2)), Latency: time.Duration(i) * time.Millisecond})
	}
	boom := errors.New("boom")
	hits = append(hits, Hit{At: t0.Add(1010 * time.Millisecond), Err: boom}, Hit{At: t0.Add(1020 * time.Millisecond), Err: errors.New("later")})
	s := Summarize(hits)
	if s.Requests != 102 || s.Failures != 2 || s.FirstErr != boom {
		t.Errorf("requests %d failures %d first %v, want 102, 2, boom", s.Requests, s.Failures, s.FirstErr)
	}
	if s.P50 != 50*time.Millisecond || s.P99 != 99*time.Millisecond {
		t.Errorf("p50 %s p99 %s, want 50ms and 99ms", s.P50, s.P99)
	}
	if s.Tally["p0"] != 50 || s.Tally["p1"] != 50 {
		t.Errorf("tally %v, want 50 each", s.Tally)
	}
	if !s.Start.Equal(t0.Add(10*time.Millisecond)) || s.Span != 1010*time.Millisecond || s.PerSecond != 100 {
		t.Errorf("start %v span %s rate %v/s, want t0+10ms, 1.01s, 100/s", s.Start.Sub(t0), s.Span, s.PerSecond)
	}
}

// TestDecodeDebugReadsWhatTheAdminServerServes decodes /debug/endpoints as
// the agent's admin server serves it, for one upstream and for two.
func TestDecodeDebugReadsWhatTheAdminServerServes(t *testing.T) {
	for _, upstreams := range [][]pool.Debug{
		{{Upstream: "a", Strategy: "random", Endpoints: []pool.EndpointDebug{{Addr: "x", State: pool.StateReady}}}},
		{{Upstream: "a"}, {Upstream: "b", Strategy: "ring-hash"}},
	} {
		s := admin.New(admin.Config{Addr: "127.0.0.1:0", Debug: func() []any {
			out := make([]any, len(upstreams))
			for i, u := range upstreams {
				out[i] = u
			}
			return out
		}})
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + s.Addr() + "/debug/endpoints")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.Shutdown(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeDebug(raw)
		if err != nil || !reflect.DeepEqual(got, upstreams) {
			t.Errorf("decodeDebug(%s) = %+v, %v; want %+v", raw, got, err, upstreams)
		}
	}
	if _, err := decodeDebug([]byte(`"nope"`)); err == nil {
		t.Error("a JSON string decoded without error")
	}
}

package demo

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
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

func TestDecodeDebugOneOrMany(t *testing.T) {
	one, err := decodeDebug([]byte(`{"upstream":"a","strategy":"random","endpoints":[{"addr":"x","state":"ready"}]}`))
	if err != nil || len(one) != 1 || one[0].Strategy != "random" || one[0].Endpoints[0].State != "ready" {
		t.Errorf("one upstream: %+v, %v", one, err)
	}
	many, err := decodeDebug([]byte(`[{"upstream":"a"},{"upstream":"b"}]`))
	if err != nil || len(many) != 2 || many[1].Upstream != "b" {
		t.Errorf("two upstreams: %+v, %v", many, err)
	}
	if _, err := decodeDebug([]byte(`"nope"`)); err == nil {
		t.Error("a JSON string decoded without error")
	}
}

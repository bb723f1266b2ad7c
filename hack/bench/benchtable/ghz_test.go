package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

const sampleReport = `{
  "count": 1000, "rps": 9876.5,
  "statusCodeDistribution": {"OK": 997, "Unavailable": 3},
  "errorDistribution": {"rpc error: code = Unavailable": 3},
  "latencyDistribution": [
    {"percentage": 10, "latency": 1000000},
    {"percentage": 50, "latency": 2500000},
    {"percentage": 99, "latency": 9100000}
  ],
  "details": [{"latency": 1, "status": "OK"}],
  "options": {"rps": 1000}
}`

func TestReadLoadPicksRateLatenciesAndFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c50.json")
	if err := os.WriteFile(path, []byte(sampleReport), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readLoad(path)
	if err != nil {
		t.Fatal(err)
	}
	want := load{TargetRPS: 1000, RPS: 9876.5, P50: 2500 * time.Microsecond, P99: 9100 * time.Microsecond, Count: 1000, Failed: 3, Rounds: 1}
	if got != want {
		t.Fatalf("readLoad = %+v, want %+v", got, want)
	}
}

func TestReadLoadRejectsReportWithoutPercentiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c50.json")
	if err := os.WriteFile(path, []byte(`{"count": 5, "rps": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readLoad(path); err == nil {
		t.Fatal("readLoad accepted a report with no latency distribution")
	}
}

func TestReadLoadRejectsNonJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c50.json")
	if err := os.WriteFile(path, []byte("Summary:\n  Count: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readLoad(path); err == nil {
		t.Fatal("readLoad accepted ghz's pretty output")
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadTargetsKeepsRunOrderAndReadsEveryFile(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "1-direct"), map[string]string{fileLabel: "direct\n", runSat + ".json": sampleReport})
	writeFiles(t, filepath.Join(root, "2-agent"), map[string]string{fileSkip: "not built: bin/roundabout-agent\n"})
	writeFiles(t, filepath.Join(root, "3-haproxy"), map[string]string{
		runSat + ".json":   sampleReport,
		runPaced + ".json": sampleReport,
		fileMemory:         "peak_hwm_kib=18432\nserving_rss_kib=15000\n",
		fileSplit:          "127.0.1.3:50051 40\n127.0.1.2:50051 41\n",
		runIdle + ".json":  sampleReport,
		runSeq + ".json":   sampleReport,
		fileCPU:            "clk_tck=100\nrps500=30\nc1=12\n",
	})
	targets, err := readTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, tg := range targets {
		ids = append(ids, tg.ID)
	}
	if strings.Join(ids, ",") != "direct,agent,haproxy" {
		t.Fatalf("target order = %v", ids)
	}
	if targets[1].Skip != "not built: bin/roundabout-agent" || targets[1].Saturated != nil {
		t.Fatalf("skipped agent = %+v", targets[1])
	}
	h := targets[2]
	if h.Label != "haproxy" || h.Paced == nil || h.Memory[keyPeakHWM] != 18432 {
		t.Fatalf("haproxy = %+v", h)
	}
	if len(h.Split) != 2 || h.Split[0] != (serverCount{"127.0.1.2:50051", 41}) {
		t.Fatalf("haproxy split = %+v, want sorted by endpoint", h.Split)
	}
	// 30 ticks at 100 Hz over the 997 calls of sampleReport answered OK.
	if us, ok := h.cpuPerCall(runIdle, h.Idle); !ok || fmt.Sprintf("%.1f", us) != "300.9" {
		t.Fatalf("haproxy CPU per call at 500 rps = %.1f, %v; want 300.9", us, ok)
	}
	if _, ok := h.cpuPerCall(runServing, h.Serving); ok {
		t.Fatal("haproxy CPU per call at 2000 rps reported without its run")
	}
	if targets[0].CPU[runSeq] != 0 || targets[0].Seq != nil {
		t.Fatalf("direct has CPU or c=1 figures: %+v", targets[0])
	}
}

// roundReport is a ghz report of one round at 500 rps.
func roundReport(count, ok int, total, p50, p99 time.Duration) string {
	return fmt.Sprintf(`{"count": %d, "total": %d, "rps": %f, "statusCodeDistribution": {"OK": %d},
  "latencyDistribution": [{"percentage": 50, "latency": %d}, {"percentage": 99, "latency": %d}],
  "options": {"rps": 500}}`, count, total, float64(count)/total.Seconds(), ok, p50, p99)
}

func TestReadTargetsCombinesTheRoundsOfARun(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "2-agent"), map[string]string{
		runIdle + ".1.json": roundReport(1500, 1500, 3*time.Second, 400*time.Microsecond, 2*time.Millisecond),
		runIdle + ".2.json": roundReport(1400, 1398, 3*time.Second, 600*time.Microsecond, 4*time.Millisecond),
		// The memory of the 2000 rps run is given once per round: the
		// largest counts. The CPU time of each round adds up.
		fileMemory: "serving_rss_kib=15000\nserving_hwm_kib=17000\nserving_rss_kib=14000\nserving_hwm_kib=17500\n",
		fileCPU:    "clk_tck=100\nrps500=40\nrps500=32\n",
	})
	targets, err := readTargets(root)
	if err != nil {
		t.Fatal(err)
	}
	a := targets[0]
	if a.Idle == nil {
		t.Fatal("the rounds of the 500 rps run were not read")
	}
	want := load{TargetRPS: 500, RPS: 2900.0 / 6, P50: 500 * time.Microsecond, P99: 3 * time.Millisecond,
		Count: 2900, Failed: 2, Total: 6 * time.Second, Rounds: 2}
	if *a.Idle != want {
		t.Fatalf("500 rps rounds = %+v, want %+v", *a.Idle, want)
	}
	if a.Memory[keyServingRSS] != 15000 || a.Memory[keyServingHWM] != 17500 {
		t.Fatalf("memory = %v, want the largest of each key", a.Memory)
	}
	// 72 ticks at 100 Hz over the 2898 calls of both rounds answered OK.
	if us, ok := a.cpuPerCall(runIdle, a.Idle); !ok || fmt.Sprintf("%.1f", us) != "248.4" {
		t.Fatalf("CPU per call at 500 rps = %.1f, %v; want 248.4", us, ok)
	}
}

func TestReadTargetsRejectsRoundsAtDifferentRates(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "2-agent"), map[string]string{
		runIdle + ".1.json": roundReport(1500, 1500, 3*time.Second, time.Millisecond, time.Millisecond),
		runIdle + ".2.json": sampleReport, // made at 1000 rps
	})
	if _, err := readTargets(root); err == nil || !strings.Contains(err.Error(), runIdle) {
		t.Fatalf("readTargets error = %v, want one naming %s", err, runIdle)
	}
}

func TestReadTargetsNamesABadCPUFile(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "1-agent"), map[string]string{fileCPU: "rps500=x\n"})
	if _, err := readTargets(root); err == nil || !strings.Contains(err.Error(), fileCPU) {
		t.Fatalf("readTargets error = %v, want one naming %s", err, fileCPU)
	}
}

func TestReadTargetsNamesTheBadFile(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, filepath.Join(root, "1-nginx"), map[string]string{fileMemory: "peak_hwm_kib=lots\n"})
	_, err := readTargets(root)
	if err == nil || !strings.Contains(err.Error(), fileMemory) || !strings.Contains(err.Error(), keyPeakHWM) {
		t.Fatalf("readTargets error = %v, want one naming %s and %s", err, fileMemory, keyPeakHWM)
	}
}

func TestReadTargetsRejectsEmptyResults(t *testing.T) {
	if _, err := readTargets(t.TempDir()); err == nil {
		t.Fatal("readTargets accepted a directory with no targets")
	}
}

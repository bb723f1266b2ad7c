package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	writeFiles(t, filepath.Join(root, "1-direct"), map[string]string{fileLabel: "direct\n", fileSaturated: sampleReport})
	writeFiles(t, filepath.Join(root, "2-agent"), map[string]string{fileSkip: "not built: bin/roundabout-agent\n"})
	writeFiles(t, filepath.Join(root, "3-haproxy"), map[string]string{
		fileSaturated: sampleReport,
		filePaced:     sampleReport,
		fileMemory:    "peak_hwm_kib=18432\nserving_rss_kib=15000\n",
		fileSplit:     "127.0.1.3:50051 40\n127.0.1.2:50051 41\n",
		fileIdle:      sampleReport,
		fileSeq:       sampleReport,
		fileCPU:       "clk_tck=100\nrps500=30\nc1=12\n",
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

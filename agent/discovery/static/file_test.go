package static

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

type fileHarness struct {
	t    *testing.T
	path string
	sets chan []discovery.Endpoint
	logs *observer.ObservedLogs
	done chan error
}

func startFile(t *testing.T, content string) *fileHarness {
	t.Helper()
	h := &fileHarness{
		t:    t,
		path: filepath.Join(t.TempDir(), "endpoints"),
		sets: make(chan []discovery.Endpoint, 100),
		done: make(chan error, 1),
	}
	h.write(content)
	core, logs := observer.New(zap.DebugLevel)
	h.logs = logs
	ctx, cancel := context.WithCancel(context.Background())
	src := NewFile(h.path, zap.New(core))
	go func() { h.done <- src.Watch(ctx, func(eps []discovery.Endpoint) { h.sets <- eps }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Watch after cancel = %v, want nil", err)
		}
	})
	return h
}

// write replaces the file atomically so no reader sees it half written.
func (h *fileHarness) write(content string) {
	h.t.Helper()
	tmp := h.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.path); err != nil {
		h.t.Fatal(err)
	}
}

func TestFileEmitsInitialAndChangedSets(t *testing.T) {
	h := startFile(t, "10.0.0.2:80\n10.0.0.1:80\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80", "10.0.0.2:80")

	h.write("10.0.0.1:80, 10.0.0.3:80 # scaled\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80", "10.0.0.3:80")
}

func TestFileUnchangedSetIsNotEmitted(t *testing.T) {
	h := startFile(t, "10.0.0.1:80\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80")

	// Same set, different text: no emission.
	h.write("# reordered\n10.0.0.1:80,10.0.0.1:80\n")
	h.waitForLog("endpoints file rewritten with the same endpoints")
	h.write("10.0.0.4:80\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.4:80")
}

func TestFileInvalidContentKeepsPreviousSet(t *testing.T) {
	h := startFile(t, "10.0.0.1:80\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80")

	h.write("10.0.0.1:80\n10.0.0.2\n")
	entries := h.waitForLog("invalid endpoints file; keeping the previous endpoints")
	h.write("10.0.0.5:80\n")
	// The invalid version emitted nothing: the next set is the valid one.
	checkSet(t, receiveSet(t, h.sets), "10.0.0.5:80")

	fields := entries[0].ContextMap()
	if fields["file"] != h.path || fields["line"] != int64(2) || fields["entry"] != "10.0.0.2" {
		t.Fatalf("invalid-file log fields = %v, want file %s, line 2, entry 10.0.0.2", fields, h.path)
	}
}

// waitForLog polls for a log message, as nothing else marks that the
// source has read an invalid file.
func (h *fileHarness) waitForLog(msg string) []observer.LoggedEntry {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if entries := h.logs.FilterMessage(msg).All(); len(entries) > 0 {
			return entries
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no log %q within %v", msg, waitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFileInvalidAtStartFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	if err := os.WriteFile(path, []byte("10.0.0.1:80\nnot-an-endpoint\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := NewFile(path, nil).Watch(context.Background(), func([]discovery.Endpoint) {
		t.Error("update called for an invalid file")
	})
	for _, want := range []string{path, "line 2", `"not-an-endpoint"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Watch error = %v, want one containing %q", err, want)
		}
	}
}

func TestFileMissingAtStartFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	err := NewFile(path, nil).Watch(context.Background(), func([]discovery.Endpoint) {})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Watch error = %v, want one naming %s", err, path)
	}
}

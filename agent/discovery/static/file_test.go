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
	"github.com/roundabout-dev/roundabout/agent/filewatch"
)

type fileHarness struct {
	t    *testing.T
	path string
	sets chan []discovery.Endpoint
	logs *observer.ObservedLogs
	done chan error
}

func startFile(t *testing.T, content string, opts ...filewatch.Option) *fileHarness {
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
	src := NewFile(h.path, zap.New(core), opts...)
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

// rewrite opens the file for writing in place, truncating it, as a writer
// that does not replace the file does.
func (h *fileHarness) rewrite() *os.File {
	h.t.Helper()
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { f.Close() })
	return f
}

func writeString(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

const emptyReadAgain = "watched file is empty; reading it again before delivering it"
const emptySet = "endpoints file lists no endpoints; requests fail with UNAVAILABLE until it does"

// TestFileTruncatedThenWrittenKeepsSet truncates the file and writes it in
// place only once the source has read it empty: the empty set is never
// emitted, the new one is.
func TestFileTruncatedThenWrittenKeepsSet(t *testing.T) {
	// The settle interval is how long the rewrite may take after the
	// empty read.
	h := startFile(t, "10.0.0.1:80\n", filewatch.WithSettle(time.Second))
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80")

	f := h.rewrite()
	h.waitForLog(emptyReadAgain)
	writeString(t, f, "10.0.0.2:80\n10.0.0.3:80\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.2:80", "10.0.0.3:80")
	if n := h.logs.FilterMessage(emptySet).Len(); n != 0 {
		t.Fatalf("%q logged %d times for a file rewritten in time", emptySet, n)
	}
}

// TestFileWrittenInStepsEmitsOnlyTheWhole truncates the file and writes it
// in two steps with a pause shorter than the settle interval: the first
// half alone, a valid but partial set, is never emitted.
func TestFileWrittenInStepsEmitsOnlyTheWhole(t *testing.T) {
	const settle = time.Second
	h := startFile(t, "10.0.0.1:80\n", filewatch.WithSettle(settle))
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80")

	f := h.rewrite()
	writeString(t, f, "10.0.0.2:80\n")
	time.Sleep(settle / 4) // the writer's pause
	writeString(t, f, "10.0.0.3:80\n")
	checkSet(t, receiveSet(t, h.sets), "10.0.0.2:80", "10.0.0.3:80")
}

// TestFileThatStaysEmptyEmptiesTheSet: an empty file, still empty when read
// again, empties the set with a warning.
func TestFileThatStaysEmptyEmptiesTheSet(t *testing.T) {
	h := startFile(t, "10.0.0.1:80\n", filewatch.WithSettle(10*time.Millisecond))
	checkSet(t, receiveSet(t, h.sets), "10.0.0.1:80")

	h.rewrite()
	checkSet(t, receiveSet(t, h.sets))
	if n := h.logs.FilterMessage(emptyReadAgain).Len(); n != 1 {
		t.Fatalf("%q logged %d times before the empty set, want 1", emptyReadAgain, n)
	}
	warned := h.logs.FilterMessage(emptySet).FilterLevelExact(zap.WarnLevel).All()
	if len(warned) != 1 || warned[0].ContextMap()["file"] != h.path {
		t.Fatalf("warnings %q for the empty file: %v, want one naming %s", emptySet, warned, h.path)
	}
}

// TestFileEmptyAtStartEmitsEmptySet: a file that is empty at start, and
// stays so, starts the source with no endpoints and a warning.
func TestFileEmptyAtStartEmitsEmptySet(t *testing.T) {
	h := startFile(t, "", filewatch.WithSettle(10*time.Millisecond))
	checkSet(t, receiveSet(t, h.sets))
	if n := h.logs.FilterMessage(emptySet).FilterLevelExact(zap.WarnLevel).Len(); n != 1 {
		t.Fatalf("%q logged %d times at warn level, want 1", emptySet, n)
	}
}

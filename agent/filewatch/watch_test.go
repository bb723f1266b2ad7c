package filewatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const waitTimeout = 5 * time.Second

// harness runs Watch in the background and collects its callbacks.
type harness struct {
	t       *testing.T
	changes chan string
	done    chan error
	cancel  context.CancelFunc
}

func startWatch(t *testing.T, path string, opts ...Option) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, changes: make(chan string, 100), done: make(chan error, 1), cancel: cancel}
	go func() {
		opts = append([]Option{WithSettle(10 * time.Millisecond)}, opts...)
		h.done <- Watch(ctx, path, func(b []byte) { h.changes <- string(b) }, opts...)
	}()
	t.Cleanup(h.stop)
	h.expect("initial contents")
	return h
}

// expect waits for the next callback and checks it carries want; an
// initial-contents marker accepts whatever the first callback carries.
func (h *harness) expect(want string) {
	h.t.Helper()
	select {
	case got := <-h.changes:
		if want != "initial contents" && got != want {
			h.t.Fatalf("callback with %q, want %q", got, want)
		}
	case err := <-h.done:
		h.t.Fatalf("Watch returned %v before the callback with %q", err, want)
	case <-time.After(waitTimeout):
		h.t.Fatalf("no callback with %q within %v", want, waitTimeout)
	}
}

func (h *harness) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Watch returned %v after cancel, want nil", err)
		}
	case <-time.After(waitTimeout):
		h.t.Errorf("Watch did not return within %v of cancel", waitTimeout)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes content to a temporary file and renames it over path,
// as editors and config tools do.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestInitialContents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, path, func(b []byte) { got <- string(b) }) }()
	select {
	case s := <-got:
		if s != "a:1" {
			t.Fatalf("initial callback = %q, want %q", s, "a:1")
		}
	case <-time.After(waitTimeout):
		t.Fatal("no initial callback")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch after cancel = %v, want nil", err)
	}
}

func TestMissingFileAtStartNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	err := Watch(context.Background(), path, func([]byte) { t.Error("callback for a missing file") })
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Watch(missing) = %v, want an error naming %s", err, path)
	}
}

func TestMissingDirectoryAtStartNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodir", "file")
	err := Watch(context.Background(), path, func([]byte) {})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Watch(missing dir) = %v, want an error naming %s", err, path)
	}
}

func TestPlainWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path)
	writeFile(t, path, "a:1,b:2")
	h.expect("a:1,b:2")
}

func TestRenameReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path)
	replaceFile(t, path, "b:2")
	h.expect("b:2")
	replaceFile(t, path, "c:3")
	h.expect("c:3")
}

func TestUnchangedContentsDoNotCallBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path)
	replaceFile(t, path, "a:1")
	replaceFile(t, path, "b:2")
	// Had the rewrite with equal bytes called back, "a:1" would come first.
	h.expect("b:2")
}

func TestEventsOnOtherFilesDoNotCallBack(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path)
	writeFile(t, filepath.Join(dir, "other"), "noise")
	writeFile(t, path, "b:2")
	h.expect("b:2")
}

func TestDisappearAndReappear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, "b:2")
	// No callback for the removal: the next one is the new contents.
	h.expect("b:2")
}

func TestSymlinkToOtherDirectory(t *testing.T) {
	realDir, linkDir := t.TempDir(), t.TempDir()
	target := filepath.Join(realDir, "endpoints")
	writeFile(t, target, "a:1")
	path := filepath.Join(linkDir, "endpoints")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	h := startWatch(t, path)
	writeFile(t, target, "b:2")
	h.expect("b:2")
}

func TestKubeletAtomicWriterSwap(t *testing.T) {
	dir := t.TempDir()
	old := kubeletWrite(t, dir, "..2026_11_26_10_00_00.000000001", `roundabout.dev/strategy="round-robin"`)
	path := filepath.Join(dir, "annotations")
	if err := os.Symlink(filepath.Join("..data", "annotations"), path); err != nil {
		t.Fatal(err)
	}
	h := startWatch(t, path)

	next := kubeletWrite(t, dir, "..2026_11_26_10_05_00.000000002", `roundabout.dev/strategy="peak-ewma"`)
	removeAll(t, filepath.Join(dir, old))
	h.expect(`roundabout.dev/strategy="peak-ewma"`)

	kubeletWrite(t, dir, "..2026_11_26_10_10_00.000000003", `roundabout.dev/strategy="ring-hash"`)
	removeAll(t, filepath.Join(dir, next))
	h.expect(`roundabout.dev/strategy="ring-hash"`)
}

// kubeletWrite publishes content as the kubelet's AtomicWriter does: write
// a new timestamped directory, point ..data_tmp at it, and rename ..data_tmp
// over ..data. It returns the timestamped directory's name.
func kubeletWrite(t *testing.T, dir, tsDir, content string) string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, tsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, tsDir, "annotations"), content)
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(tsDir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	return tsDir
}

func removeAll(t *testing.T, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

func TestBurstIsFoldedIntoOneCallback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path, WithSettle(time.Second))
	for i := 2; i <= 5; i++ {
		replaceFile(t, path, fmt.Sprintf("a:%d", i))
	}
	// Intermediate contents, had they been delivered, would come first.
	h.expect("a:5")
}

func TestDisappearanceIsLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "endpoints")
	writeFile(t, path, "a:1")
	core, logs := observer.New(zap.InfoLevel)
	h := startWatch(t, path, WithLogger(zap.New(core)))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, logs, "watched file disappeared; keeping its last contents")
	for i := range 3 {
		writeFile(t, filepath.Join(dir, "other"), fmt.Sprint(i))
	}
	replaceFile(t, path, "b:2")
	h.expect("b:2")
	if n := logs.FilterMessage("watched file disappeared; keeping its last contents").Len(); n != 1 {
		t.Fatalf("disappearance logged %d times, want 1", n)
	}
	if n := logs.FilterMessage("watched file readable again").Len(); n != 1 {
		t.Fatalf("recovery logged %d times, want 1", n)
	}
}

// waitForLog polls for a log line: the watcher emits no other event then.
func waitForLog(t *testing.T, logs *observer.ObservedLogs, msg string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for logs.FilterMessage(msg).Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no log %q within %v", msg, waitTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSettleWaitsForQuiet writes the file in steps closer together than
// the settle interval but spanning more than one: only the last version
// is delivered, since the read waits for the directory to go quiet.
func TestSettleWaitsForQuiet(t *testing.T) {
	const settle = time.Second
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	h := startWatch(t, path, WithSettle(settle))
	start := time.Now()
	for i := 2; i <= 5; i++ {
		writeFile(t, path, fmt.Sprintf("a:%d", i))
		time.Sleep(settle / 3) // a writer's pause, shorter than the settle interval
	}
	if time.Since(start) <= settle {
		t.Fatalf("the writes spanned %v, not more than the settle interval %v", time.Since(start), settle)
	}
	h.expect("a:5")
}

// TestEventsDoNotHoldReadsBackForever keeps the directory busy with writes
// to another file: the change of the watched one is still delivered.
func TestEventsDoNotHoldReadsBackForever(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "endpoints")
	writeFile(t, path, "a:1")
	// Writes come far more often than the settle interval allows for.
	h := startWatch(t, path, WithSettle(100*time.Millisecond))
	stop := make(chan struct{})
	noisy := make(chan struct{})
	go func() {
		defer close(noisy)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := os.WriteFile(filepath.Join(dir, "noise"), []byte(fmt.Sprint(i)), 0o644); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	defer func() { close(stop); <-noisy }()
	writeFile(t, path, "b:2")
	h.expect("b:2")
}

// truncate empties the file in place, as a writer does before rewriting it.
func truncate(t *testing.T, path string) {
	t.Helper()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

const emptyReadAgain = "watched file is empty; reading it again before delivering it"

// TestTruncatedThenRewrittenIsNotDeliveredEmpty truncates the file and
// writes it only after the watcher has read it empty: the empty version is
// never delivered, the rewritten one is.
func TestTruncatedThenRewrittenIsNotDeliveredEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	core, logs := observer.New(zap.DebugLevel)
	// The settle interval is the time the rewrite has after the empty read.
	h := startWatch(t, path, WithSettle(time.Second), WithLogger(zap.New(core)))
	truncate(t, path)
	waitForLog(t, logs, emptyReadAgain)
	writeFile(t, path, "b:2")
	h.expect("b:2")
}

// TestFileThatStaysEmptyIsDelivered: an empty file is read twice, a settle
// interval apart, and then delivered.
func TestFileThatStaysEmptyIsDelivered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "a:1")
	core, logs := observer.New(zap.DebugLevel)
	h := startWatch(t, path, WithLogger(zap.New(core)))
	truncate(t, path)
	h.expect("")
	if n := logs.FilterMessage(emptyReadAgain).Len(); n != 1 {
		t.Fatalf("%q logged %d times before the empty file was delivered, want 1", emptyReadAgain, n)
	}
	writeFile(t, path, "b:2")
	h.expect("b:2")
}

// TestEmptyAtStartIsReadAgain: a file empty at start is read again after
// the settle interval, and what it holds then is the first callback.
func TestEmptyAtStartIsReadAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "")
	core, logs := observer.New(zap.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, path, func(b []byte) { got <- string(b) },
			WithSettle(time.Second), WithLogger(zap.New(core)))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch after cancel = %v, want nil", err)
		}
	}()
	waitForLog(t, logs, emptyReadAgain)
	writeFile(t, path, "a:1")
	select {
	case s := <-got:
		if s != "a:1" {
			t.Fatalf("first callback = %q, want %q", s, "a:1")
		}
	case <-time.After(waitTimeout):
		t.Fatal("no first callback")
	}
}

// TestCancelWhileEmptyAtStart: cancelling while the empty file waits to be
// read again returns nil without a callback.
func TestCancelWhileEmptyAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints")
	writeFile(t, path, "")
	core, logs := observer.New(zap.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, path, func(b []byte) { t.Errorf("callback with %q after cancel", b) },
			WithSettle(time.Hour), WithLogger(zap.New(core)))
	}()
	waitForLog(t, logs, emptyReadAgain)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Watch after cancel = %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Watch did not return after cancel")
	}
}

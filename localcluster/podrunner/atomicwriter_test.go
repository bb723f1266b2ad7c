package podrunner

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

var tsDirName = regexp.MustCompile(`^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$`)

// layout lists dir's entries with what each symlink points to.
func layout(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		target, _ := os.Readlink(filepath.Join(dir, e.Name()))
		out[e.Name()] = target
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAtomicWriterLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	w := atomicWriter{dir: dir}
	changed, err := w.Write(map[string]fileProjection{"annotations": {Data: []byte(`a="1"`)}, "sub/token": {Data: []byte("t"), Mode: 0o600}})
	if err != nil || !changed {
		t.Fatalf("Write = %v, %v; want a change", changed, err)
	}
	got := layout(t, dir)
	ts := got[dataDir]
	if !tsDirName.MatchString(ts) {
		t.Fatalf("%s -> %q, want a timestamped directory", dataDir, ts)
	}
	want := map[string]string{ts: "", dataDir: ts, "annotations": "..data/annotations", "sub": "..data/sub"}
	if !maps.Equal(got, want) {
		t.Errorf("layout = %v, want %v", got, want)
	}
	if s := readFile(t, filepath.Join(dir, "annotations")); s != `a="1"` {
		t.Errorf("annotations = %q", s)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sub", "token")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sub/token mode = %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestAtomicWriterSwap(t *testing.T) {
	dir := t.TempDir()
	w := atomicWriter{dir: dir}
	if _, err := w.Write(map[string]fileProjection{"annotations": {Data: []byte(`a="1"`)}, "old": {Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	first := layout(t, dir)[dataDir]
	if changed, err := w.Write(map[string]fileProjection{"annotations": {Data: []byte(`a="1"`)}, "old": {Data: []byte("x")}}); err != nil || changed {
		t.Fatalf("rewriting the same payload = %v, %v; want no change", changed, err)
	}
	if now := layout(t, dir)[dataDir]; now != first {
		t.Errorf("same payload moved %s from %s to %s", dataDir, first, now)
	}
	if changed, err := w.Write(map[string]fileProjection{"annotations": {Data: []byte(`a="2"`)}}); err != nil || !changed {
		t.Fatalf("Write of a new payload = %v, %v; want a change", changed, err)
	}
	got := layout(t, dir)
	if got[dataDir] == first {
		t.Errorf("%s still points at %s", dataDir, first)
	}
	if _, ok := got[first]; ok {
		t.Errorf("old data dir %s was not removed", first)
	}
	if _, ok := got["old"]; ok {
		t.Error("the symlink of a file no longer in the payload was not removed")
	}
	if s := readFile(t, filepath.Join(dir, "annotations")); s != `a="2"` {
		t.Errorf("annotations through its symlink = %q, want the new content", s)
	}
	names := slices.Sorted(maps.Keys(got))
	if len(names) != 3 {
		t.Errorf("entries = %v, want the data dir, %s and annotations", names, dataDir)
	}
}

func TestAtomicWriterRefusesEscapingPaths(t *testing.T) {
	w := atomicWriter{dir: t.TempDir()}
	for _, p := range []string{"/etc/passwd", "../x", "a/../../x", "..data", "a//b", ""} {
		if _, err := w.Write(map[string]fileProjection{p: {Data: []byte("x")}}); err == nil {
			t.Errorf("Write(%q) succeeded", p)
		}
	}
}

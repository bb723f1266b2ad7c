package podrunner

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The kubelet's layout of a volume written as a whole: the files live in a
// timestamped directory, dataDir is a symlink to it, and each top-level name
// is a symlink into dataDir. Swapping dataDir with a rename changes every
// file at once, so a reader never sees half of an update.
const (
	dataDir        = "..data"
	dataDirTmp     = "..data_tmp"
	tsDirLayout    = "..2006_01_02_15_04_05."
	defaultFileMod = 0o644
)

// fileProjection is the content and mode of one file of a volume.
type fileProjection struct {
	Data []byte
	Mode os.FileMode
}

// atomicWriter writes whole payloads into dir with the kubelet's layout.
type atomicWriter struct {
	dir string
}

// Write makes dir hold exactly payload, keyed by relative path. It does
// nothing and reports false when dir already holds it.
func (w atomicWriter) Write(payload map[string]fileProjection) (bool, error) {
	if err := checkPayload(payload); err != nil {
		return false, err
	}
	old, _ := os.Readlink(filepath.Join(w.dir, dataDir))
	if old != "" && w.holds(old, payload) {
		return false, nil
	}
	ts, err := w.writeTimestamped(payload)
	if err != nil {
		return false, err
	}
	if err := w.swapData(ts); err != nil {
		return false, err
	}
	if err := w.linkTopLevel(payload); err != nil {
		return false, err
	}
	if old != "" && old != ts {
		if err := os.RemoveAll(filepath.Join(w.dir, old)); err != nil {
			return true, fmt.Errorf("remove old data dir: %w", err)
		}
	}
	return true, nil
}

// checkPayload refuses paths that would escape the volume or clash with the
// layout's own names.
func checkPayload(payload map[string]fileProjection) error {
	for p := range payload {
		clean := filepath.Clean(p)
		switch {
		case p == "" || filepath.IsAbs(p) || clean != p:
			return fmt.Errorf("file path %q: must be relative and clean", p)
		case strings.HasPrefix(p, ".."):
			return fmt.Errorf("file path %q: must not start with '..'", p)
		case strings.Contains(p, "/../"):
			return fmt.Errorf("file path %q: must not contain '..'", p)
		}
	}
	return nil
}

// holds reports whether the timestamped directory ts has payload exactly.
func (w atomicWriter) holds(ts string, payload map[string]fileProjection) bool {
	root := filepath.Join(w.dir, ts)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		want, ok := payload[rel]
		info, ierr := d.Info()
		if !ok || ierr != nil || info.Mode().Perm() != fileMode(want) {
			return errors.New("differs")
		}
		got, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Equal(got, want.Data) {
			return errors.New("differs")
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}

// writeTimestamped writes payload into a new timestamped directory and
// returns its name.
func (w atomicWriter) writeTimestamped(payload map[string]fileProjection) (string, error) {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return "", err
	}
	ts, err := os.MkdirTemp(w.dir, time.Now().UTC().Format(tsDirLayout))
	if err != nil {
		return "", err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return "", err
	}
	for p, f := range payload {
		path := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(path, f.Data, fileMode(f)); err != nil {
			return "", err
		}
		if err := os.Chmod(path, fileMode(f)); err != nil {
			return "", err
		}
	}
	return filepath.Base(ts), nil
}

func fileMode(f fileProjection) os.FileMode {
	if f.Mode == 0 {
		return defaultFileMod
	}
	return f.Mode.Perm()
}

// swapData points dataDir at ts with a rename, which is atomic.
func (w atomicWriter) swapData(ts string) error {
	tmp := filepath.Join(w.dir, dataDirTmp)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Symlink(ts, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(w.dir, dataDir))
}

// linkTopLevel makes one symlink into dataDir per top-level name of payload
// and removes the symlinks of names it no longer has.
func (w atomicWriter) linkTopLevel(payload map[string]fileProjection) error {
	want := map[string]bool{}
	for p := range payload {
		top, _, _ := strings.Cut(p, string(filepath.Separator))
		want[top] = true
	}
	for top := range want {
		link := filepath.Join(w.dir, top)
		target := filepath.Join(dataDir, top)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("link %s: %w", top, err)
		}
	}
	return w.removeStale(want)
}

func (w atomicWriter) removeStale(want map[string]bool) error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "..") || want[name] || e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if err := os.Remove(filepath.Join(w.dir, name)); err != nil {
			return err
		}
	}
	return nil
}

package filewatch

import (
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// followTarget watches the directory the path's symlinks resolve to when it
// lies outside the parent directory, and stops watching the previous one.
// Targets inside the parent directory, such as the kubelet's timestamped
// "..data" directories, need no watch of their own: every swap shows up as
// an event in the parent.
func (w *watcher) followTarget() {
	target := w.targetDir()
	if target == w.target {
		return
	}
	if w.target != "" {
		_ = w.fw.Remove(w.target) // it may already be gone with its directory
	}
	w.target = ""
	if target == "" {
		return
	}
	if err := w.fw.Add(target); err != nil {
		w.opts.log.Warn("cannot watch symlink target directory; edits there will not be seen",
			zap.String("path", w.path), zap.String("dir", target), zap.Error(err))
		return
	}
	w.target = target
}

// targetDir returns the resolved file's directory if it is outside the
// parent directory, or "" otherwise.
func (w *watcher) targetDir() string {
	resolved, err := filepath.EvalSymlinks(w.path)
	if err != nil {
		return ""
	}
	dir := filepath.Dir(resolved)
	parent, err := filepath.EvalSymlinks(w.dir)
	if err != nil {
		parent = w.dir
	}
	if dir == parent || strings.HasPrefix(dir, parent+string(filepath.Separator)) {
		return ""
	}
	return dir
}

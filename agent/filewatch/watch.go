// Package filewatch calls back with a file's contents whenever they change.
//
// It watches the file's parent directory rather than the file itself, so it
// follows the ways files get replaced in practice: editors writing a new
// file and renaming it over the old one, and the kubelet's downward-API and
// ConfigMap volumes, where the file is a symlink through "..data", itself a
// symlink atomically swapped to a new timestamped directory. On any event in
// the directory the path is resolved and read afresh, and the callback runs
// only when the bytes differ from the last ones delivered.
//
// Writers that rewrite a file in place (truncate, then write) expose it
// empty or half written for a moment. Watch therefore reads only once the
// directory has been quiet for a settle interval (see WithSettle), and an
// empty file is read again one interval later and delivered only if it is
// still empty.
//
// When the path is a symlink to a file in another directory, that
// directory is watched too, so edits to the target are also seen.
package filewatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Watch reads the file at path, calls onChange with its contents, and then
// calls onChange again each time the contents change, until ctx is done.
// Calls to onChange are made one at a time from the goroutine running
// Watch; onChange must not keep the slice's backing array for writing.
//
// Watch returns an error naming path if the file cannot be read at start
// or its directory cannot be watched, and nil once ctx is done, possibly
// before the first callback if the file was empty at start and ctx ended
// while it was being read again. If the file later disappears or cannot be
// read, its last contents stand and the failure is logged once; the next
// successful read resumes the callbacks. The goroutines Watch starts have
// ended by the time it returns, so nothing it does outlives it.
func Watch(ctx context.Context, path string, onChange func([]byte), opts ...Option) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", path, err)
	}
	defer fw.Close()
	dir := filepath.Clean(filepath.Dir(path))
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("watching directory %s of %s: %w", dir, path, err)
	}
	w := &watcher{path: path, dir: dir, opts: newOptions(opts), fw: fw, onChange: onChange}
	data, ok, err := w.readInitial(ctx)
	if err != nil {
		return fmt.Errorf("reading watched file: %w", err)
	}
	if !ok {
		return nil
	}
	w.last = data
	w.followTarget()
	onChange(data)
	return w.run(ctx)
}

// readInitial reads the file at start. An empty file is read again after
// the settle interval, since it may be in the middle of being rewritten;
// the second read stands, whatever it holds. ok is false when ctx ended
// before the second read.
func (w *watcher) readInitial(ctx context.Context) (data []byte, ok bool, err error) {
	data, err = os.ReadFile(w.path)
	if err != nil || len(data) > 0 || w.opts.settle == 0 {
		return data, err == nil, err
	}
	w.opts.log.Debug("watched file is empty; reading it again before delivering it",
		zap.String("path", w.path), zap.Duration("after", w.opts.settle))
	t := time.NewTimer(w.opts.settle)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, false, nil
	case <-t.C:
	}
	data, err = os.ReadFile(w.path)
	return data, err == nil, err
}

// watcher is the state of one Watch call; only its goroutine touches it.
type watcher struct {
	path     string
	dir      string // the parent directory, always watched
	target   string // the symlink target's directory, watched when it is elsewhere
	opts     options
	fw       *fsnotify.Watcher
	onChange func([]byte)
	last     []byte
	failing  bool // the last read failed and was logged
	dirGone  bool // the parent directory was removed and logged
	empty    bool // the last read found the file empty and did not deliver it
}

// run reads the file once the directory has had no event for the settle
// interval, or at the latest maxSettles intervals after the first event of
// a burst, and once more an interval after a read that found it empty.
func (w *watcher) run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		pending  <-chan time.Time // the timer's channel while a read is due
		deadline time.Time        // the latest start of the read that is due
	)
	schedule := func() {
		now := time.Now()
		if pending == nil {
			deadline = now.Add(maxSettles * w.opts.settle)
		}
		timer.Reset(min(w.opts.settle, deadline.Sub(now)))
		pending = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.fw.Events:
			if !ok {
				return fmt.Errorf("watching %s: event stream closed", w.path)
			}
			w.noteEvent(ev)
			schedule()
		case err, ok := <-w.fw.Errors:
			if !ok {
				return fmt.Errorf("watching %s: error stream closed", w.path)
			}
			w.opts.log.Warn("file watch error", zap.String("path", w.path), zap.Error(err))
		case <-pending:
			pending = nil
			if w.reload() {
				schedule()
			}
		}
	}
}

// noteEvent logs, once, the removal of the watched directory: no later
// change of the file can be seen after it.
func (w *watcher) noteEvent(ev fsnotify.Event) {
	if w.dirGone || !ev.Has(fsnotify.Remove) || filepath.Clean(ev.Name) != w.dir {
		return
	}
	w.dirGone = true
	w.opts.log.Error("watched directory removed; later changes will not be seen",
		zap.String("path", w.path), zap.String("dir", w.dir))
}

// reload reads the file and calls back if its contents changed. It reports
// whether the file must be read again: it was found empty for the first
// time, and is delivered only if it is still empty a settle interval later.
func (w *watcher) reload() (again bool) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.empty = false
		w.readFailed(err)
		return false
	}
	if w.failing {
		w.failing = false
		w.opts.log.Info("watched file readable again", zap.String("path", w.path))
	}
	w.followTarget()
	if len(data) == 0 && len(w.last) > 0 && !w.empty && w.opts.settle > 0 {
		w.empty = true
		w.opts.log.Debug("watched file is empty; reading it again before delivering it",
			zap.String("path", w.path), zap.Duration("after", w.opts.settle))
		return true
	}
	w.empty = false
	if bytes.Equal(data, w.last) {
		return false
	}
	w.last = data
	w.onChange(data)
	return false
}

func (w *watcher) readFailed(err error) {
	if w.failing {
		return
	}
	w.failing = true
	msg := "cannot read watched file; keeping its last contents"
	if errors.Is(err, os.ErrNotExist) {
		msg = "watched file disappeared; keeping its last contents"
	}
	w.opts.log.Warn(msg, zap.String("path", w.path), zap.Error(err))
}

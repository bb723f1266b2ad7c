package static

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/filewatch"
)

// file is a Source that follows an endpoints file.
type file struct {
	path string
	log  *zap.Logger
	opts []filewatch.Option
}

// NewFile returns a Source that reads endpoints from the file at path (see
// ParseList for the format) and emits the set again each time it changes.
// Watch fails if the file cannot be read or is invalid at start; later, an
// invalid file keeps the previous set and logs an error naming the file,
// line and entry. A nil log discards logs.
//
// The file is read as filewatch.Watch reads it: once writes to it have
// settled, so that a file rewritten in place is not taken half written,
// and an empty file only once it has stayed empty for the settle interval.
// An empty set is emitted with a warning, as it fails every request. opts
// tune the watch; the logger is always log.
func NewFile(path string, log *zap.Logger, opts ...filewatch.Option) discovery.Source {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("file", path))
	return &file{path: path, log: log, opts: append(slices.Clip(opts), filewatch.WithLogger(log))}
}

// Watch emits the file's endpoint set now and after every change to it.
func (f *file) Watch(ctx context.Context, update func([]discovery.Endpoint)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &fileWatch{file: f, update: update, stop: cancel}
	err := filewatch.Watch(ctx, f.path, w.onChange, f.opts...)
	if w.startErr != nil {
		return w.startErr
	}
	if err != nil {
		return fmt.Errorf("endpoints file: %w", err)
	}
	return nil
}

// fileWatch is the state of one Watch call; filewatch calls onChange from
// a single goroutine.
type fileWatch struct {
	*file
	update   func([]discovery.Endpoint)
	stop     context.CancelFunc
	started  bool
	last     []string
	startErr error
}

func (w *fileWatch) onChange(data []byte) {
	addrs, err := ParseList(data)
	switch {
	case err != nil && !w.started:
		w.startErr = fmt.Errorf("endpoints file %s: %w", w.path, err)
		w.stop()
	case err != nil:
		w.logInvalid(err)
	case !w.started || !slices.Equal(addrs, w.last):
		w.emit(addrs)
	default:
		w.log.Debug("endpoints file rewritten with the same endpoints", zap.Int("endpoints", len(addrs)))
	}
}

func (w *fileWatch) emit(addrs []string) {
	switch {
	case len(addrs) == 0:
		w.log.Warn("endpoints file lists no endpoints; requests fail with UNAVAILABLE until it does",
			zap.Int("endpoints", 0))
	case !w.started:
		w.log.Info("endpoints file loaded", zap.Int("endpoints", len(addrs)), zap.Strings("addrs", addrs))
	default:
		w.log.Info("endpoints file changed", zap.Int("endpoints", len(addrs)), zap.Strings("addrs", addrs))
	}
	w.started = true
	w.last = addrs
	w.update(toEndpoints(addrs))
}

func (w *fileWatch) logInvalid(err error) {
	fields := []zap.Field{zap.Error(err), zap.Int("endpoints", len(w.last))}
	var le *LineError
	if errors.As(err, &le) {
		fields = append(fields, zap.Int("line", le.Line), zap.String("entry", le.Entry))
	}
	w.log.Error("invalid endpoints file; keeping the previous endpoints", fields...)
}

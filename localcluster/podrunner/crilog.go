package podrunner

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// maxLogLine is the longest line written as one log entry; a longer line is
// split into partial ("P") entries, as container runtimes do.
const maxLogLine = 16 * 1024

// criLog appends a container's output to a file in the CRI log format that
// the kubelet serves: "<RFC3339Nano time> <stream> <F|P> <line>".
type criLog struct {
	mu  sync.Mutex
	w   io.WriteCloser
	err error // the first write error; later lines are dropped
}

// openCRILog opens path for appending, making its directory; an empty path
// discards the output.
func openCRILog(path string) (*criLog, error) {
	if path == "" {
		return &criLog{w: nopCloser{io.Discard}}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &criLog{w: f}, nil
}

// copy writes every line read from r as entries of stream until r ends.
func (l *criLog) copy(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, partial, err := br.ReadLine()
		if err != nil {
			return
		}
		tag := "F"
		if partial {
			tag = "P"
		}
		l.write(stream, tag, line)
	}
}

func (l *criLog) write(stream, tag string, line []byte) {
	entry := make([]byte, 0, len(line)+64)
	entry = time.Now().UTC().AppendFormat(entry, time.RFC3339Nano)
	entry = append(entry, ' ')
	entry = append(entry, stream...)
	entry = append(entry, ' ')
	entry = append(entry, tag...)
	entry = append(entry, ' ')
	entry = append(entry, line...)
	entry = append(entry, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		_, l.err = l.w.Write(entry)
	}
}

// Close closes the file and returns the first write error, if any.
func (l *criLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Close(); l.err == nil {
		l.err = err
	}
	return l.err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

package podrunner

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/util/cert"
)

// followPoll is how often a followed log file is checked for new lines.
const followPoll = 100 * time.Millisecond

// logFile is a container's log file and the end of the process writing it.
type logFile struct {
	path string
	done <-chan struct{} // closed once the writer exited and its output is flushed
}

// logError is a log request that cannot be served, with its HTTP status.
type logError struct {
	code int
	msg  string
}

func (e *logError) Error() string { return e.msg }

// logSource finds the log file of a container.
type logSource interface {
	containerLog(namespace, pod, container string, previous bool) (logFile, error)
}

// containerLog finds the log of a container of one of the node's pods.
func (r *runner) containerLog(namespace, pod, container string, previous bool) (logFile, error) {
	w := r.findWorker(namespace, pod)
	if w == nil {
		return logFile{}, &logError{http.StatusNotFound,
			fmt.Sprintf("pod %s/%s not found on node %s", namespace, pod, r.cfg.NodeName)}
	}
	return w.containerLog(container, previous)
}

// closed is a channel that is closed: the writer of a previous log is gone.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (w *podWorker) containerLog(name string, previous bool) (logFile, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := podKey(w.cur)
	c := w.ctrs[name]
	switch {
	case c == nil:
		return logFile{}, &logError{http.StatusNotFound, fmt.Sprintf("container %q not found in pod %s", name, key)}
	case previous && c.prevLogPath == "":
		return logFile{}, &logError{http.StatusNotFound,
			fmt.Sprintf("previous terminated container %q in pod %s not found", name, key)}
	case previous:
		return logFile{path: c.prevLogPath, done: closed}, nil
	case c.lastProc == nil:
		return logFile{}, &logError{http.StatusBadRequest,
			fmt.Sprintf("container %q in pod %s is waiting to start", name, key)}
	}
	return logFile{path: c.logPath, done: c.lastProc.Done()}, nil
}

// logQuery holds the query parameters of a log request.
type logQuery struct {
	follow, previous, timestamps bool
	tailLines                    int64 // < 0: all
	limitBytes                   int64 // 0: no limit
	since                        time.Time
}

// parseLogQuery reads the parameters kube-apiserver sends, naming the one
// that is malformed.
func parseLogQuery(q url.Values) (logQuery, error) {
	o := logQuery{tailLines: -1}
	var err error
	for name, dst := range map[string]*bool{"follow": &o.follow, "previous": &o.previous, "timestamps": &o.timestamps} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseBool(v); err != nil {
				return o, fmt.Errorf("query parameter %s=%q is not a boolean", name, v)
			}
		}
	}
	for name, dst := range map[string]*int64{"tailLines": &o.tailLines, "limitBytes": &o.limitBytes} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseInt(v, 10, 64); err != nil || *dst < 0 {
				return o, fmt.Errorf("query parameter %s=%q is not a non-negative integer", name, v)
			}
		}
	}
	return o, parseSince(q, &o)
}

func parseSince(q url.Values, o *logQuery) error {
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("query parameter sinceSeconds=%q is not a positive integer", v)
		}
		o.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("query parameter sinceTime=%q is not an RFC 3339 time", v)
		}
		o.since = t
	}
	return nil
}

// newLogHandler serves GET /containerLogs/{namespace}/{pod}/{container}.
func newLogHandler(src logSource, log *zap.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		serveContainerLog(w, r, src, log)
	})
	return mux
}

func serveContainerLog(w http.ResponseWriter, r *http.Request, src logSource, log *zap.Logger) {
	q, err := parseLogQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	lf, err := src.containerLog(r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container"), q.previous)
	var le *logError
	if errors.As(err, &le) {
		http.Error(w, le.msg, le.code)
		return
	}
	f, err := os.Open(lf.path)
	if err != nil {
		http.Error(w, fmt.Sprintf("reading log %s: %v", lf.path, err), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s := &logStream{in: bufio.NewReader(f), out: w, q: q, done: lf.done}
	if err := s.run(r.Context()); err != nil && !errors.Is(err, errLimit) && r.Context().Err() == nil {
		log.Debug("streaming a container log ended", zap.String("path", lf.path), zap.Error(err))
	}
}

// errLimit ends a stream that reached limitBytes.
var errLimit = errors.New("limitBytes reached")

// logStream copies a CRI log file to a client as plain lines.
type logStream struct {
	in      *bufio.Reader
	out     http.ResponseWriter
	q       logQuery
	done    <-chan struct{}
	pending []byte // a physical line read in part
	partial []byte // the content of P lines waiting for their F line
	written int64
	tail    [][]byte // the last tailLines entries, before the first drain ends
}

// run writes what the file holds and, when following, what is appended
// until the writer exited and the file is drained, or ctx ends.
func (s *logStream) run(ctx context.Context) error {
	tailing := s.q.tailLines >= 0
	if tailing {
		s.tail = [][]byte{}
	}
	if err := s.drain(); err != nil {
		return err
	}
	if tailing {
		if err := s.flushTail(); err != nil {
			return err
		}
	}
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for exited := false; s.q.follow && !exited; {
		flush(s.out)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			exited = true
		case <-tick.C:
		}
		if err := s.drain(); err != nil {
			return err
		}
	}
	return nil
}

// drain handles every complete line the file holds now.
func (s *logStream) drain() error {
	for {
		line, err := s.in.ReadBytes('\n')
		s.pending = append(s.pending, line...)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		entry, ok := s.entry(bytes.TrimSuffix(s.pending, []byte("\n")))
		s.pending = s.pending[:0]
		if ok {
			if err := s.emit(entry); err != nil {
				return err
			}
		}
	}
}

// entry parses one CRI line "<RFC3339Nano> <stream> <P|F> <content>" and
// returns the output line it completes, if any.
func (s *logStream) entry(line []byte) ([]byte, bool) {
	ts, rest, ok1 := bytes.Cut(line, []byte(" "))
	_, rest, ok2 := bytes.Cut(rest, []byte(" "))
	tag, content, ok3 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || !ok3 {
		if len(line) == 0 {
			return nil, false
		}
		return append(bytes.Clone(line), '\n'), true // not CRI: pass it on
	}
	s.partial = append(s.partial, content...)
	if string(tag) == "P" {
		return nil, false
	}
	text := s.partial
	s.partial = nil
	if !s.q.since.IsZero() {
		if t, err := time.Parse(time.RFC3339Nano, string(ts)); err == nil && t.Before(s.q.since) {
			return nil, false
		}
	}
	out := make([]byte, 0, len(ts)+len(text)+2)
	if s.q.timestamps {
		out = append(append(out, ts...), ' ')
	}
	return append(append(out, text...), '\n'), true
}

// emit writes an output line, or keeps it while collecting the tail.
func (s *logStream) emit(line []byte) error {
	if s.tail != nil {
		s.tail = append(s.tail, line)
		if int64(len(s.tail)) > s.q.tailLines {
			s.tail = s.tail[1:]
		}
		return nil
	}
	if s.q.limitBytes > 0 && s.written+int64(len(line)) > s.q.limitBytes {
		line = line[:s.q.limitBytes-s.written]
	}
	n, err := s.out.Write(line)
	s.written += int64(n)
	if err == nil && s.q.limitBytes > 0 && s.written >= s.q.limitBytes {
		return errLimit
	}
	return err
}

// flushTail writes the collected tail and stops collecting.
func (s *logStream) flushTail() error {
	tail := s.tail
	s.tail = nil
	for _, line := range tail {
		if err := s.emit(line); err != nil {
			return err
		}
	}
	return nil
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// serveLogs serves h over HTTPS on addr, with a self-signed certificate
// for the node, and returns the function that stops it.
func serveLogs(addr, node, nodeIP string, h http.Handler, log *zap.Logger) (func(), error) {
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKey(node, []net.IP{net.ParseIP(nodeIP)}, []string{node})
	if err != nil {
		return nil, fmt.Errorf("podrunner: log endpoint certificate: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("podrunner: log endpoint certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("podrunner: Config.LogAddr: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: apiTimeout, ErrorLog: zap.NewStdLog(log),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("container log endpoint failed", zap.Error(err))
		}
	}()
	log.Info("container log endpoint serving", zap.String("addr", ln.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}, nil
}

package podrunner

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// fakeLogs serves one container, ns/p/c, from a file.
type fakeLogs struct {
	path string
	done chan struct{}
}

func (f *fakeLogs) containerLog(ns, pod, container string, previous bool) (logFile, error) {
	if ns != "ns" || pod != "p" || container != "c" {
		return logFile{}, &logError{http.StatusNotFound, "container " + container + " not found in pod " + ns + "/" + pod}
	}
	return logFile{path: f.path, done: f.done}, nil
}

const criLines = "2026-05-01T12:00:00.000000001Z stdout F one\n" +
	"2026-05-01T12:00:01.000000001Z stderr P tw\n" +
	"2026-05-01T12:00:01.000000002Z stderr F o\n" +
	"2026-05-01T12:00:02.000000001Z stdout F three\n"

func logServer(t *testing.T, content string) (*httptest.Server, *fakeLogs) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &fakeLogs{path: path, done: make(chan struct{})}
	srv := httptest.NewTLSServer(newLogHandler(src, zaptest.NewLogger(t)))
	t.Cleanup(srv.Close)
	return srv, src
}

func getLog(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestContainerLogs(t *testing.T) {
	srv, src := logServer(t, criLines)
	close(src.done)
	cases := map[string]string{
		"":                                "one\ntwo\nthree\n",
		"?tailLines=2":                    "two\nthree\n",
		"?tailLines=0":                    "",
		"?limitBytes=6":                   "one\ntw",
		"?timestamps=true&tailLines=1":    "2026-05-01T12:00:02.000000001Z three\n",
		"?sinceTime=2026-05-01T12:00:01Z": "two\nthree\n",
		"?follow=true":                    "one\ntwo\nthree\n",
	}
	for query, want := range cases {
		code, body := getLog(t, srv, "/containerLogs/ns/p/c"+query)
		if code != http.StatusOK || body != want {
			t.Errorf("GET %s = %d %q, want 200 %q", query, code, body, want)
		}
	}
}

func TestContainerLogsUnknownContainer(t *testing.T) {
	srv, _ := logServer(t, criLines)
	code, body := getLog(t, srv, "/containerLogs/ns/p/nope")
	if code != http.StatusNotFound || !strings.Contains(body, `container nope not found in pod ns/p`) {
		t.Fatalf("GET unknown container = %d %q, want 404 naming it", code, body)
	}
	code, body = getLog(t, srv, "/containerLogs/ns/p/c?tailLines=-1")
	if code != http.StatusBadRequest || !strings.Contains(body, "tailLines") {
		t.Fatalf("GET bad tailLines = %d %q, want 400 naming tailLines", code, body)
	}
}

// TestContainerLogsFollow streams lines appended after the request and
// ends once the writer has exited and the file is drained.
func TestContainerLogsFollow(t *testing.T) {
	srv, src := logServer(t, criLines)
	resp, err := srv.Client().Get(srv.URL + "/containerLogs/ns/p/c?follow=true&tailLines=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	readUntil(t, resp.Body, "three\n")
	f, err := os.OpenFile(src.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("2026-05-01T12:00:03.000000001Z stdout F four\n2026-05-01T12:00:04.000000001Z stdout P fi")
	readUntil(t, resp.Body, "four\n")
	f.WriteString("ve\n2026-05-01T12:00:04.000000002Z stdout F !\n")
	f.Close()
	close(src.done)
	ended := make(chan string)
	go func() { rest, _ := io.ReadAll(resp.Body); ended <- string(rest) }()
	select {
	case rest := <-ended:
		if rest != "five!\n" {
			t.Fatalf("after the writer exited the stream sent %q, want %q", rest, "five!\n")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the followed stream did not end within 5s of the writer's exit")
	}
}

// readUntil reads r until the text read so far ends with want.
func readUntil(t *testing.T, r io.Reader, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		var sb strings.Builder
		buf := make([]byte, 1)
		for !strings.HasSuffix(sb.String(), want) {
			if _, err := r.Read(buf); err != nil {
				break
			}
			sb.Write(buf)
		}
		got <- sb.String()
	}()
	select {
	case s := <-got:
		if !strings.HasSuffix(s, want) {
			t.Fatalf("stream gave %q, want it to end with %q", s, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q within 5s", want)
	}
}

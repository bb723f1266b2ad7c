// Package procs builds the project's binaries once per test package and runs
// them as real processes, the way a user does, with their output kept for
// assertions and shown when a test fails.
package procs

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binaries maps each binary's name to its package, relative to the module root.
var Binaries = map[string]string{
	"roundabout-agent":   "./agent",
	"roundabout-webhook": "./webhook",
	"greet-server":       "./greet/cmd/greet-server",
	"greet-gateway":      "./greet/cmd/greet-gateway",
}

// Dir holds the binaries built by Build.
var Dir string

// Run is the body of a TestMain that needs the named binaries (all of them
// when none is named): it builds them, runs the tests and removes them, and
// returns the exit code, 1 when a build failed.
func Run(m *testing.M, names ...string) int {
	if err := Build(names...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(Dir)
	return m.Run()
}

// Build builds the named Binaries, or all of them when none is named, into
// a temporary directory and sets Dir. It is meant for TestMain; the caller
// removes Dir when done.
func Build(names ...string) error {
	if len(names) == 0 {
		for bin := range Binaries {
			names = append(names, bin)
		}
	}
	dir, err := os.MkdirTemp("", "roundabout-bin-")
	if err != nil {
		return err
	}
	Dir = dir
	_, here, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(here), "..", "..")
	for _, bin := range names {
		pkg, ok := Binaries[bin]
		if !ok {
			return fmt.Errorf("no binary named %q", bin)
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, bin), pkg)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", bin, err)
		}
	}
	return nil
}

// Output collects a process's output.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Output) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Output) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Proc is a running binary.
type Proc struct {
	Cmd    *exec.Cmd
	Out    *Output
	Exited chan struct{}
	Err    error // the exit error, once Exited is closed
}

// Start runs the binary name from Dir with env added to the test's
// environment. It is stopped with SIGTERM when the test ends.
func Start(t *testing.T, name string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(filepath.Join(Dir, name), args...), Out: &Output{}, Exited: make(chan struct{})}
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.Err = p.Cmd.Wait(); close(p.Exited) }()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Out.String())
		}
	})
	return p
}

// Stop sends SIGTERM, waits for the exit and returns the exit error.
func (p *Proc) Stop(t *testing.T) error {
	select {
	case <-p.Exited:
		return p.Err
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.Exited:
		return p.Err
	case <-time.After(15 * time.Second):
		p.Cmd.Process.Kill()
		<-p.Exited
		t.Errorf("%s did not exit within 15s of SIGTERM", p.Cmd.Path)
		return p.Err
	}
}

// FreePort finds a port that is free on host now.
func FreePort(t *testing.T, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitHTTP waits until url answers 200.
func WaitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200", url)
}

// WaitTCP waits until something accepts connections on addr.
func WaitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

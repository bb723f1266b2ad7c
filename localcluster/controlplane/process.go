package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Bounds of a component's start and stop.
const (
	readyTimeout = 2 * time.Minute
	checkTimeout = 5 * time.Second
	pollInterval = 100 * time.Millisecond
	stopGrace    = 10 * time.Second
	tailLines    = 20
)

// process is one control plane component running as a child process, its
// output written to <logDir>/<name>.log.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // what Wait returned, valid once done is closed
	told    bool          // waitReady has reported the exit already
}

// startProcess starts binary with args. The kernel sends the process
// SIGKILL when the OS thread that started it ends, which for a Go program
// is when the program ends, so a crashed caller leaves nothing behind.
func startProcess(name, binary string, args []string, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", name, err)
	}
	defer out.Close() // the child holds its own descriptor
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", name, binary, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// waitReady polls check until it succeeds, the process exits, ctx ends or
// readyTimeout passes; the error names the component and quotes its log.
func (p *process) waitReady(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := checkOnce(ctx, check)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			p.told = true
			return p.failure(fmt.Errorf("exited before it was ready: %v", p.err))
		case <-ctx.Done():
			return p.failure(fmt.Errorf("not ready: %w (last check: %v)", ctx.Err(), err))
		case <-tick.C:
		}
	}
}

// checkOnce runs check with a deadline of its own.
func checkOnce(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return check(ctx)
}

// stop sends SIGTERM and waits up to stopGrace, then kills the process.
// A process that had exited is an error, unless waitReady reported it.
func (p *process) stop() error {
	select {
	case <-p.done:
		if p.told {
			return nil
		}
		return p.failure(fmt.Errorf("had exited before it was stopped: %v", p.err))
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGTERM: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s (pid %d): still running %s after SIGTERM, killed", p.name, p.pid(), stopGrace)
}

// failure wraps err with the component's name and the end of its log.
func (p *process) failure(err error) error {
	return fmt.Errorf("%s (pid %d): %w\nlast lines of %s:\n%s", p.name, p.pid(), err, p.logPath, tail(p.logPath, tailLines))
}

// tail returns the last n lines of the file at path, or why it cannot.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freeAddr returns 127.0.0.1:<port> with a port nothing listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)), nil
}

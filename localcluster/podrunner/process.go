package podrunner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// Container is one program to run in a sandbox.
type Container struct {
	Name    string
	Binary  string
	Args    []string // already $(VAR)-expanded
	Env     []string // KEY=VALUE, the whole environment
	LogPath string   // stdout+stderr appended here in CRI format: "<RFC3339Nano> stdout|stderr F <line>"
}

// drainTimeout bounds how long output is read after the process exited,
// when something it started keeps its stdout or stderr open.
const drainTimeout = 2 * time.Second

// Process is a container's program running in a sandbox.
type Process struct {
	cmd      *exec.Cmd
	done     chan struct{}
	exitCode int
}

// Start runs c in the sandbox's network, mount and UTS namespaces, in /,
// with exactly c.Env as its environment, its output appended to c.LogPath.
func (s *Sandbox) Start(c Container) (*Process, error) {
	if c.Binary == "" {
		return nil, fmt.Errorf("container %q: no binary", c.Name)
	}
	logw, err := openCRILog(c.LogPath)
	if err != nil {
		return nil, fmt.Errorf("container %q: log file: %w", c.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroyed {
		return nil, errors.Join(fmt.Errorf("container %q: sandbox %s is destroyed", c.Name, s.cfg.IP), logw.Close())
	}
	p, err := startProcess(s.command(c), logw)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("container %q: %w", c.Name, err), logw.Close())
	}
	s.procs[p] = struct{}{}
	go s.forget(p)
	s.log.Info("container started", zap.String("container", c.Name), zap.Int("pid", p.Pid()))
	return p, nil
}

func (s *Sandbox) command(c Container) *exec.Cmd {
	args := append([]string{"-t", s.pidArg(), "-n", "-m", "-u", "--", c.Binary}, c.Args...)
	cmd := exec.Command("nsenter", args...)
	cmd.Env = append([]string{}, c.Env...) // never nil: nil would inherit the runner's
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// forget drops p from the sandbox's processes when it exited.
func (s *Sandbox) forget(p *Process) {
	<-p.done
	s.mu.Lock()
	delete(s.procs, p)
	s.mu.Unlock()
	s.log.Info("container exited", zap.Int("pid", p.Pid()), zap.Int("exitCode", p.exitCode))
}

// startProcess starts cmd with its output copied to logw, which it closes
// when the process exited and its output was read.
func startProcess(cmd *exec.Cmd, logw *criLog) (*Process, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(err, outR.Close(), outW.Close())
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return nil, errors.Join(err, outR.Close(), errR.Close())
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	var drained sync.WaitGroup
	drained.Go(func() { logw.copy("stdout", outR) })
	drained.Go(func() { logw.copy("stderr", errR) })
	go p.wait(&drained, logw, outR, errR)
	return p, nil
}

// wait reaps the process, lets its output be read, and closes done.
func (p *Process) wait(drained *sync.WaitGroup, logw *criLog, pipes ...*os.File) {
	_ = p.cmd.Wait()
	p.exitCode = exitCode(p.cmd.ProcessState)
	flushed := make(chan struct{})
	go func() { drained.Wait(); close(flushed) }()
	select {
	case <-flushed:
	case <-time.After(drainTimeout):
	}
	for _, f := range pipes {
		_ = f.Close()
	}
	<-flushed
	_ = logw.Close()
	close(p.done)
}

// exitCode is the code a container status reports: the exit status, or 128
// plus the signal that killed the process.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Pid is the process id of the container's program (nsenter execs it).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the program; it fails with os.ErrProcessDone once the
// program exited.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed when the program exited and its output is in the log.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the program's exit code, 128+n when signal n killed it. It is
// valid once Done is closed; before, it is -1.
func (p *Process) ExitCode() int {
	select {
	case <-p.done:
		return p.exitCode
	default:
		return -1
	}
}

// kill sends SIGKILL and waits, bounded, for the program to be reaped.
func (p *Process) kill() error {
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %d: %w", p.Pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("process %d not reaped %s after SIGKILL", p.Pid(), stopTimeout)
	}
}

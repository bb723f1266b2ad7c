package podrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
)

var (
	sigterm os.Signal = syscall.SIGTERM
	sigkill os.Signal = syscall.SIGKILL
)

// errStopping is returned when a container is asked to start while it is
// being stopped.
var errStopping = errors.New("the container is stopping")

// ctrKind tells the three kinds of containers apart.
type ctrKind int

const (
	initKind    ctrKind = iota // a regular init container: runs to completion
	sidecarKind                // an init container with restartPolicy Always
	mainKind                   // a container of spec.containers
)

// termination is how one run of a container ended.
type termination struct {
	exitCode   int32
	reason     string
	startedAt  time.Time
	finishedAt time.Time
	id         string
}

// ctrState is what a container's status is built from.
type ctrState struct {
	restarts  int32
	running   bool
	startedAt time.Time
	started   bool // the startup probe passed, or there is none
	ready     bool
	waiting   string // reason, while waiting to (re)start
	message   string
	term      *termination // how the current run ended, when it did
	last      *termination // how the run before ended
	finished  bool         // it will not run again
	binary    string
}

// ctr is one container of a pod and its supervisor's state; the fields
// after the channels are guarded by the pod worker's mutex.
type ctr struct {
	spec        corev1.Container
	kind        ctrKind
	stop        chan struct{} // closed to stop the supervisor
	done        chan struct{} // closed when the supervisor returned
	startedCh   chan struct{} // closed when it first counts as started
	startedOnce sync.Once

	launched      bool
	stopRequested bool
	succeeded     bool     // a regular init container that exited 0
	proc          *Process // the running process
	lastProc      *Process // the process of the current log file
	logPath       string
	prevLogPath   string
	st            ctrState
}

func newCtr(c *corev1.Container, kind ctrKind) *ctr {
	return &ctr{spec: *c, kind: kind, stop: make(chan struct{}), done: make(chan struct{}),
		startedCh: make(chan struct{})}
}

// preStopSleep is the container's preStop sleep hook, if any.
func (c *ctr) preStopSleep() time.Duration {
	if l := c.spec.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
		return time.Duration(l.PreStop.Sleep.Seconds) * time.Second
	}
	return 0
}

// markStarted lets whoever waits for c to start go on.
func (c *ctr) markStarted() { c.startedOnce.Do(func() { close(c.startedCh) }) }

// supervise runs c and restarts it, with back-off, as its kind and the
// pod's restart policy say, until it finishes or is stopped.
func (w *podWorker) supervise(c *ctr) {
	defer close(c.done)
	backoff := backoffFirst
	for {
		began := time.Now()
		code, ran := w.runOnce(c)
		if !w.restartAfter(c, code, ran) {
			return
		}
		if time.Since(began) >= backoffReset {
			backoff = backoffFirst
		}
		if !w.backOff(c, backoff) {
			return
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// runOnce starts c and waits for its process to end; ran is false when it
// could not start.
func (w *podWorker) runOnce(c *ctr) (code int, ran bool) {
	proc, err := w.startProcess(c)
	if errors.Is(err, errStopping) {
		return -1, false
	}
	if err != nil {
		w.log.Warn("starting container failed", zap.String("container", c.spec.Name), zap.Error(err))
		w.r.events.Eventf(w.pod(), corev1.EventTypeWarning, reasonFailed, "Error: %v", err)
		w.setWaiting(c, "CreateContainerError", err.Error())
		return -1, false
	}
	return w.waitExit(c, proc), true
}

// startProcess starts the container's next run in the sandbox.
func (w *podWorker) startProcess(c *ctr) (*Process, error) {
	pod := w.pod()
	w.mu.Lock()
	n, extra, sb := c.st.restarts, w.extraEnv, w.sandbox
	w.mu.Unlock()
	env, err := ContainerEnv(pod, &c.spec, extra)
	if err != nil {
		return nil, err
	}
	binary, err := w.r.cfg.Images.Resolve(c.spec.Image)
	if err != nil {
		return nil, err
	}
	dir := w.logDir(c.spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	spec := Container{Name: c.spec.Name, Binary: binary, Args: ExpandArgs(c.spec.Args, env), Env: env,
		LogPath: filepath.Join(dir, fmt.Sprintf("%d.log", n))}
	proc, err := w.startLocked(c, sb, spec)
	if err != nil {
		return nil, err
	}
	w.started(c, n)
	return proc, nil
}

// startLocked starts the process unless c is being stopped, so that a stop
// either comes first or finds the process to signal.
func (w *podWorker) startLocked(c *ctr, sb *Sandbox, spec Container) (*Process, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.stopRequested {
		return nil, errStopping
	}
	proc, err := sb.Start(spec)
	if err != nil {
		return nil, err
	}
	c.proc, c.lastProc = proc, proc
	if c.logPath != spec.LogPath {
		c.prevLogPath, c.logPath = c.logPath, spec.LogPath
	}
	started := c.spec.StartupProbe == nil
	c.st = ctrState{restarts: c.st.restarts, running: true, startedAt: time.Now(), started: started,
		ready: started && c.spec.ReadinessProbe == nil, last: c.st.last, binary: spec.Binary}
	return proc, nil
}

// started reports a new run of c.
// Sandbox.Start logged the process.
func (w *podWorker) started(c *ctr, restarts int32) {
	pod := w.pod()
	if restarts == 0 {
		w.r.events.Eventf(pod, corev1.EventTypeNormal, reasonPulled,
			"Container image %q already present on machine", c.spec.Image)
	}
	w.r.events.Eventf(pod, corev1.EventTypeNormal, reasonCreated, "Created container: %s", c.spec.Name)
	w.r.events.Eventf(pod, corev1.EventTypeNormal, reasonStarted, "Started container %s", c.spec.Name)
	if c.spec.StartupProbe == nil {
		c.markStarted()
	}
	w.markDirty()
}

// waitExit probes c while its process runs, kills it when a liveness or
// startup probe fails, and records how it ended.
func (w *podWorker) waitExit(c *ctr, proc *Process) int {
	ctx, cancel := context.WithCancel(context.Background())
	kill := make(chan string, 1)
	go w.probe(ctx, c, kill)
	select {
	case <-proc.Done():
	case why := <-kill:
		w.log.Info("container unhealthy, restarting", zap.String("container", c.spec.Name), zap.String("why", why))
		w.r.events.Eventf(w.pod(), corev1.EventTypeNormal, reasonKilling,
			"Container %s %s, will be restarted", c.spec.Name, why)
		killProcess(proc, c.preStopSleep(), specGrace(w.pod()))
	}
	cancel()
	code := proc.ExitCode()
	w.recordExit(c, code)
	return code
}

// specGrace is the pod's terminationGracePeriodSeconds.
func specGrace(pod *corev1.Pod) time.Duration {
	if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		return max(time.Duration(*s)*time.Second, minGrace)
	}
	return corev1.DefaultTerminationGracePeriodSeconds * time.Second
}

// recordExit records the end of c's current run.
func (w *podWorker) recordExit(c *ctr, code int) {
	pod := w.pod()
	w.mu.Lock()
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	c.proc = nil
	c.st.running, c.st.started, c.st.ready = false, false, false
	c.st.term = &termination{exitCode: int32(code), reason: reason, startedAt: c.st.startedAt,
		finishedAt: time.Now(), id: containerID(pod, c.spec.Name, c.st.restarts)}
	w.mu.Unlock()
	w.log.Info("container exited", zap.String("container", c.spec.Name), zap.Int("exit_code", code))
	w.markDirty()
}

// containerID names one run of a container.
func containerID(pod *corev1.Pod, name string, restarts int32) string {
	return fmt.Sprintf("roundabout://%s_%s_%s_%d", pod.Namespace, pod.Name, name, restarts)
}

// restartAfter decides whether c runs again after a run that ended with
// code (or did not start), and records when it will not.
func (w *podWorker) restartAfter(c *ctr, code int, ran bool) bool {
	pod := w.pod()
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.stopRequested {
		return false
	}
	restart := shouldRestart(c.kind, pod.Spec.RestartPolicy, code, ran)
	if !restart {
		c.succeeded = ran && code == 0
		c.st.finished = true
	}
	return restart
}

// shouldRestart is the kubelet's restart rule.
func shouldRestart(kind ctrKind, policy corev1.RestartPolicy, code int, ran bool) bool {
	failed := !ran || code != 0
	switch {
	case kind == sidecarKind:
		return true
	case kind == initKind:
		return failed && policy != corev1.RestartPolicyNever
	case policy == corev1.RestartPolicyNever:
		return false
	case policy == corev1.RestartPolicyOnFailure:
		return failed
	default:
		return true
	}
}

// backOff waits d before c's next run, reported as CrashLoopBackOff, and
// reports false when c is stopped meanwhile.
func (w *podWorker) backOff(c *ctr, d time.Duration) bool {
	pod := w.pod()
	msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
		d, c.spec.Name, pod.Name, pod.Namespace, pod.UID)
	w.setWaiting(c, "CrashLoopBackOff", msg)
	w.r.events.Eventf(pod, corev1.EventTypeWarning, reasonBackOff,
		"Back-off restarting failed container %s in pod %s", c.spec.Name, podKey(pod))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.stop:
		return false
	case <-t.C:
	}
	w.mu.Lock()
	c.st.restarts++
	n := c.st.restarts
	w.mu.Unlock()
	w.log.Info("container restarting", zap.String("container", c.spec.Name), zap.Int32("restarts", n))
	return true
}

// setWaiting reports c as waiting for reason; the run that ended, if any,
// becomes its last state.
func (w *podWorker) setWaiting(c *ctr, reason, msg string) {
	w.mu.Lock()
	if c.st.term != nil {
		c.st.last, c.st.term = c.st.term, nil
	}
	c.st.running, c.st.waiting, c.st.message = false, reason, msg
	w.mu.Unlock()
	w.markDirty()
}

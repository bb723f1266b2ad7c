package podrunner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// statusRetry is how long a failed status write waits before the next try.
const statusRetry = time.Second

// podSnapshot is a consistent copy of what a pod's status is built from.
type podSnapshot struct {
	hostIP string
	images Images
	state  podState
	ctrs   map[string]ctrState
}

// snapshot copies the worker's state.
func (w *podWorker) snapshot() podSnapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := podSnapshot{hostIP: w.r.cfg.NodeIP, images: w.r.cfg.Images, state: w.state, ctrs: make(map[string]ctrState, len(w.ctrs))}
	for name, c := range w.ctrs {
		s.ctrs[name] = c.st
	}
	return s
}

// startStatusLoop writes the status each time it is marked dirty. The
// function it returns stops the loop, writing the status a last time when
// final is true.
func (w *podWorker) startStatusLoop() func(final bool) {
	quit, done := make(chan bool), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-w.dirty:
				if err := w.syncStatus(); err != nil {
					w.log.Warn("writing pod status failed", zap.Error(err))
					time.AfterFunc(statusRetry, w.markDirty)
				}
			case final := <-quit:
				if final {
					if err := w.syncStatus(); err != nil {
						w.log.Warn("writing the last pod status failed", zap.Error(err))
					}
				}
				return
			}
		}
	}()
	return func(final bool) { quit <- final; <-done }
}

// syncStatus writes the pod's status when it differs from the API's.
func (w *podWorker) syncStatus() error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	snap := w.snapshot()
	pod := w.pod()
	pods := w.r.cfg.Client.CoreV1().Pods(pod.Namespace)
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if fresh.UID != pod.UID {
				return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
			}
			pod = fresh
		}
		first = false
		status := buildStatus(pod, snap, time.Now())
		if apiequality.Semantic.DeepEqual(status, pod.Status) {
			return nil
		}
		next := pod.DeepCopy()
		next.Status = status
		updated, err := pods.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			w.logPhase(pod, updated)
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// logPhase logs the changes of phase and readiness.
func (w *podWorker) logPhase(before, after *corev1.Pod) {
	if before.Status.Phase != after.Status.Phase {
		w.log.Info("pod phase changed", zap.String("phase", string(after.Status.Phase)))
	}
	wasReady, isReady := podReady(&before.Status), podReady(&after.Status)
	if wasReady != isReady {
		w.log.Info("pod readiness changed", zap.Bool("ready", isReady))
	}
}

func podReady(s *corev1.PodStatus) bool {
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// buildStatus is the status of pod given snap, keeping what others own
// (such as qosClass) and the transition times of unchanged conditions.
func buildStatus(pod *corev1.Pod, snap podSnapshot, now time.Time) corev1.PodStatus {
	s := *pod.Status.DeepCopy()
	s.HostIP, s.HostIPs = snap.hostIP, []corev1.HostIP{{IP: snap.hostIP}}
	s.PodIP, s.PodIPs = "", nil
	if snap.state.ip != "" && snap.state.sandboxReady {
		s.PodIP, s.PodIPs = snap.state.ip, []corev1.PodIP{{IP: snap.state.ip}}
	}
	if !snap.state.startTime.IsZero() && s.StartTime == nil {
		t := apiTime(snap.state.startTime)
		s.StartTime = &t
	}
	s.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, snap, "PodInitializing")
	main := "ContainerCreating"
	if !snap.state.initialized {
		main = "PodInitializing"
	}
	s.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, snap, main)
	s.Phase = phase(pod, snap)
	s.Reason, s.Message = "", ""
	s.Conditions = conditions(pod, snap, s.Conditions, now)
	return s
}

// containerStatuses builds the statuses of cs, in spec order.
func containerStatuses(pod *corev1.Pod, cs []corev1.Container, snap podSnapshot, defaultWaiting string) []corev1.ContainerStatus {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, 0, len(cs))
	for i := range cs {
		st := snap.ctrs[cs[i].Name]
		waiting := corev1.ContainerStateWaiting{Reason: defaultWaiting}
		if snap.state.invalid != "" {
			waiting = corev1.ContainerStateWaiting{Reason: invalidReason(&cs[i], snap.images), Message: snap.state.invalid}
		}
		out = append(out, containerStatus(pod, &cs[i], st, waiting))
	}
	return out
}

// invalidReason is the waiting reason of container c of a pod Validate
// refused: an image problem when its image is the cause.
func invalidReason(c *corev1.Container, im Images) string {
	if c.Image == "" || strings.ContainsAny(c.Image, " \t\n") || strings.ToLower(c.Image) != c.Image {
		return "InvalidImageName"
	}
	if _, err := im.Resolve(c.Image); err != nil {
		return "ErrImageNeverPull"
	}
	return "CreateContainerConfigError"
}

// apiTime is t as the API stores it, to the second, so that a status read
// back compares equal to the one written.
func apiTime(t time.Time) metav1.Time { return metav1.NewTime(t.Truncate(time.Second)) }

// containerStatus is the status of container c in state st.
func containerStatus(pod *corev1.Pod, c *corev1.Container, st ctrState, waiting corev1.ContainerStateWaiting) corev1.ContainerStatus {
	started := st.running && st.started
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: st.restarts,
		Ready: st.running && st.ready, Started: &started}
	if st.binary != "" {
		cs.ImageID = "file://" + st.binary
	}
	switch {
	case st.running:
		cs.ContainerID = containerID(pod, c.Name, st.restarts)
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: apiTime(st.startedAt)}
	case st.term != nil:
		cs.ContainerID = st.term.id
		cs.State.Terminated = terminated(st.term)
	case st.waiting != "":
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: st.waiting, Message: st.message}
	default:
		cs.State.Waiting = &waiting
	}
	if st.last != nil {
		cs.LastTerminationState.Terminated = terminated(st.last)
	}
	return cs
}

func terminated(t *termination) *corev1.ContainerStateTerminated {
	return &corev1.ContainerStateTerminated{ExitCode: t.exitCode, Reason: t.reason, ContainerID: t.id,
		StartedAt: apiTime(t.startedAt), FinishedAt: apiTime(t.finishedAt)}
}

// phase is the pod's phase: Pending until the init containers are done and
// a container ran, then Running, and Succeeded or Failed once no container
// will run again.
func phase(pod *corev1.Pod, snap podSnapshot) corev1.PodPhase {
	if snap.state.initFailed {
		return corev1.PodFailed
	}
	if snap.state.invalid != "" || !snap.state.initialized {
		return corev1.PodPending
	}
	ran, finished, failed := false, true, false
	for i := range pod.Spec.Containers {
		st := snap.ctrs[pod.Spec.Containers[i].Name]
		ran = ran || st.running || st.term != nil || st.last != nil
		finished = finished && st.finished
		failed = failed || st.finished && (st.term == nil || st.term.exitCode != 0)
	}
	switch {
	case !ran:
		return corev1.PodPending
	case finished && failed:
		return corev1.PodFailed
	case finished:
		return corev1.PodSucceeded
	}
	return corev1.PodRunning
}

// conditions builds the pod's conditions, keeping the transition time of
// each whose status did not change.
func conditions(pod *corev1.Pod, snap podSnapshot, old []corev1.PodCondition, now time.Time) []corev1.PodCondition {
	initPending := pendingNames(pod.Spec.InitContainers, snap, func(c *corev1.Container, st ctrState) bool {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return st.running && st.started
		}
		return st.finished && st.term != nil && st.term.exitCode == 0
	})
	if snap.state.initialized {
		initPending = nil
	}
	unready := unreadyNames(pod, snap)
	ready := len(unready) == 0 && !snap.state.terminating && snap.state.initialized && snap.state.invalid == ""
	gatesOK := readinessGatesOK(pod, old)
	out := []corev1.PodCondition{
		condition(corev1.PodReadyToStartContainers, snap.state.sandboxReady, "", ""),
		condition(corev1.PodInitialized, len(initPending) == 0 && snap.state.invalid == "",
			"ContainersNotInitialized", listed("containers with incomplete status", initPending)),
		condition(corev1.ContainersReady, ready, "ContainersNotReady", listed("containers with unready status", unready)),
		condition(corev1.PodReady, ready && gatesOK, "ContainersNotReady", listed("containers with unready status", unready)),
		condition(corev1.PodScheduled, true, "", ""),
	}
	for i := range out {
		out[i].LastTransitionTime = apiTime(now)
		for _, o := range old {
			if o.Type == out[i].Type && o.Status == out[i].Status {
				out[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return append(out, foreignConditions(old)...)
}

func condition(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
	if ok {
		return corev1.PodCondition{Type: t, Status: corev1.ConditionTrue}
	}
	return corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Message: msg}
}

func listed(what string, names []string) string {
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: [%s]", what, strings.Join(names, " "))
}

// pendingNames lists the containers of cs for which done is false.
func pendingNames(cs []corev1.Container, snap podSnapshot, done func(*corev1.Container, ctrState) bool) []string {
	var out []string
	for i := range cs {
		if !done(&cs[i], snap.ctrs[cs[i].Name]) {
			out = append(out, cs[i].Name)
		}
	}
	return out
}

// unreadyNames lists the sidecars and containers that are not ready.
func unreadyNames(pod *corev1.Pod, snap podSnapshot) []string {
	notReady := func(_ *corev1.Container, st ctrState) bool { return st.running && st.ready }
	var sidecars []corev1.Container
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars = append(sidecars, c)
		}
	}
	return append(pendingNames(sidecars, snap, notReady), pendingNames(pod.Spec.Containers, snap, notReady)...)
}

// readinessGatesOK reports whether every readiness gate's condition is True.
func readinessGatesOK(pod *corev1.Pod, conds []corev1.PodCondition) bool {
	for _, g := range pod.Spec.ReadinessGates {
		ok := false
		for _, c := range conds {
			ok = ok || c.Type == g.ConditionType && c.Status == corev1.ConditionTrue
		}
		if !ok {
			return false
		}
	}
	return true
}

// foreignConditions are the conditions others set, such as readiness gates.
func foreignConditions(conds []corev1.PodCondition) []corev1.PodCondition {
	own := map[corev1.PodConditionType]bool{corev1.PodReadyToStartContainers: true, corev1.PodInitialized: true,
		corev1.ContainersReady: true, corev1.PodReady: true, corev1.PodScheduled: true}
	var out []corev1.PodCondition
	for _, c := range conds {
		if !own[c.Type] {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

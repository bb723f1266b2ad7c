package podrunner

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func statusPod() *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "setup", Image: "a"}, {Name: "proxy", Image: "b", RestartPolicy: &always}},
			Containers:     []corev1.Container{{Name: "app", Image: "c"}},
		},
		Status: corev1.PodStatus{QOSClass: corev1.PodQOSBestEffort},
	}
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func runningSnapshot() podSnapshot {
	done := &termination{exitCode: 0, reason: "Completed", startedAt: t0, finishedAt: t0, id: "roundabout://ns_p_setup_0"}
	return podSnapshot{hostIP: "10.244.0.1",
		state: podState{ip: "10.244.0.10", startTime: t0, sandboxReady: true, initialized: true},
		ctrs: map[string]ctrState{
			"setup": {term: done, finished: true},
			"proxy": {running: true, started: true, ready: true, startedAt: t0},
			"app":   {running: true, started: true, ready: true, startedAt: t0, restarts: 2},
		}}
}

func condStatus(s corev1.PodStatus, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range s.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return "missing"
}

func TestBuildStatusOfARunningReadyPod(t *testing.T) {
	s := buildStatus(statusPod(), runningSnapshot(), t0)
	if s.Phase != corev1.PodRunning || s.PodIP != "10.244.0.10" || s.HostIP != "10.244.0.1" || s.QOSClass != corev1.PodQOSBestEffort {
		t.Fatalf("status = %+v", s)
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized,
		corev1.ContainersReady, corev1.PodReady, corev1.PodReadyToStartContainers} {
		if condStatus(s, ct) != corev1.ConditionTrue {
			t.Errorf("condition %s = %s, want True", ct, condStatus(s, ct))
		}
	}
	app := s.ContainerStatuses[0]
	if !app.Ready || app.RestartCount != 2 || app.State.Running == nil || app.ContainerID != "roundabout://ns_p_app_2" {
		t.Errorf("app status = %+v", app)
	}
	setup := s.InitContainerStatuses[0]
	if setup.State.Terminated == nil || setup.State.Terminated.Reason != "Completed" {
		t.Errorf("setup status = %+v, want terminated Completed", setup)
	}
}

func TestBuildStatusTurnsReadyFalseWhenTerminating(t *testing.T) {
	snap := runningSnapshot()
	snap.state.terminating = true
	s := buildStatus(statusPod(), snap, t0)
	if condStatus(s, corev1.PodReady) != corev1.ConditionFalse || condStatus(s, corev1.ContainersReady) != corev1.ConditionFalse {
		t.Fatalf("conditions = %+v, want Ready and ContainersReady False", s.Conditions)
	}
}

func TestBuildStatusKeepsTransitionTimesOfUnchangedConditions(t *testing.T) {
	pod := statusPod()
	pod.Status = buildStatus(pod, runningSnapshot(), t0)
	later := t0.Add(time.Hour)
	snap := runningSnapshot()
	snap.ctrs["app"] = ctrState{running: true, started: true, ready: false, startedAt: t0}
	s := buildStatus(pod, snap, later)
	for _, c := range s.Conditions {
		want := t0
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			want = later
		}
		if !c.LastTransitionTime.Time.Equal(want) {
			t.Errorf("%s transitioned at %v, want %v", c.Type, c.LastTransitionTime, want)
		}
	}
}

func TestBuildStatusOfACrashLoopingInitContainer(t *testing.T) {
	snap := runningSnapshot()
	snap.state.initialized = false
	failed := &termination{exitCode: 3, reason: "Error", startedAt: t0, finishedAt: t0, id: "roundabout://ns_p_setup_0"}
	snap.ctrs = map[string]ctrState{"setup": {restarts: 1, waiting: "CrashLoopBackOff", message: "back-off", last: failed}}
	s := buildStatus(statusPod(), snap, t0)
	setup := s.InitContainerStatuses[0]
	if s.Phase != corev1.PodPending || setup.State.Waiting == nil || setup.State.Waiting.Reason != "CrashLoopBackOff" ||
		setup.LastTerminationState.Terminated == nil || setup.LastTerminationState.Terminated.ExitCode != 3 {
		t.Fatalf("phase %s, setup %+v", s.Phase, setup)
	}
	if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("app waiting = %+v, want PodInitializing", w)
	}
	if condStatus(s, corev1.PodInitialized) != corev1.ConditionFalse {
		t.Error("Initialized is not False")
	}
}

func TestBuildStatusOfAnInvalidPod(t *testing.T) {
	snap := podSnapshot{hostIP: "10.244.0.1", images: Images{Dir: t.TempDir()},
		state: podState{invalid: "pod ns/p: spec.containers[0].image: no local binary"}}
	pod := statusPod()
	pod.Spec.InitContainers = nil
	pod.Spec.Containers[0].Image = "Bad Image"
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "other", Image: "ghcr.io/x/none:v1"})
	s := buildStatus(pod, snap, t0)
	if s.Phase != corev1.PodPending || s.PodIP != "" {
		t.Fatalf("phase %s podIP %q, want Pending with no IP", s.Phase, s.PodIP)
	}
	for i, want := range []string{"InvalidImageName", "ErrImageNeverPull"} {
		w := s.ContainerStatuses[i].State.Waiting
		if w == nil || w.Reason != want || w.Message != snap.state.invalid {
			t.Errorf("container %d waiting = %+v, want %s with the validation message", i, w, want)
		}
	}
}

func TestPhaseOfFinishedContainers(t *testing.T) {
	pod := statusPod()
	snap := runningSnapshot()
	snap.ctrs["app"] = ctrState{finished: true, term: &termination{exitCode: 0}}
	if p := phase(pod, snap); p != corev1.PodSucceeded {
		t.Errorf("phase = %s, want Succeeded", p)
	}
	snap.ctrs["app"] = ctrState{finished: true, term: &termination{exitCode: 1}}
	if p := phase(pod, snap); p != corev1.PodFailed {
		t.Errorf("phase = %s, want Failed", p)
	}
}

func TestShouldRestart(t *testing.T) {
	cases := []struct {
		kind   ctrKind
		policy corev1.RestartPolicy
		code   int
		want   bool
	}{
		{mainKind, corev1.RestartPolicyAlways, 0, true},
		{mainKind, corev1.RestartPolicyOnFailure, 0, false},
		{mainKind, corev1.RestartPolicyOnFailure, 1, true},
		{mainKind, corev1.RestartPolicyNever, 1, false},
		{initKind, corev1.RestartPolicyAlways, 0, false},
		{initKind, corev1.RestartPolicyAlways, 1, true},
		{initKind, corev1.RestartPolicyNever, 1, false},
		{sidecarKind, corev1.RestartPolicyNever, 0, true},
	}
	for _, c := range cases {
		if got := shouldRestart(c.kind, c.policy, c.code, true); got != c.want {
			t.Errorf("shouldRestart(%v, %s, %d) = %v, want %v", c.kind, c.policy, c.code, got, c.want)
		}
	}
}

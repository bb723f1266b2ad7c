package inject

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

const (
	// AgentBinary is the agent's path in its image (Dockerfile.agent),
	// which the lifecycle hooks of a regular-container agent run.
	AgentBinary = "/roundabout-agent"
	// DefaultContainerAnnotation names the container kubectl logs, exec
	// and attach pick when none is given. The webhook sets it to the pod's
	// first container, so that they do not land on the agent.
	DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"
	// startupPeriodSeconds and startupFailureThreshold are the agent's
	// startup probe: the time it gets to become ready.
	startupPeriodSeconds    = 1
	startupFailureThreshold = 120
	// defaultGracePeriodSeconds is terminationGracePeriodSeconds when the
	// pod leaves it unset.
	defaultGracePeriodSeconds = 30
)

// place adds the agent to the pod's containers. As a native sidecar it is
// the first init container with restartPolicy Always: the kubelet starts
// the app only once its startup probe passes, and stops it only after the
// app has exited. As a regular container, for nodes older than 1.29, it is
// placed first and given the hooks that do the same by other means: a
// postStart that returns once the agent is ready (the kubelet starts the
// next container only when the previous one's postStart has returned) and a
// preStop that holds the agent's SIGTERM while the app still has connections
// open to it.
func place(pod *corev1.Pod, agent corev1.Container, native bool, adminPort int32) {
	if native {
		agent.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		pod.Spec.InitContainers = append([]corev1.Container{agent}, pod.Spec.InitContainers...)
		return
	}
	agent.Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: waitReadyCommand(adminPort)}},
		PreStop:   &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: drainWaitCommand(adminPort, gracePeriod(pod))}},
	}
	pod.Spec.Containers = append([]corev1.Container{agent}, pod.Spec.Containers...)
}

// waitReadyCommand waits, at most as long as the startup probe allows,
// until the agent's /readyz answers. The kubelet does not expand $(POD_IP)
// in a hook's command; the agent's subcommand expands it from its
// environment, which is the container's.
func waitReadyCommand(adminPort int32) []string {
	return []string{AgentBinary, "wait-ready", adminAddrFlag(adminPort),
		"--timeout=" + strconv.Itoa(startupPeriodSeconds*startupFailureThreshold) + "s"}
}

// drainWaitCommand returns once no client connection to the agent is left,
// or after the pod's grace period (at least a second), whichever comes first; the kubelet then
// sends the agent SIGTERM, and the agent drains for what is left of the
// grace period. Without it the agent would stop accepting at the same
// moment the app is told to stop, failing the calls an app makes while it
// finishes its work. $(POD_IP) is expanded as in waitReadyCommand.
func drainWaitCommand(adminPort int32, graceSeconds int64) []string {
	return []string{AgentBinary, "drain-wait", adminAddrFlag(adminPort),
		"--timeout=" + strconv.FormatInt(max(graceSeconds, 1), 10) + "s"}
}

func adminAddrFlag(adminPort int32) string {
	return "--admin-addr=$(POD_IP):" + strconv.Itoa(int(adminPort))
}

func gracePeriod(pod *corev1.Pod) int64 {
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return *g
	}
	return defaultGracePeriodSeconds
}

// runsToCompletion says why the pod is meant to finish: it is owned by a
// Job (CronJobs create Jobs), or its restartPolicy is Never or OnFailure.
// A regular-container agent never exits, so such a pod would never finish.
func runsToCompletion(pod *corev1.Pod) (string, bool) {
	for _, o := range pod.OwnerReferences {
		group, _, _ := strings.Cut(o.APIVersion, "/")
		if o.Kind == "Job" && group == "batch" {
			return fmt.Sprintf("owned by Job %q", o.Name), true
		}
	}
	if p := pod.Spec.RestartPolicy; p == corev1.RestartPolicyNever || p == corev1.RestartPolicyOnFailure {
		return "restartPolicy " + string(p), true
	}
	return "", false
}

// setDefaultContainer points kubectl at the pod's first container, the
// app, unless the pod already names one.
func setDefaultContainer(pod *corev1.Pod, first string) {
	if _, ok := pod.Annotations[DefaultContainerAnnotation]; !ok && first != "" {
		pod.Annotations[DefaultContainerAnnotation] = first
	}
}

// Package inject decides whether a pod gets the Roundabout agent sidecar and,
// when it does, returns the pod with the agent added.
//
// It is a pure function of the pod, its namespace and the webhook's
// configuration: it never talks to the API server, so every decision can be
// checked with golden files (see testdata/).
package inject

import (
	corev1 "k8s.io/api/core/v1"
)

// Namespace is what a decision needs to know about the pod's namespace.
type Namespace struct {
	// Name is the namespace of the admission request.
	Name string
	// Labels are the namespace's labels; nil when it could not be read.
	Labels map[string]string
}

// Report says what was decided and why, for logs and metrics.
type Report struct {
	// Injected is true when the returned pod carries the agent.
	Injected bool
	// Reason is a machine-readable reason code.
	Reason Reason
}

// Pod decides on pod, created in namespace ns. It returns:
//   - the pod with the agent added and Report{Injected: true}, or
//   - the pod unchanged and the reason it was skipped, or
//   - a non-nil error, with reason ReasonInvalidAnnotation, when the pod
//     asks for injection with annotations that cannot be honoured. The
//     pod should then be denied with the error's message.
//
// pod itself is never modified.
func Pod(pod *corev1.Pod, ns Namespace, cfg Config) (*corev1.Pod, Report, error) {
	reason, wanted := decide(pod, ns, cfg)
	if !wanted {
		return pod, Report{Reason: reason}, nil
	}
	opts, err := parseOptions(pod, cfg.adminPort())
	if err != nil {
		return pod, Report{Reason: ReasonInvalidAnnotation}, err
	}
	return withAgent(pod, opts, cfg), Report{Injected: true, Reason: ReasonInjected}, nil
}

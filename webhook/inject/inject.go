// Package inject decides whether a pod gets the Roundabout agent sidecar and,
// when it does, returns the pod with the agent added.
//
// It is a pure function of the pod, its namespace and the webhook's
// configuration: it never talks to the API server, so every decision can be
// checked with golden files (see testdata/).
//
// # Service names
//
// The client keeps dialling its Service by name. For every upstream entry
// without =listen the agent listens on a loopback address of its own per
// Service, 127.0.2.N on the Service's port, and the pod's hostAliases map the
// Service's names (svc.ns.svc.<cluster domain>, svc.ns.svc, svc.ns, and svc
// when the Service is in the pod's namespace) to it, so /etc/hosts sends the
// client to the agent. When injection does not happen (the webhook is down,
// times out, or skips the pod) the same names resolve through the cluster's
// DNS to the ClusterIP and the client works as before, balanced per
// connection: failing open costs balance, never the pod. Nothing else in the
// app's spec changes, and the agent needs no NET_ADMIN, iptables or init
// container. The names cover every port of the Service, so each port the pod
// dials must be an upstream entry. An entry with =listen is served where it
// says, and no name is mapped for it.
//
// # Who is denied
//
// Only a pod that asks for the agent itself (the inject annotation, or an
// upstream of its own) is ever denied, with a [*Denial] naming each
// annotation or spec field at fault. A pod that is only in a namespace
// labelled for injection is admitted unchanged, with warnings
// ([Report.Warnings]), when it names no upstream and the namespace has no
// default (the upstream annotation on the namespace), or when the agent
// cannot be added to it as the namespace asks. Unknown roundabout.dev/ keys
// and ring-hash without a hash header are warnings too.
//
// # What the agent gets
//
//   - Credentials: a pod with automountServiceAccountToken: false gets a
//     projected service-account token, CA and namespace mounted into the
//     agent alone. Only the pod's field is seen, not its ServiceAccount's.
//     With automount on, the API server's ServiceAccount admission, which
//     runs again after a webhook changed the pod, mounts the usual token
//     into the agent as into every other container.
//   - Resources: in a Guaranteed pod the agent's requests equal its limits,
//     so the pod stays Guaranteed; no resource annotation may be below the
//     contract's floors; a pod with spec.resources shares that budget with
//     the agent. GOMAXPROCS follows the CPU limit, or is 1.
//   - Placement: a native sidecar when Config.NativeSidecar or the pod's
//     native-sidecar annotation says so; otherwise a regular container
//     placed first, whose postStart hook holds the app until the agent is
//     ready and whose preStop hook holds the agent's SIGTERM until the app
//     has closed its connections to it. The hook and the agent's drain
//     after it share the pod's terminationGracePeriodSeconds (30 s unless
//     set) with the app: the hook waits at most that long, and the kubelet
//     kills whatever still runs when it ends, so a pod whose app takes
//     long to stop needs a longer grace period. Pods that run to
//     completion (Jobs) get no regular-container agent, which would keep
//     them running.
//   - Annotations: roundabout.dev/status: injected (a pod that has it is
//     never injected again), roundabout.dev/agent-image with the agent's
//     image, and kubectl.kubernetes.io/default-container naming the app's
//     first container unless the pod names one.
package inject

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
)

// Namespace is what a decision needs to know about the pod's namespace.
type Namespace struct {
	// Name is the namespace of the admission request.
	Name string
	// Labels are the namespace's labels; nil when it could not be read.
	Labels map[string]string
	// Annotations are the namespace's annotations; nil when it could not
	// be read. The upstream annotation there is the default for pods that
	// have none.
	Annotations map[string]string
}

// Report says what was decided and why, for logs, metrics and the
// admission response.
type Report struct {
	// Injected is true when the returned pod carries the agent.
	Injected bool
	// Reason is a machine-readable reason code.
	Reason Reason
	// Warnings are for whoever created the pod, as the admission
	// response's warnings: each names the annotation or field and the
	// problem. They come with any decision but those on pods never looked
	// at (ReasonSystemNamespace, ReasonOwnNamespace, ReasonAlreadyInjected).
	Warnings []string
}

// Pod decides on pod, created in namespace ns. It returns:
//   - the pod with the agent added and Report{Injected: true}, or
//   - the pod unchanged and the reason it was skipped, or
//   - a non-nil error, a *Denial, with reason ReasonInvalidAnnotation, when
//     the pod asks for injection in a way that cannot be honoured. The pod
//     should then be denied with the error's message.
//
// Any of them may come with warnings. pod itself is never modified.
func Pod(pod *corev1.Pod, ns Namespace, cfg Config) (*corev1.Pod, Report, error) {
	if reason, ok := excluded(pod, ns, cfg); ok {
		return pod, Report{Reason: reason}, nil
	}
	warnings := unknownAnnotations(pod.Annotations)
	reason, wanted := decide(pod, ns)
	if !wanted {
		return pod, report(false, reason, warnings), nil
	}
	podNamespace := ns.Name
	if podNamespace == "" {
		podNamespace = pod.Namespace
	}
	up, ok := upstreamFor(pod, ns)
	if !ok && !asked(pod) {
		return pod, report(false, ReasonNoUpstream, append(warnings, noUpstreamWarning(podNamespace))), nil
	}
	opts, more, err := parseOptions(pod, podNamespace, up, cfg)
	warnings = append(warnings, more...)
	if err != nil {
		var denial *Denial
		if !asked(pod) && errors.As(err, &denial) {
			for _, p := range denial.Problems {
				warnings = append(warnings, notAppliedWarning(p))
			}
			return pod, report(false, ReasonNamespaceNotApplied, warnings), nil
		}
		return pod, report(false, ReasonInvalidAnnotation, warnings), err
	}
	if !opts.native {
		if why, ok := runsToCompletion(pod); ok {
			return pod, report(false, ReasonRunToCompletion, append(warnings, runToCompletionWarning(why))), nil
		}
	}
	return withAgent(pod, opts, cfg), report(true, ReasonInjected, warnings), nil
}

func report(injected bool, reason Reason, warnings []string) Report {
	r := Report{Injected: injected, Reason: reason}
	for _, w := range warnings {
		r.Warnings = append(r.Warnings, warningPrefix+w)
	}
	return r
}

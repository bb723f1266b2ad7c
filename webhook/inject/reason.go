package inject

// Reason is a machine-readable code for a decision, used as a metric label.
type Reason string

// Every reason Pod reports.
const (
	// ReasonInjected: the agent was added.
	ReasonInjected Reason = "injected"
	// ReasonAlreadyInjected: the pod already carries the agent.
	ReasonAlreadyInjected Reason = "already-injected"
	// ReasonNotAnnotated: neither the pod nor its namespace asks for the agent.
	ReasonNotAnnotated Reason = "not-annotated"
	// ReasonNamespaceDisabled: the namespace label says disabled and the
	// pod does not ask for the agent.
	ReasonNamespaceDisabled Reason = "namespace-disabled"
	// ReasonPodDisabled: the pod opts out, whatever its namespace says.
	ReasonPodDisabled Reason = "pod-disabled"
	// ReasonSystemNamespace: pods in Kubernetes' own namespaces are never
	// injected.
	ReasonSystemNamespace Reason = "system-namespace"
	// ReasonOwnNamespace: pods in the webhook's namespace are never
	// injected.
	ReasonOwnNamespace Reason = "own-namespace"
	// ReasonInvalidAnnotation: the pod asks for the agent, but it cannot be
	// added as asked: an annotation the contract does not allow, or a part
	// of the pod's spec the agent would conflict with (hostNetwork, a port,
	// a hostname, a volume name). The pod is denied; this is the only
	// reason that comes with an error.
	ReasonInvalidAnnotation Reason = "invalid-annotation"
	// ReasonNoUpstream: the namespace label asks for the agent, but neither
	// the pod nor the namespace names an upstream. The pod did not ask
	// itself, so it is admitted unchanged, with a warning.
	ReasonNoUpstream Reason = "no-upstream"
	// ReasonNamespaceNotApplied: the namespace label asks for the agent
	// with the namespace's default upstream, but the pod, which did not ask
	// itself, cannot get it as asked. What would deny a pod that asked is
	// returned as warnings and the pod is admitted unchanged.
	ReasonNamespaceNotApplied Reason = "namespace-not-applied"
	// ReasonRunToCompletion: the agent would be a regular container (no
	// native sidecar for this pod) and the pod runs to completion: it is
	// owned by a Job (CronJobs create Jobs) or its restartPolicy is Never
	// or OnFailure. A regular-container agent never exits, so the pod would
	// never complete; it is admitted unchanged, with a warning.
	ReasonRunToCompletion Reason = "run-to-completion"
)

// Reasons lists every reason, so metrics can be initialised at zero.
var Reasons = []Reason{
	ReasonInjected, ReasonAlreadyInjected, ReasonNotAnnotated, ReasonNamespaceDisabled,
	ReasonPodDisabled, ReasonSystemNamespace, ReasonOwnNamespace, ReasonInvalidAnnotation,
	ReasonNoUpstream, ReasonNamespaceNotApplied, ReasonRunToCompletion,
}

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
	// ReasonInvalidAnnotation: the pod asks for the agent with annotations
	// that cannot be honoured; it is denied.
	ReasonInvalidAnnotation Reason = "invalid-annotation"
)

// Reasons lists every reason, so metrics can be initialised at zero.
var Reasons = []Reason{
	ReasonInjected, ReasonAlreadyInjected, ReasonNotAnnotated, ReasonNamespaceDisabled,
	ReasonPodDisabled, ReasonSystemNamespace, ReasonOwnNamespace, ReasonInvalidAnnotation,
}

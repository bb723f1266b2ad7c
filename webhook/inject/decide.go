package inject

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// systemNamespaces are Kubernetes' own namespaces, never injected.
var systemNamespaces = map[string]bool{
	"kube-system":     true,
	"kube-public":     true,
	"kube-node-lease": true,
}

// excluded reports pods that are never looked at further: those in
// Kubernetes' or the webhook's own namespace, and those already injected.
func excluded(pod *corev1.Pod, ns Namespace, cfg Config) (Reason, bool) {
	switch {
	case systemNamespaces[ns.Name]:
		return ReasonSystemNamespace, true
	case cfg.OwnNamespace != "" && ns.Name == cfg.OwnNamespace:
		return ReasonOwnNamespace, true
	case alreadyInjected(pod):
		return ReasonAlreadyInjected, true
	}
	return "", false
}

// decide reports whether pod should get the agent; when it should not, the
// reason says why.
func decide(pod *corev1.Pod, ns Namespace) (Reason, bool) {
	return optIn(pod.Annotations[annotations.Inject], ns.Labels[annotations.Inject])
}

// asked reports whether the pod itself asks for the agent, with the inject
// annotation or an upstream of its own, rather than only being in a
// namespace that does. Only a pod that asked is ever denied.
func asked(pod *corev1.Pod) bool {
	_, hasUpstream := pod.Annotations[annotations.Upstream]
	return hasUpstream || pod.Annotations[annotations.Inject] != ""
}

// upstreamFor is the pod's upstream annotation, else its namespace's
// default; false when neither has one.
func upstreamFor(pod *corev1.Pod, ns Namespace) (upstreamSource, bool) {
	if v, ok := pod.Annotations[annotations.Upstream]; ok {
		return upstreamSource{value: v}, true
	}
	if v, ok := ns.Annotations[annotations.Upstream]; ok {
		return upstreamSource{value: v, namespace: ns.Name}, true
	}
	return upstreamSource{}, false
}

// optIn applies the pod annotation, then the namespace label. Any pod value
// other than disabled asks for the agent; parseOptions rejects values that
// are not enabled, so a typo is reported instead of silently ignored.
func optIn(podValue, namespaceValue string) (Reason, bool) {
	switch {
	case podValue == annotations.InjectDisabled:
		return ReasonPodDisabled, false
	case podValue != "":
		return ReasonInjected, true
	case namespaceValue == annotations.InjectEnabled:
		return ReasonInjected, true
	case namespaceValue == annotations.InjectDisabled:
		return ReasonNamespaceDisabled, false
	}
	return ReasonNotAnnotated, false
}

// alreadyInjected reports whether pod carries the status annotation or an
// agent container, so a second pass never adds a second agent.
func alreadyInjected(pod *corev1.Pod) bool {
	if pod.Annotations[annotations.Status] == annotations.StatusInjected {
		return true
	}
	return hasContainer(pod.Spec.InitContainers, AgentContainerName) ||
		hasContainer(pod.Spec.Containers, AgentContainerName)
}

func hasContainer(cs []corev1.Container, name string) bool {
	for i := range cs {
		if cs[i].Name == name {
			return true
		}
	}
	return false
}

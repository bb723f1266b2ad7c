// Package kubeagent runs the roundabout-agent binary as a pod would, with
// Kubernetes discovery against a real kube-apiserver: greet-server processes
// on pod addresses inside a private network namespace, a Service and its
// EndpointSlices created through the API, the gateway talking to the agent,
// the lookaside Resolve API, and a live strategy swap from the annotations
// file. Readiness is tested there too: an agent whose service account has
// no RoleBinding is not ready until the command its /readyz prints has
// run, and one whose only endpoint is down is ready and fails calls fast.
package kubeagent

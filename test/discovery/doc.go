// Package discovery tests the agent's Kubernetes discovery against a real
// kube-apiserver and etcd (envtest), with real gRPC traffic: greet servers
// run in-process on 10.244.0.x inside a private network namespace (the API
// server rejects loopback addresses in EndpointSlices), the agent's pool and
// proxy are assembled in-process and fed by the EndpointSlice source, and
// the tests write Services and EndpointSlices by hand, as the endpointslice
// controller would.
//
// The tests need KUBEBUILDER_ASSETS (`. hack/controlplane/env.sh` sets it),
// unshare and ip; without them they are skipped.
package discovery

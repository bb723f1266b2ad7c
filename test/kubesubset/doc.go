// Package kubesubset runs roundabout-agent processes as the pods of one
// client Deployment would, against a real kube-apiserver: each learns its
// place i/C among its peers from the EndpointSlices of a Service over the
// client pods (--subset-peers), and their subsets of the upstream Service's
// endpoints are checked to be exactly balanced, then again after a peer
// leaves, after a live change of the subset-size annotation and after a
// server is added. An agent whose peers Service lists no pod, and one
// without any place, say that their balance is only statistical.
package kubesubset

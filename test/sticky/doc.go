// Package sticky reproduces the problem Roundabout solves, as tests: behind a
// per-connection balancer such as kube-proxy, one gRPC client sends every
// call to one pod, while a client balancing per request spreads them evenly.
package sticky

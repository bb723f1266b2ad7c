// Package podrunner runs the pods bound to one node on the local machine, in
// place of a kubelet and a container runtime, so that the demo and the
// end-to-end tests can run the real control plane and the real manifests of
// deploy/ with no cluster and no images.
//
// It is meant to run inside the node namespace that netns.ReexecNode makes:
// only the node address is local there, and IPv4 forwarding is on.
//
// # What a pod is here
//
// Each pod gets a sandbox: a holder process in new network, mount and UTS
// namespaces, joined to the node by a veth pair. The pod side is eth0 with
// the pod IP as a /32 and a default route through the node address; the node
// side gets a /32 route to the pod IP. There is no bridge: all pod traffic is
// routed through the node namespace, so kube-proxy's iptables rules apply to
// it. The pod's hostname is set, and /etc/resolv.conf and /etc/hosts are the
// pod's own: resolv.conf points at the cluster DNS with the namespace's
// search path, and /etc/hosts is the kubelet's managed hosts file (see
// HostsFile), the pod IP with its hostname (and FQDN when spec.subdomain is
// set) followed by the pod's spec.hostAliases. Containers join the sandbox's namespaces with nsenter and run in
// the node's file system; they share the node's PID namespace.
//
// An image stands for the project binary of the same name (see Images): the
// registry, tag and digest are ignored, and the image's entrypoint is the
// binary itself, so container args are passed to it and container command
// is not supported.
//
// Volumes are files written on the node and bind-mounted into the pod's
// mount namespace at each volumeMount's path; a mount point missing from the
// node's file system is made in an overlay of its nearest existing parent,
// private to the pod. Supported volume kinds: emptyDir, configMap, secret,
// downwardAPI and projected (serviceAccountToken, configMap, secret and
// downwardAPI sources). Files are laid out the way the kubelet lays them out
// (a timestamped directory, a ..data symlink swapped atomically, one symlink
// per file), and downward API volumes are rewritten when the pod's labels or
// annotations change. Service account tokens are requested once, bound to
// the pod, and not rotated.
//
// Environment variables support value, with $(VAR) expansion as the kubelet
// does it, and valueFrom.fieldRef. Container output is appended to a log
// file in the CRI format, which `kubectl logs` reads through the node's log
// endpoint.
//
// # What is refused
//
// Validate refuses, with a message naming the pod and the field, what the
// pod runner cannot honour: hostNetwork, hostPID and hostIPC; other volume
// kinds; subPath and subPathExpr mounts; container command; exec probes;
// lifecycle hooks other than a preStop sleep; ephemeral containers; env from
// configMapKeyRef, secretKeyRef or resourceFieldRef, and envFrom; images
// with no local binary.
//
// # What is ignored
//
// securityContext (everything runs as the namespace's root), resources
// (requests and limits are not enforced), ports (a container listens where
// its program listens), topologySpreadConstraints, affinity and tolerations
// (there is one node), and imagePullPolicy.
package podrunner

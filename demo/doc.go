// Package demo is Roundabout's end-to-end scenario on a local Kubernetes
// control plane: real etcd, kube-apiserver, kube-controller-manager,
// kube-proxy and CoreDNS (localcluster/controlplane), the local pod runner in place of
// the kubelet (localcluster/podrunner), and the real webhook, agent and greet
// workload from the project's binaries, deployed from deploy/.
//
// Run walks seven steps and checks each one's expectations:
//
//  1. The problem: through a ClusterIP Service and kube-proxy, one gateway
//     connection sends every request to one server pod.
//  2. The fix: the gateway is annotated for injection and nothing else
//     changes; its new pod carries the agent and a hosts entry (from the
//     webhook's hostAliases) that sends greetserver's name to it, and
//     requests spread evenly.
//  3. Webhook outage: with the webhook scaled to 0, the gateway's new pod
//     is created without the agent and serves through the ClusterIP,
//     sticky; with the webhook back, a rollout balances it again.
//  4. Scale up: new server pods get traffic within a second of their
//     endpoints turning ready.
//  5. Rolling restart under steady load, with no failed request.
//  6. Live strategy swap by annotating the running pod; the agent logs it
//     and does not restart.
//  7. The other fixes side by side: gRPC's round_robin over a headless
//     Service resolved by CoreDNS, and the agent's lookaside Resolve.
//
// cmd/roundabout-demo runs it for people (`make demo`) and test/e2e runs it as a test.
// Both run it in a private network, mount and PID namespace in node mode
// (localcluster/netns), so pods get addresses of 10.244.0.0/24 and nothing leaks out.
package demo

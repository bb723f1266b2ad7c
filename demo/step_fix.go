package demo

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// stepFix applies the real deploy/examples/greet: the gateway is annotated
// for injection and nothing else changes; it still dials greetserver's
// Service name. Its new pod carries the agent and a hosts entry that sends
// that name to it, and requests spread evenly over the three servers.
func (e *Env) stepFix(ctx context.Context, s *Step) {
	say(e.out, "The same gateway, annotated roundabout.dev/inject=enabled; it still dials %s:50051", e.serverFQDN())
	if _, err := e.Kubectl(ctx, "apply", "-k", "deploy/examples/greet"); err != nil {
		s.fail("apply deploy/examples/greet", err)
		return
	}
	if err := e.WaitRollout(ctx, Namespace, clientApp, rolloutTimeout); err != nil {
		s.fail("the annotated gateway rolls out", err)
		return
	}
	pod, err := e.OnePod(ctx, clientApp, rolloutTimeout)
	if err != nil {
		s.fail("the new gateway pod", err)
		return
	}
	say(e.out, "pod %s: %s", pod.Name, containersLine(pod))
	s.check(agentContainer(pod) != nil, "the new pod carries the agent", "%s", containersLine(pod))
	e.showClientEnv(ctx, s, pod)
	e.showHostsEntry(ctx, s, pod)
	e.spreadOverThree(ctx, s, pod)
}

// spreadOverThree waits for the agent to connect to the three servers,
// shows its log, and checks that 30 requests split 10/10/10.
func (e *Env) spreadOverThree(ctx context.Context, s *Step, pod *corev1.Pod) {
	if err := e.WaitAgentEndpoints(ctx, pod, 3); err != nil {
		s.fail("the agent connects to 3 pods", err)
		return
	}
	if _, err := e.ShowAgentLog(ctx, pod.Name, "agent started", "endpoints changed", "endpoint connected"); err != nil {
		s.fail("kubectl logs on the agent", err)
	}
	tally, err := e.greetThroughClient(ctx, clientApp, 30)
	if err != nil {
		s.fail("30 requests through the gateway and its agent", err)
		return
	}
	pods := e.chartServers(ctx, tally)
	even := len(tally) == 3
	for _, n := range tally {
		even = even && n == 10
	}
	s.check(even, "30 requests spread 10/10/10", "%s", tallyLine(tally, pods))
}

// tallyLine prints a tally's counts as the chart orders them, pods that
// got nothing included: "30/0/0".
func tallyLine(t Tally, pods []string) string {
	var counts []string
	for _, p := range chartOrder(t, pods) {
		counts = append(counts, fmt.Sprint(t[p]))
	}
	return strings.Join(counts, "/")
}

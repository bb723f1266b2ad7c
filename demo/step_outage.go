package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// webhookTimeout bounds each wait on the webhook going away or coming back.
const webhookTimeout = 90 * time.Second

// stepOutage takes the webhook away and rolls the annotated gateway out:
// its new pod is created without the agent (failurePolicy: Ignore), keeps
// its environment, resolves greetserver's name through CoreDNS and serves,
// sticky on one server. With the webhook back, another rollout injects the
// agent and requests spread over the three servers again.
func (e *Env) stepOutage(ctx context.Context, s *Step) {
	replicas, err := e.webhookReplicas(ctx)
	if err != nil {
		s.fail("read the webhook's replicas", err)
		return
	}
	say(e.out, "The webhook goes away: its Deployment scaled to 0, its endpoints gone")
	if _, err := e.Kubectl(ctx, "-n", webhookNamespace, "scale", "deployment", webhookName, "--replicas=0"); err != nil {
		s.fail("scale the webhook to 0", err)
		return
	}
	back := false
	defer func() {
		if !back {
			_ = e.restoreWebhook(ctx, replicas)
		}
	}()
	if err := e.waitWebhookGone(ctx); err != nil {
		s.fail("the webhook's endpoints go", err)
		return
	}
	_, _ = e.Kubectl(ctx, "-n", webhookNamespace, "get", "endpointslices", "-l", discoveryv1.LabelServiceName+"="+webhookName)
	say(e.out, "The annotated gateway rolls out while the webhook is down (failurePolicy: Ignore)")
	if !e.outageClient(ctx, s) {
		return
	}
	say(e.out, "The webhook comes back (%d replicas); the gateway rolls out again", replicas)
	back = true
	began := time.Now()
	if err := e.restoreWebhook(ctx, replicas); err != nil {
		s.fail("the webhook comes back", err)
		return
	}
	say(e.out, "the webhook injects a dry-run pod again, %s after scaling up", time.Since(began).Round(100*time.Millisecond))
	pod, ok := e.restartClient(ctx, s)
	if !ok {
		return
	}
	s.check(agentContainer(pod) != nil, "injected again once the webhook is back", "%s", containersLine(pod))
	e.spreadOverThree(ctx, s, pod)
}

// outageClient rolls the gateway out while the webhook is away and checks
// that its pod has no agent, keeps its environment and serves, sticky.
func (e *Env) outageClient(ctx context.Context, s *Step) bool {
	pod, ok := e.restartClient(ctx, s)
	if !ok {
		return false
	}
	s.check(agentContainer(pod) == nil, "created without the agent while the webhook is down", "%s", containersLine(pod))
	e.showClientEnv(ctx, s, pod)
	e.checkNoHostsEntry(ctx, s, pod)
	tally, err := e.greetThroughClient(ctx, clientApp, 30)
	if err != nil {
		s.fail("it serves without the agent", err)
		return false
	}
	pods := e.chartServers(ctx, tally)
	s.check(tally.Total() == 30 && len(tally) == 1, "it serves, sticky through the ClusterIP",
		"30 of 30 requests answered, all by one pod: %s", tallyLine(tally, pods))
	return true
}

// restartClient restarts the gateway's Deployment, waits for the rollout
// and returns its new pod; on failure it records why in s.
func (e *Env) restartClient(ctx context.Context, s *Step) (*corev1.Pod, bool) {
	if _, err := e.Kubectl(ctx, "-n", Namespace, "rollout", "restart", "deployment/"+clientApp); err != nil {
		s.fail("kubectl rollout restart", err)
		return nil, false
	}
	if err := e.WaitRollout(ctx, Namespace, clientApp, rolloutTimeout); err != nil {
		s.fail("the gateway rolls out", err)
		return nil, false
	}
	pod, err := e.OnePod(ctx, clientApp, rolloutTimeout)
	if err != nil {
		s.fail("the new gateway pod", err)
		return nil, false
	}
	say(e.out, "pod %s: %s", pod.Name, containersLine(pod))
	return pod, true
}

// webhookReplicas is the webhook Deployment's replica count.
func (e *Env) webhookReplicas(ctx context.Context) (int32, error) {
	d, err := e.client.AppsV1().Deployments(webhookNamespace).Get(ctx, webhookName, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas == 0 {
		return 0, errors.New("the webhook Deployment has no replicas")
	}
	return *d.Spec.Replicas, nil
}

// waitWebhookGone waits until the webhook has no pod left and its Service
// no endpoint, so that the API server's calls to it fail.
func (e *Env) waitWebhookGone(ctx context.Context) error {
	return waitFor(ctx, webhookTimeout, "the webhook's pods and endpoints to go", func(ctx context.Context) (bool, string, error) {
		pods, err := e.client.CoreV1().Pods(webhookNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + webhookName})
		if err != nil {
			return false, err.Error(), nil
		}
		eps, err := e.client.DiscoveryV1().EndpointSlices(webhookNamespace).List(ctx,
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + webhookName})
		if err != nil {
			return false, err.Error(), nil
		}
		endpoints := 0
		for _, sl := range eps.Items {
			endpoints += len(sl.Endpoints)
		}
		return len(pods.Items) == 0 && endpoints == 0, fmt.Sprintf("%d pods, %d endpoints", len(pods.Items), endpoints), nil
	})
}

// restoreWebhook scales the webhook back to replicas and waits until it
// injects a dry-run pod again.
func (e *Env) restoreWebhook(ctx context.Context, replicas int32) error {
	if _, err := e.Kubectl(ctx, "-n", webhookNamespace, "scale", "deployment", webhookName, fmt.Sprintf("--replicas=%d", replicas)); err != nil {
		return err
	}
	if err := e.WaitRollout(ctx, webhookNamespace, webhookName, webhookTimeout); err != nil {
		return err
	}
	return waitFor(ctx, webhookTimeout, "the webhook to inject a dry-run pod", e.dryRunInjected)
}

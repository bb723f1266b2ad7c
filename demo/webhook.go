package demo

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// webhookNamespace and webhookName are deploy/'s.
const (
	webhookNamespace = "roundabout-system"
	webhookName      = "roundabout-webhook"
)

// InstallWebhook applies deploy/ and waits until the webhook injects: its
// pods are ready, it has patched its caBundle in, and a server-side dry
// run of an annotated pod comes back with the agent.
func (e *Env) InstallWebhook(ctx context.Context) error {
	if _, err := e.Kubectl(ctx, "apply", "-k", "deploy/"); err != nil {
		return err
	}
	if err := e.WaitRollout(ctx, webhookNamespace, webhookName, 90*time.Second); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "the webhook to inject a dry-run pod", e.dryRunInjected)
}

// dryRunInjected creates an annotated pod with dryRun=All in the default
// namespace and reports whether the agent was added.
func (e *Env) dryRunInjected(ctx context.Context) (bool, string, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "webhook-probe-", Annotations: map[string]string{
			annotations.Inject: annotations.InjectEnabled, annotations.Upstream: "greetserver.greet:50051"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/roundabout-dev/greet-gateway:v0.1.0"}}},
	}
	got, err := e.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return false, err.Error(), nil
	}
	if agentContainer(got) == nil {
		return false, fmt.Sprintf("dry-run pod has %d containers and %d init containers, no %s",
			len(got.Spec.Containers), len(got.Spec.InitContainers), inject.AgentContainerName), nil
	}
	return true, "", nil
}

// agentContainer returns the injected agent, a native sidecar or a
// regular container, or nil.
func agentContainer(p *corev1.Pod) *corev1.Container {
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			if cs[i].Name == inject.AgentContainerName {
				return &cs[i]
			}
		}
	}
	return nil
}

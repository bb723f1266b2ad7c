package demo

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// pollInterval is how often a condition on API objects is re-read.
const pollInterval = 100 * time.Millisecond

// waitFor polls cond until it holds or timeout passes; the error says what
// was awaited and the last state cond described.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func(context.Context) (bool, string, error)) error {
	last := ""
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, func(ctx context.Context) (bool, error) {
		ok, state, err := cond(ctx)
		last = state
		return ok, err
	})
	if err != nil {
		return fmt.Errorf("waiting %s for %s: %w (last seen: %s)", timeout, what, err, last)
	}
	return nil
}

// WaitRollout waits until deployment ns/name has every replica updated and
// ready, and no pod of an older revision is left.
func (e *Env) WaitRollout(ctx context.Context, ns, name string, timeout time.Duration) error {
	return waitFor(ctx, timeout, "deployment "+ns+"/"+name+" to roll out", func(ctx context.Context) (bool, string, error) {
		d, err := e.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		state := rolloutState(d)
		if !rolledOut(d) {
			return false, state, nil
		}
		pods, err := e.Pods(ctx, ns, d.Spec.Selector)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(pods) == int(*d.Spec.Replicas) && allReady(pods), fmt.Sprintf("%s, %d pods", state, len(pods)), nil
	})
}

func rolledOut(d *appsv1.Deployment) bool {
	want := *d.Spec.Replicas
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want &&
		s.Replicas == want && s.AvailableReplicas == want
}

func rolloutState(d *appsv1.Deployment) string {
	s := d.Status
	return fmt.Sprintf("generation %d observed %d, replicas %d updated %d available %d (want %d)",
		d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.AvailableReplicas, *d.Spec.Replicas)
}

// Pods lists the pods of ns matched by sel, sorted by name, including
// those still starting or terminating.
func (e *Env) Pods(ctx context.Context, ns string, sel *metav1.LabelSelector) ([]corev1.Pod, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	list, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// ReadyPods lists the ready, not terminating pods of ns with label app=app.
func (e *Env) ReadyPods(ctx context.Context, ns, app string) ([]corev1.Pod, error) {
	pods, err := e.Pods(ctx, ns, &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}})
	if err != nil {
		return nil, err
	}
	ready := pods[:0]
	for _, p := range pods {
		if podReady(&p) {
			ready = append(ready, p)
		}
	}
	return ready, nil
}

// OnePod returns the single ready pod of app, waiting for it.
func (e *Env) OnePod(ctx context.Context, app string, timeout time.Duration) (*corev1.Pod, error) {
	var pod *corev1.Pod
	err := waitFor(ctx, timeout, "one ready pod of "+app, func(ctx context.Context) (bool, string, error) {
		pods, err := e.ReadyPods(ctx, Namespace, app)
		if err != nil || len(pods) != 1 {
			return false, fmt.Sprintf("%d ready pods, err %v", len(pods), err), nil
		}
		pod = &pods[0]
		return true, "", nil
	})
	return pod, err
}

func allReady(pods []corev1.Pod) bool {
	for i := range pods {
		if !podReady(&pods[i]) {
			return false
		}
	}
	return true
}

// podReady: running, Ready condition true, and not being deleted.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// names returns the pods' names.
func names(pods []corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

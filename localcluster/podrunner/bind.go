package podrunner

import (
	"context"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apiwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// needsBinding reports whether pod waits for a scheduler: no scheduler
// runs, so every such pod is bound to this node.
func needsBinding(pod *corev1.Pod) bool {
	return pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

// bindAsync binds pod to the node in the background, once per pod at a time.
func (r *runner) bindAsync(ctx context.Context, pod *corev1.Pod) {
	uid := string(pod.UID)
	r.mu.Lock()
	if r.binding[uid] || ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.binding[uid] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		r.bind(ctx, pod)
		r.mu.Lock()
		delete(r.binding, uid)
		r.mu.Unlock()
	}()
}

// bind posts the pod's Binding to the node, as the scheduler does,
// retrying with back-off while the API server fails.
func (r *runner) bind(ctx context.Context, pod *corev1.Pod) {
	b := &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: r.cfg.NodeName},
	}
	final := func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsNotFound(err) || ctx.Err() != nil
	}
	err := retry.OnError(apiBackoff, func(err error) bool { return !final(err) }, func() error {
		cctx, cancel := context.WithTimeout(ctx, apiTimeout)
		defer cancel()
		return r.cfg.Client.CoreV1().Pods(pod.Namespace).Bind(cctx, b, metav1.CreateOptions{})
	})
	switch {
	case err == nil:
		r.log.Info("pod bound", zap.String("pod", podKey(pod)), zap.String("node", r.cfg.NodeName))
		r.events.Eventf(pod, corev1.EventTypeNormal, reasonScheduled,
			"Successfully assigned %s to %s", podKey(pod), r.cfg.NodeName)
	case final(err):
		// Bound meanwhile, deleted, or the runner is stopping.
	default:
		r.log.Warn("binding pod failed", zap.String("pod", podKey(pod)), zap.Error(err))
	}
}

// apiBackoff paces the retries of a bind or a delete while the API server
// fails: from 200 ms, doubling to 5 s, about 30 s in all, so that a busy
// moment does not leave a pod Pending or Terminating.
var apiBackoff = apiwait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 10, Cap: 5 * time.Second}

// podKey is namespace/name.
func podKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

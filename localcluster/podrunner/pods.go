package podrunner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// syncTimeout bounds the wait for the pod informer's first list.
const syncTimeout = time.Minute

// watchPods starts an informer on every pod: unbound ones are bound to the
// node, and each one bound to the node gets a worker that runs it.
func (r *runner) watchPods(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(r.cfg.Client, 0)
	inf := factory.Core().V1().Pods().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.podChanged(ctx, obj) },
		UpdateFunc: func(_, obj any) { r.podChanged(ctx, obj) },
		DeleteFunc: func(obj any) { r.podDeleted(obj) },
	})
	if err != nil {
		return fmt.Errorf("podrunner: pod informer: %w", err)
	}
	factory.Start(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), inf.HasSynced) {
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("podrunner: the pod informer did not sync within " + syncTimeout.String())
	}
	return nil
}

// podChanged binds an unbound pod, or hands one of the node's pods to its
// worker, starting the worker when the pod is new.
func (r *runner) podChanged(ctx context.Context, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if needsBinding(pod) {
		r.bindAsync(ctx, pod)
		return
	}
	if pod.Spec.NodeName != r.cfg.NodeName {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if w, ok := r.workers[string(pod.UID)]; ok {
		w.update(pod)
		return
	}
	if isTerminal(pod) || ctx.Err() != nil {
		return
	}
	w := newPodWorker(r, pod)
	r.workers[string(pod.UID)] = w
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		w.run(ctx)
		r.mu.Lock()
		delete(r.workers, string(pod.UID))
		r.mu.Unlock()
	}()
}

// podDeleted tells the worker of a pod that is gone from the API.
func (r *runner) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	w := r.workers[string(pod.UID)]
	r.mu.Unlock()
	if w != nil {
		w.gone()
	}
}

// isTerminal reports whether pod has finished for good.
func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// findWorker returns the worker of the newest pod namespace/name.
func (r *runner) findWorker(namespace, name string) *podWorker {
	r.mu.Lock()
	defer r.mu.Unlock()
	var found *podWorker
	for _, w := range r.workers {
		p := w.pod()
		if p.Namespace != namespace || p.Name != name {
			continue
		}
		if found == nil || p.CreationTimestamp.After(found.pod().CreationTimestamp.Time) {
			found = w
		}
	}
	return found
}

// podWorker runs one pod of the node, from its sandbox to its removal.
type podWorker struct {
	r   *runner
	log *zap.Logger

	notify   chan struct{} // an update, a removal or a shutdown is waiting
	dirty    chan struct{} // the status needs writing
	stopping chan struct{} // closed when termination starts

	mu       sync.Mutex
	cur      *corev1.Pod // the latest object the informer saw
	removed  bool        // gone from the API
	stopped  bool        // the runner is shutting down
	state    podState
	ctrs     map[string]*ctr // by container name
	sandbox  *Sandbox
	volumes  *Volumes
	extraEnv []string
}

// podState is what the pod's status is built from.
type podState struct {
	ip           string
	startTime    time.Time
	sandboxReady bool
	initialized  bool
	initFailed   bool
	terminating  bool
	invalid      string // Validate's message while the pod cannot run
}

func newPodWorker(r *runner, pod *corev1.Pod) *podWorker {
	w := &podWorker{r: r, log: r.log.With(zap.String("pod", podKey(pod))),
		notify: make(chan struct{}, 1), dirty: make(chan struct{}, 1), stopping: make(chan struct{}),
		cur: pod, ctrs: map[string]*ctr{}}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		kind := initKind
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = sidecarKind
		}
		w.ctrs[c.Name] = newCtr(c, kind)
	}
	for i := range pod.Spec.Containers {
		w.ctrs[pod.Spec.Containers[i].Name] = newCtr(&pod.Spec.Containers[i], mainKind)
	}
	return w
}

// pod returns the latest object of the pod.
func (w *podWorker) pod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// update records a new object of the pod.
func (w *podWorker) update(pod *corev1.Pod) {
	w.mu.Lock()
	w.cur = pod
	w.mu.Unlock()
	signal(w.notify)
	// The status loop compares with the cached pod; a newer copy may show
	// that a write it skipped as unchanged is needed after all.
	w.markDirty()
}

// gone records that the pod was removed from the API.
func (w *podWorker) gone() {
	w.mu.Lock()
	w.removed = true
	w.mu.Unlock()
	signal(w.notify)
}

// shutdown asks the worker to stop the pod because the runner stops.
func (w *podWorker) shutdown() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	signal(w.notify)
}

// ending reports whether the pod must stop: deleted, removed or shut down.
func (w *podWorker) ending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.removed || w.stopped || w.cur.DeletionTimestamp != nil
}

// markDirty asks for the status to be written.
func (w *podWorker) markDirty() { signal(w.dirty) }

// signal wakes whoever reads ch without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits for d and reports false when the pod must stop meanwhile.
func (w *podWorker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for !w.ending() {
		select {
		case <-t.C:
			return !w.ending()
		case <-w.notify:
		}
	}
	return false
}

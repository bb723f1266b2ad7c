package podrunner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Restart back-off, as the kubelet's: 1 s doubling to a cap; a run that
// lasted backoffReset starts the next failure from the bottom again.
const (
	backoffFirst = time.Second
	backoffMax   = 10 * time.Second
	backoffReset = time.Minute
)

// minGrace is the least time a container gets between SIGTERM and SIGKILL,
// as with the kubelet, even for a pod deleted with grace period 0.
const minGrace = 2 * time.Second

// run takes the pod from validation to removal.
func (w *podWorker) run(ctx context.Context) {
	flush := w.startStatusLoop()
	if w.waitValid() && w.setUp(ctx) {
		go w.startContainers()
		w.watch()
	}
	deleting := w.terminate()
	flush(!deleting)
	if deleting {
		w.deleteFromAPI()
	}
	w.log.Info("pod removed")
}

// waitValid returns true once Validate accepts the pod, and false when the
// pod must stop first. An invalid pod is reported and waits for an update.
func (w *podWorker) waitValid() bool {
	reported := ""
	for !w.ending() {
		err := Validate(w.pod(), w.r.cfg.Images)
		if err == nil {
			w.setInvalid("")
			return true
		}
		if msg := err.Error(); msg != reported {
			reported = msg
			w.log.Warn("pod cannot run", zap.Error(err))
			w.r.events.Event(w.pod(), corev1.EventTypeWarning, reasonFailed, msg)
			w.setInvalid(msg)
		}
		<-w.notify
	}
	return false
}

func (w *podWorker) setInvalid(msg string) {
	w.mu.Lock()
	w.state.invalid = msg
	w.mu.Unlock()
	w.markDirty()
}

// setUp makes the pod's sandbox, retrying with back-off, and reports false
// when the pod must stop first.
func (w *podWorker) setUp(ctx context.Context) bool {
	backoff := backoffFirst
	for {
		err := w.createSandbox(ctx)
		if err == nil {
			return true
		}
		w.log.Warn("creating the pod sandbox failed", zap.Error(err))
		w.r.events.Event(w.pod(), corev1.EventTypeWarning, reasonFailedSandbox, err.Error())
		if !w.sleep(backoff) {
			return false
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// createSandbox allocates the pod IP and makes the sandbox with its volumes
// mounted.
func (w *podWorker) createSandbox(ctx context.Context) error {
	pod := w.pod()
	ip, err := w.r.ips.allocate(podKey(pod))
	if err != nil {
		return err
	}
	sb, vols, err := w.newSandbox(ctx, pod, ip)
	if err != nil {
		w.r.ips.release(ip)
		return err
	}
	env := w.r.serviceEnv(ctx)
	w.mu.Lock()
	w.sandbox, w.volumes, w.extraEnv = sb, vols, env
	w.state.ip, w.state.startTime, w.state.sandboxReady = ip, time.Now(), true
	w.mu.Unlock()
	w.markDirty() // NewSandbox logged the sandbox with its IP
	return nil
}

func (w *podWorker) newSandbox(ctx context.Context, pod *corev1.Pod, ip string) (*Sandbox, *Volumes, error) {
	dir := w.podDir()
	host := hostname(pod)
	sb, err := NewSandbox(ctx, SandboxConfig{Dir: dir, IP: ip, Gateway: w.r.cfg.NodeIP,
		HostIface: hostIface(pod), Hostname: host, ResolvConf: w.r.resolvConf(pod.Namespace),
		Hosts: HostsFile(ip, host, hostDomain(pod, w.r.cfg.ClusterDomain), pod.Spec.HostAliases)}, w.log)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	vols, err := PrepareVolumes(ctx, w.r.cfg.Client, pod, dir)
	if err == nil {
		err = mountVolumes(sb, vols, pod)
	}
	if err != nil {
		w.r.events.Event(pod, corev1.EventTypeWarning, reasonFailedMount, err.Error())
		if derr := sb.Destroy(); derr != nil {
			w.log.Warn("destroying the sandbox failed", zap.Error(derr))
		}
		return nil, nil, fmt.Errorf("volumes: %w", err)
	}
	return sb, vols, nil
}

// podDir is Dir/pods/<ns>_<name>_<uid>.
func (w *podWorker) podDir() string { return podDir(w.r.cfg.Dir, w.pod()) }

func podDir(dir string, pod *corev1.Pod) string {
	return filepath.Join(dir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// HostsPath is the node file that is the /etc/hosts of pod, for a pod
// runner whose Config.Dir is dir.
func HostsPath(dir string, pod *corev1.Pod) string {
	return filepath.Join(podDir(dir, pod), hostsName)
}

// hostIface names the host side of the pod's veth pair: "rb" and a hash of
// the pod UID, within the 15 characters Linux allows.
func hostIface(pod *corev1.Pod) string {
	sum := sha256.Sum256([]byte(pod.UID))
	return "rb" + hex.EncodeToString(sum[:6])
}

// hostname is the pod's hostname, as the kubelet picks it.
func hostname(pod *corev1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// resolvConf points the pod at the cluster DNS.
func (r *runner) resolvConf(namespace string) []byte {
	d := r.cfg.ClusterDomain
	return fmt.Appendf(nil, "search %s.svc.%s svc.%s %s\nnameserver %s\noptions ndots:5\n", namespace, d, d, d, r.cfg.DNSIP)
}

// mountVolumes mounts each volumeMount of the pod's containers once, at its
// path, read-only when every container mounting it there asks for that.
func mountVolumes(sb *Sandbox, vols *Volumes, pod *corev1.Pod) error {
	type mount struct {
		volume   string
		readOnly bool
	}
	mounts := map[string]*mount{}
	var order []string
	for _, c := range allContainers(pod) {
		for _, vm := range c.VolumeMounts {
			if m, ok := mounts[vm.MountPath]; ok {
				m.readOnly = m.readOnly && vm.ReadOnly
				continue
			}
			mounts[vm.MountPath] = &mount{volume: vm.Name, readOnly: vm.ReadOnly}
			order = append(order, vm.MountPath)
		}
	}
	for _, path := range order {
		m := mounts[path]
		if err := sb.Mount(vols.HostPath(m.volume), path, m.readOnly); err != nil {
			return fmt.Errorf("mounting volume %s at %s: %w", m.volume, path, err)
		}
	}
	return nil
}

// allContainers lists init containers, then containers.
func allContainers(pod *corev1.Pod) []*corev1.Container {
	var out []*corev1.Container
	for i := range pod.Spec.InitContainers {
		out = append(out, &pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		out = append(out, &pod.Spec.Containers[i])
	}
	return out
}

// serviceEnv is the KUBERNETES_SERVICE_* and KUBERNETES_PORT* variables of
// the default/kubernetes Service, or nothing when it cannot be read.
func (r *runner) serviceEnv(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	svc, err := r.cfg.Client.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || len(svc.Spec.Ports) == 0 {
		r.log.Warn("no KUBERNETES_SERVICE_* variables: the default/kubernetes Service is unreadable", zap.Error(err))
		return nil
	}
	ip, port := svc.Spec.ClusterIP, fmt.Sprint(svc.Spec.Ports[0].Port)
	url := "tcp://" + ip + ":" + port
	prefix := "KUBERNETES_PORT_" + port + "_TCP"
	return []string{"KUBERNETES_SERVICE_HOST=" + ip, "KUBERNETES_SERVICE_PORT=" + port,
		"KUBERNETES_SERVICE_PORT_HTTPS=" + port, "KUBERNETES_PORT=" + url, prefix + "=" + url,
		prefix + "_PROTO=tcp", prefix + "_PORT=" + port, prefix + "_ADDR=" + ip}
}

// startContainers starts the init containers in order, each regular one
// after the one before has succeeded and each sidecar once the one before
// has started, then the containers.
func (w *podWorker) startContainers() {
	pod := w.pod()
	for i := range pod.Spec.InitContainers {
		c := w.ctrs[pod.Spec.InitContainers[i].Name]
		if !w.launch(c) || !w.waitInit(c) {
			return
		}
	}
	w.mu.Lock()
	w.state.initialized = true
	w.mu.Unlock()
	w.markDirty()
	for i := range pod.Spec.Containers {
		if !w.launch(w.ctrs[pod.Spec.Containers[i].Name]) {
			return
		}
	}
}

// waitInit waits until init container c lets the next one start.
func (w *podWorker) waitInit(c *ctr) bool {
	if c.kind == sidecarKind {
		select {
		case <-c.startedCh:
			return true
		case <-w.stopping:
			return false
		}
	}
	select {
	case <-c.done:
	case <-w.stopping:
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !c.succeeded {
		w.state.initFailed = !w.state.terminating
		w.markDirty()
	}
	return c.succeeded
}

// launch starts c's supervisor unless the pod is terminating.
func (w *podWorker) launch(c *ctr) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state.terminating {
		return false
	}
	c.launched = true
	go w.supervise(c)
	return true
}

// watch follows the pod's updates until it must stop, refreshing downward
// API volumes when labels or annotations change.
func (w *podWorker) watch() {
	pod := w.pod()
	labels, annotations := pod.Labels, pod.Annotations
	// The volumes were written from the pod as it was when the sandbox was
	// made; an update since then must not wait for the next one. Refresh
	// rewrites nothing that is unchanged.
	if err := w.volumes.Refresh(pod); err != nil {
		w.log.Warn("updating downward API volumes failed", zap.Error(err))
	}
	for !w.ending() {
		<-w.notify
		pod = w.pod()
		if maps.Equal(labels, pod.Labels) && maps.Equal(annotations, pod.Annotations) {
			continue
		}
		labels, annotations = pod.Labels, pod.Annotations
		if err := w.volumes.Refresh(pod); err != nil {
			w.log.Warn("updating downward API volumes failed", zap.Error(err))
			continue
		}
		w.log.Info("downward API volumes updated")
	}
}

// terminate stops the containers (containers and regular init containers
// first, then sidecars in reverse order, all within the grace period),
// destroys the sandbox and frees the IP. It reports whether the pod is
// being deleted, as opposed to stopped by a shutdown or already removed.
func (w *podWorker) terminate() bool {
	pod := w.pod()
	w.mu.Lock()
	w.state.terminating = true
	close(w.stopping)
	deleting := !w.removed && !w.stopped && pod.DeletionTimestamp != nil
	grace := graceFor(pod, w.stopped)
	sb, ip := w.sandbox, w.state.ip
	w.mu.Unlock()
	w.markDirty()
	w.log.Info("pod terminating", zap.Duration("grace", grace), zap.Bool("deleting", deleting))
	deadline := time.Now().Add(grace)
	w.stopAll(w.launchedOf(initKind, mainKind), deadline)
	sidecars := w.launchedOf(sidecarKind)
	for i := len(sidecars) - 1; i >= 0; i-- {
		w.stopAll(sidecars[i:i+1], deadline)
	}
	if sb != nil {
		if err := sb.Destroy(); err != nil {
			w.log.Warn("destroying the sandbox failed", zap.Error(err))
		}
		w.r.ips.release(ip)
		w.mu.Lock()
		w.state.sandboxReady = false
		w.mu.Unlock()
	}
	return deleting
}

// graceFor is the pod's termination grace period; on shutdown it is
// bounded by shutdownBudget.
func graceFor(pod *corev1.Pod, shutdown bool) time.Duration {
	secs := int64(corev1.DefaultTerminationGracePeriodSeconds)
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		secs = *pod.DeletionGracePeriodSeconds
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		secs = *pod.Spec.TerminationGracePeriodSeconds
	}
	grace := max(time.Duration(secs)*time.Second, minGrace)
	if shutdown {
		grace = min(grace, shutdownBudget)
	}
	return grace
}

// launchedOf lists the launched containers of the given kinds, in spec order.
func (w *podWorker) launchedOf(kinds ...ctrKind) []*ctr {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*ctr
	for _, c := range allContainers(w.cur) {
		x := w.ctrs[c.Name]
		if x != nil && x.launched && slices.Contains(kinds, x.kind) {
			out = append(out, x)
		}
	}
	return out
}

// stopAll stops cs together: SIGTERM now, SIGKILL at the deadline (or after
// minGrace, when the deadline is nearer).
func (w *podWorker) stopAll(cs []*ctr, deadline time.Time) {
	deadline = later(deadline, time.Now().Add(minGrace))
	done := make(chan struct{}, len(cs))
	for _, c := range cs {
		go func() { w.stopCtr(c, deadline); done <- struct{}{} }()
	}
	for range cs {
		<-done
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stopCtr stops c's supervisor and its process.
func (w *podWorker) stopCtr(c *ctr, deadline time.Time) {
	w.mu.Lock()
	if !c.stopRequested {
		c.stopRequested = true
		close(c.stop)
	}
	proc := c.proc
	w.mu.Unlock()
	if proc != nil {
		w.r.events.Eventf(w.pod(), corev1.EventTypeNormal, reasonKilling, "Stopping container %s", c.spec.Name)
		killProcess(proc, c.preStopSleep(), time.Until(deadline))
	}
	select {
	case <-c.done:
	case <-time.After(time.Until(deadline) + backoffMax):
		w.log.Error("container supervisor did not stop", zap.String("container", c.spec.Name))
	}
}

// killProcess sleeps for the preStop hook, sends SIGTERM and, when the
// process outlives grace, SIGKILL.
func killProcess(p *Process, preStop, grace time.Duration) {
	t := time.NewTimer(min(preStop, grace))
	select {
	case <-p.Done():
		t.Stop()
		return
	case <-t.C:
	}
	_ = p.Signal(sigterm)
	t.Reset(max(grace-preStop, 0))
	defer t.Stop()
	select {
	case <-p.Done():
	case <-t.C:
		_ = p.Signal(sigkill)
		<-p.Done()
	}
}

// deleteFromAPI removes the pod now that it has stopped, with a UID
// precondition so that a new pod of the same name is left alone.
func (w *podWorker) deleteFromAPI() {
	pod := w.pod()
	zero := int64(0)
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: metav1.NewUIDPreconditions(string(pod.UID))}
	final := func(err error) bool { return apierrors.IsNotFound(err) || apierrors.IsConflict(err) }
	err := retry.OnError(apiBackoff, func(err error) bool { return !final(err) }, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		defer cancel()
		return w.r.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, opts)
	})
	if err != nil && !final(err) {
		w.log.Warn("deleting the stopped pod failed", zap.Error(err))
	}
}

// logDir is where the logs of container name live.
func (w *podWorker) logDir(name string) string { return filepath.Join(w.podDir(), "logs", name) }

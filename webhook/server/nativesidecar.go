package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Native sidecar modes, the values of --native-sidecar.
const (
	// NativeSidecarAuto: a native sidecar when every node's kubelet runs
	// them (1.29 and later); with no node reporting a kubelet version, when
	// the API server is 1.29 or later. Nodes are watched, so the decision
	// follows node upgrades and additions.
	NativeSidecarAuto = "auto"
	// NativeSidecarAlways: always a native sidecar.
	NativeSidecarAlways = "always"
	// NativeSidecarNever: always the fallback, a regular container.
	NativeSidecarNever = "never"
)

// NativeSidecarModes lists the values --native-sidecar accepts.
var NativeSidecarModes = []string{NativeSidecarAuto, NativeSidecarAlways, NativeSidecarNever}

// nodeVersions decides in NativeSidecarAuto mode. It holds the kubelet
// version of every node, kept current by a Node informer, and the API
// server's answer for a cluster where no node reports one.
type nodeVersions struct {
	log logr.Logger
	// server is whether the API server's version supports native sidecars.
	server bool

	mu       sync.Mutex
	kubelets map[string]string // node name -> status.nodeInfo.kubeletVersion
	decided  bool              // a decision has been logged
	lastErr  error             // the last list or watch error, until a sync

	native atomic.Bool
	synced atomic.Bool
}

func newNodeVersions(server bool, log logr.Logger) *nodeVersions {
	n := &nodeVersions{log: log, server: server, kubelets: map[string]string{}}
	n.native.Store(server)
	return n
}

// Native is the current decision. Until the nodes are listed it is the API
// server's.
func (n *nodeVersions) Native() bool { return n.native.Load() }

// set records one node's kubelet version, or forgets the node when
// version is empty or deleted is true, and decides again.
func (n *nodeVersions) set(name, version string, deleted bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if deleted || version == "" {
		delete(n.kubelets, name)
	} else {
		n.kubelets[name] = version
	}
	n.decideLocked()
}

// decideLocked recomputes the decision and logs one line when it changes
// (and for the first decision once the nodes are listed).
func (n *nodeVersions) decideLocked() {
	if !n.synced.Load() {
		return
	}
	d := decideNative(n.kubelets, n.server)
	was := n.native.Swap(d.native)
	if n.decided && was == d.native {
		return
	}
	n.decided = true
	kv := []any{"nativeSidecar", d.native, "reason", d.reason, "nodes", len(n.kubelets)}
	if len(d.older) > 0 {
		kv = append(kv, "olderNodes", d.older)
	}
	n.log.Info("native sidecar decision", kv...)
}

// nativeDecision is decideNative's answer: the decision, why, and up to
// five nodes whose kubelets run no native sidecars.
type nativeDecision struct {
	native bool
	reason string
	older  []string
}

// maxOlderNodes bounds the node names one log line lists.
const maxOlderNodes = 5

// nativeSidecarSince is the first Kubernetes release whose kubelet runs
// init containers with restartPolicy Always as sidecars.
var nativeSidecarSince = utilversion.MajorMinor(1, 29)

// decideNative decides from the kubelet versions of the nodes: native
// sidecars need every kubelet at 1.29 or later, and a version that cannot
// be read counts as older. Nodes that report no version are not counted
// (see set); when none is left, the API server's answer decides.
func decideNative(kubelets map[string]string, server bool) nativeDecision {
	if len(kubelets) == 0 {
		return nativeDecision{native: server, reason: "no node reports a kubelet version; decided by the API server version"}
	}
	var older []string
	for name, v := range kubelets {
		if !supportsNative(v) {
			older = append(older, name+"="+v)
		}
	}
	if len(older) == 0 {
		return nativeDecision{native: true, reason: fmt.Sprintf("every kubelet is %s or later", nativeSidecarSince)}
	}
	slices.Sort(older)
	n := len(older)
	if n > maxOlderNodes {
		older = older[:maxOlderNodes]
	}
	return nativeDecision{reason: fmt.Sprintf("%d of %d kubelets are older than %s", n, len(kubelets), nativeSidecarSince), older: older}
}

// supportsNative reports whether a Kubernetes version, such as a kubelet's
// v1.30.2, v1.29.4-eks-036c24b or v1.28.3+k3s1, runs native sidecars. A
// version that cannot be read does not.
func supportsNative(v string) bool {
	parsed, err := utilversion.ParseGeneric(v)
	return err == nil && parsed.AtLeast(nativeSidecarSince)
}

// watchErr records a failed list or watch, which the readiness check
// reports until the nodes are listed.
func (n *nodeVersions) watchErr(err error) {
	n.mu.Lock()
	n.lastErr = err
	n.mu.Unlock()
	n.log.Error(err, "listing or watching nodes failed; the webhook needs get, list and watch on nodes for --native-sidecar=auto")
}

// markSynced is called once every node has been seen; it makes the first
// decision from the nodes.
func (n *nodeVersions) markSynced() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.synced.Store(true)
	n.lastErr = nil
	n.decideLocked()
}

// ReadyCheck fails until the nodes have been listed once, so no replica
// answers with a decision the cluster's nodes have not confirmed.
func (n *nodeVersions) ReadyCheck(*http.Request) error {
	if n.synced.Load() {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.lastErr != nil {
		return fmt.Errorf("nodes not listed yet (--native-sidecar=auto): %w", n.lastErr)
	}
	return errors.New("nodes not listed yet (--native-sidecar=auto)")
}

// NeedLeaderElection: every replica decides for itself.
func (n *nodeVersions) NeedLeaderElection() bool { return false }

// nodeWatch runs a Node informer that keeps a nodeVersions current. It
// holds only each node's name and kubelet version.
type nodeWatch struct {
	versions *nodeVersions
	factory  informers.SharedInformerFactory
	handler  cache.ResourceEventHandlerRegistration
}

func newNodeWatch(cs kubernetes.Interface, versions *nodeVersions) (*nodeWatch, error) {
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTransform(slimNode))
	informer := factory.Core().V1().Nodes().Informer()
	if err := informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { versions.watchErr(err) }); err != nil {
		return nil, err
	}
	handler, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { versions.nodeEvent(obj, false) },
		UpdateFunc: func(_, obj any) { versions.nodeEvent(obj, false) },
		DeleteFunc: func(obj any) { versions.nodeEvent(obj, true) },
	})
	if err != nil {
		return nil, err
	}
	return &nodeWatch{versions: versions, factory: factory, handler: handler}, nil
}

// Start runs the informer until ctx ends (manager.Runnable).
func (w *nodeWatch) Start(ctx context.Context) error {
	w.factory.Start(ctx.Done())
	defer w.factory.Shutdown()
	// The handler's HasSynced, not the informer's: it turns true once the
	// handler has seen every node of the first list.
	if cache.WaitForCacheSync(ctx.Done(), w.handler.HasSynced) {
		w.versions.markSynced()
	}
	<-ctx.Done()
	return nil
}

// NeedLeaderElection: every replica watches.
func (w *nodeWatch) NeedLeaderElection() bool { return false }

func (n *nodeVersions) nodeEvent(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	node, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	n.set(node.Name, node.Status.NodeInfo.KubeletVersion, deleted)
}

// slimNode keeps what the decision reads, so the informer's cache does
// not hold every node's images, conditions and labels.
func slimNode(obj any) (any, error) {
	node, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Node{}
	slim.Name = node.Name
	slim.ResourceVersion = node.ResourceVersion
	slim.Status.NodeInfo.KubeletVersion = node.Status.NodeInfo.KubeletVersion
	return slim, nil
}

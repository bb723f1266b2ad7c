package webhook_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/test/procs"
	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// clusterDomain is the --cluster-domain the process runs with, so the test
// sees that the flag reaches the hostAliases.
const clusterDomain = "cluster.test"

// optIn is the built roundabout-webhook binary, called over TLS by the API
// server through deploy/'s MutatingWebhookConfiguration, and the
// namespaces the configuration is limited to.
type optIn struct {
	proc      *procs.Proc
	metrics   string // URL of /metrics
	plain     string // a namespace without the roundabout.dev/inject label
	labelled  string // a namespace labelled roundabout.dev/inject=enabled
	c         client.Client
	warnings  *warningRecorder // warnings the API server returned to c
	ownNS     string
	cfgName   string
	agentName string
}

// TestOptInThroughAPIServer runs the built webhook in cert-dir mode behind
// deploy/'s two webhook entries and checks, on pods the API server
// creates, what reaches the webhook and what it does:
//   - an annotated pod dials its Service's names, which hostAliases map to
//     a loopback address of the Service's own, where the agent listens;
//   - a labelled namespace admits an un-annotated pod unchanged, and the
//     warning naming roundabout.dev/upstream reaches the client;
//   - an un-annotated pod in an unlabelled namespace never reaches the
//     webhook (its decision count and log do not move);
//   - a pod whose roundabout.dev/inject value is misspelt does reach it,
//     and is denied with a message naming the annotation and the value;
//   - an agent in a pod with automountServiceAccountToken: false gets a
//     token of its own, and the app still has none;
//   - a Guaranteed pod is still Guaranteed, as the API server computes it;
//   - with --native-sidecar=auto, the agent's placement follows the
//     kubelet versions of the nodes.
func TestOptInThroughAPIServer(t *testing.T) {
	needControlPlane(t)
	o := startOptIn(t)
	t.Run("AnnotatedPodGetsHostAliases", o.checkHostAliases)
	t.Run("LabelledNamespaceWarnsUnannotatedPod", o.checkNamespaceWarning)
	t.Run("UnannotatedPodNeverReachesWebhook", o.checkNotCalled)
	t.Run("MisspeltInjectValueIsDenied", o.checkMisspeltDenied)
	t.Run("AgentTokenWithoutAutomount", o.checkOwnToken)
	t.Run("GuaranteedPodStaysGuaranteed", o.checkGuaranteed)
	t.Run("NativeSidecarFollowsNodes", o.checkNativeFollowsNodes)
}

func startOptIn(t *testing.T) *optIn {
	t.Helper()
	o := &optIn{
		ownNS: unique("roundabout-optin-system"), plain: unique("optin-plain"), labelled: unique("optin-labelled"),
		cfgName: unique("roundabout-webhook-optin"), agentName: "ghcr.io/roundabout-dev/roundabout-agent:optin",
	}
	o.c, o.warnings = warningClient(t)
	createNamespaces(t, o.c, o.ownNS, o.plain)
	labelled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.labelled,
		Labels: map[string]string{annotations.Inject: annotations.InjectEnabled}}}
	if err := o.c.Create(ctx(t), labelled); err != nil {
		t.Fatalf("create namespace %s: %v", o.labelled, err)
	}
	dir, caPEM := writeServingFiles(t)
	port := freePort(t)
	createDeployWebhookConfig(t, o.cfgName, port, caPEM, o.ownNS, o.plain, o.labelled)
	health := "127.0.0.1:" + strconv.Itoa(freePort(t))
	metrics := "127.0.0.1:" + strconv.Itoa(freePort(t))
	o.metrics = "http://" + metrics + "/metrics"
	env := []string{"KUBECONFIG=" + adminKubeconfig(t), "POD_NAMESPACE=" + o.ownNS}
	o.proc = procs.Start(t, "roundabout-webhook", env,
		"--agent-image="+o.agentName, "--host=127.0.0.1", "--port="+strconv.Itoa(port),
		"--health-addr="+health, "--metrics-addr="+metrics,
		"--tls-mode=cert-dir", "--cert-dir="+dir,
		"--cluster-domain="+clusterDomain, "--native-sidecar=auto", "--shutdown-timeout=5s")
	eventually(t, "/readyz answering 200", func() error {
		select {
		case <-o.proc.Exited:
			t.Fatalf("roundabout-webhook exited: %v\n%s", o.proc.Err, o.proc.Out.String())
		default:
		}
		return get200("http://" + health + "/readyz")
	})
	return o
}

// warningRecorder keeps the warnings the API server sends a client.
type warningRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

// since returns the warnings recorded after the first n.
func (w *warningRecorder) since(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.seen[n:])
}

func (w *warningRecorder) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// warningClient is a client whose warnings are recorded, as kubectl
// would print them.
func warningClient(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	w := &warningRecorder{}
	cfg := rest.CopyConfig(config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c, w
}

// appPod is a pod in ns with one app container that dials greetserver by
// its Service's name, annotated with ann.
func appPod(ns string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: unique("greetclient"), Namespace: ns, Annotations: ann},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "gateway", Image: "ghcr.io/roundabout-dev/greet-gateway:test",
			Env: []corev1.EnvVar{{Name: "GRPC_SERVER_HOST", Value: "greetserver." + ns + ".svc." + clusterDomain}},
		}}},
	}
}

func injectAnnotations(upstream string) map[string]string {
	return map[string]string{annotations.Inject: annotations.InjectEnabled, annotations.Upstream: upstream}
}

// createInjected creates pod, and again under a new name until the API
// server has picked up the configuration and the pod is stored with the
// agent (with failurePolicy Ignore, earlier pods are created as they are).
func (o *optIn) createInjected(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	var stored *corev1.Pod
	eventually(t, "pod stored with the agent", func() error {
		p := pod.DeepCopy()
		p.Name = unique(pod.Name)
		if err := o.c.Create(ctx(t), p); err != nil {
			return err
		}
		if p.Annotations[annotations.Status] != annotations.StatusInjected {
			return fmt.Errorf("pod %s stored without the agent", p.Name)
		}
		stored = p
		return nil
	})
	return stored
}

func agentOf(p *corev1.Pod) (*corev1.Container, bool) {
	for i := range p.Spec.InitContainers {
		if p.Spec.InitContainers[i].Name == inject.AgentContainerName {
			return &p.Spec.InitContainers[i], true
		}
	}
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == inject.AgentContainerName {
			return &p.Spec.Containers[i], false
		}
	}
	return nil, false
}

func (o *optIn) checkHostAliases(t *testing.T) {
	pod := o.createInjected(t, appPod(o.plain, injectAnnotations("greetserver:50051")))
	if len(pod.Spec.HostAliases) != 1 {
		t.Fatalf("hostAliases %+v; want one entry, for greetserver", pod.Spec.HostAliases)
	}
	alias := pod.Spec.HostAliases[0]
	ip, err := netip.ParseAddr(alias.IP)
	if err != nil || !ip.IsLoopback() || !ip.Is4() || ip == netip.MustParseAddr("127.0.0.1") {
		t.Errorf("hostAliases IP %q; want an IPv4 loopback address other than 127.0.0.1", alias.IP)
	}
	wantNames := []string{
		"greetserver." + o.plain + ".svc." + clusterDomain, "greetserver." + o.plain + ".svc",
		"greetserver." + o.plain, "greetserver",
	}
	for _, n := range wantNames {
		if !slices.Contains(alias.Hostnames, n) {
			t.Errorf("hostAliases names %v lack %s", alias.Hostnames, n)
		}
	}
	agent, _ := agentOf(pod)
	if agent == nil {
		t.Fatal("no agent container")
	}
	if !hasArg(agent.Args, "--listen="+alias.IP+":50051") {
		t.Errorf("agent args %v do not listen on %s:50051, where the hosts entry sends greetserver", agent.Args, alias.IP)
	}
	if env := pod.Spec.Containers[0].Env; len(env) != 1 || env[0].Value != "greetserver."+o.plain+".svc."+clusterDomain {
		t.Errorf("the app's environment changed: %+v", env)
	}
}

func (o *optIn) checkNamespaceWarning(t *testing.T) {
	before := o.decisions(t)
	seen := o.warnings.count()
	pod := appPod(o.labelled, nil)
	if err := o.c.Create(ctx(t), pod); err != nil {
		t.Fatalf("an un-annotated pod in a labelled namespace was refused: %v; want it admitted", err)
	}
	if _, ok := agentOf(pod); ok || len(pod.Spec.HostAliases) != 0 || pod.Annotations[annotations.Status] != "" {
		t.Errorf("pod stored changed: containers %v, init %v, hostAliases %v", names(pod.Spec.Containers), names(pod.Spec.InitContainers), pod.Spec.HostAliases)
	}
	if got := o.decisions(t) - before; got != 1 {
		t.Errorf("%v decisions for the pod; want 1: every pod of a labelled namespace reaches the webhook", got)
	}
	warnings := o.warnings.since(seen)
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, annotations.Upstream) }) {
		t.Errorf("the client got warnings %q; want one naming %s", warnings, annotations.Upstream)
	}
}

// checkNotCalled creates pods the webhook must never see, then one it
// must: the API server calls webhooks before it answers a create, so
// exactly one more decision means the first ones were never sent.
func (o *optIn) checkNotCalled(t *testing.T) {
	before := o.decisions(t)
	unseen := []*corev1.Pod{
		appPod(o.plain, nil),
		appPod(o.plain, map[string]string{annotations.Upstream: "greetserver:50051", "example.com/other": "x"}),
		appPod(o.plain, map[string]string{annotations.Inject: annotations.InjectDisabled}),
	}
	for _, p := range unseen {
		if err := o.c.Create(ctx(t), p); err != nil {
			t.Fatalf("create %s: %v", p.Name, err)
		}
		if _, ok := agentOf(p); ok {
			t.Errorf("pod %s with annotations %v got the agent", p.Name, p.Annotations)
		}
	}
	seen := appPod(o.plain, injectAnnotations("greetserver:50051"))
	if err := o.c.Create(ctx(t), seen); err != nil {
		t.Fatal(err)
	}
	if got := o.decisions(t) - before; got != 1 {
		t.Errorf("%v decisions for %d pods not opted in and one annotated; want 1", got, len(unseen))
	}
	log := o.proc.Out.String()
	for _, p := range unseen {
		if strings.Contains(log, `"pod":"`+p.Name+`"`) {
			t.Errorf("the webhook logged a decision on %s, which never asked for the agent", p.Name)
		}
	}
	if !strings.Contains(log, `"pod":"`+seen.Name+`"`) {
		t.Errorf("no decision logged for the annotated pod %s", seen.Name)
	}
}

// checkMisspeltDenied creates, once the configuration is in effect, a pod
// asking for injection with "enable": matchConditions let every value but
// disabled through, so the webhook denies it by name instead of the pod
// being created without the agent in silence.
func (o *optIn) checkMisspeltDenied(t *testing.T) {
	o.createInjected(t, appPod(o.plain, injectAnnotations("greetserver:50051")))
	ann := injectAnnotations("greetserver:50051")
	ann[annotations.Inject] = "enable"
	err := o.c.Create(ctx(t), appPod(o.plain, ann))
	if err == nil {
		t.Fatalf("a pod with %s=enable was created; want a denial naming the value", annotations.Inject)
	}
	if msg := err.Error(); !strings.Contains(msg, annotations.Inject) || !strings.Contains(msg, `"enable"`) {
		t.Fatalf("denial %q does not name %s and its value \"enable\"", msg, annotations.Inject)
	}
}

func (o *optIn) checkOwnToken(t *testing.T) {
	p := appPod(o.plain, injectAnnotations("greetserver:50051"))
	p.Spec.AutomountServiceAccountToken = ptr.To(false)
	// A cluster's ServiceAccount admission plugin sets serviceAccountName
	// before webhooks run, and the API server accepts a projected token
	// only for a named account; this API server runs without the plugin.
	p.Spec.ServiceAccountName = "default"
	pod := o.createInjected(t, p)
	agent, _ := agentOf(pod)
	if agent == nil {
		t.Fatal("no agent container")
	}
	const tokenDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	var volume string
	for _, m := range agent.VolumeMounts {
		if m.MountPath == tokenDir {
			volume = m.Name
		}
	}
	if volume == "" {
		t.Fatalf("the agent mounts nothing at %s: %+v", tokenDir, agent.VolumeMounts)
	}
	var projected *corev1.ProjectedVolumeSource
	for _, v := range pod.Spec.Volumes {
		if v.Name == volume {
			projected = v.Projected
		}
	}
	if projected == nil || !slices.ContainsFunc(projected.Sources, func(s corev1.VolumeProjection) bool { return s.ServiceAccountToken != nil }) {
		t.Errorf("volume %s is not a projected service-account token: %+v", volume, projected)
	}
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.Name == volume || m.MountPath == tokenDir {
			t.Errorf("the app, which asked for no token, mounts %s at %s", m.Name, m.MountPath)
		}
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Error("the pod's automountServiceAccountToken: false was changed")
	}
}

func (o *optIn) checkGuaranteed(t *testing.T) {
	p := appPod(o.plain, injectAnnotations("greetserver:50051"))
	both := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")}
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: both, Limits: both.DeepCopy()}
	pod := o.createInjected(t, p)
	if pod.Status.QOSClass != corev1.PodQOSGuaranteed {
		agent, _ := agentOf(pod)
		t.Errorf("the API server stored the injected pod as %s, want Guaranteed; agent resources %+v", pod.Status.QOSClass, agent.Resources)
	}
}

// checkNativeFollowsNodes registers a node whose kubelet is 1.28: the
// agent becomes a regular container; once the node is gone, a native
// sidecar again (no node reports a kubelet version, so the API server's
// 1.29+ decides).
func (o *optIn) checkNativeFollowsNodes(t *testing.T) {
	if _, native := agentOf(o.createInjected(t, appPod(o.plain, injectAnnotations("greetserver:50051")))); !native {
		t.Fatal("with no node, the agent is not a native sidecar; the API server is 1.29+")
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: unique("kubelet-1-28")}}
	if err := o.c.Create(ctx(t), node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(newClient(t).Delete(ctx(t), node)) })
	node.Status.NodeInfo.KubeletVersion = "v1.28.9"
	if err := o.c.Status().Update(ctx(t), node); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent a regular container while a 1.28 kubelet runs", func() error {
		pod := o.createInjected(t, appPod(o.plain, injectAnnotations("greetserver:50051")))
		if _, native := agentOf(pod); native {
			return errors.New("still a native sidecar")
		}
		if pod.Spec.Containers[0].Name != inject.AgentContainerName {
			return fmt.Errorf("containers %v: the agent is not placed first", names(pod.Spec.Containers))
		}
		return nil
	})
	if err := o.c.Delete(ctx(t), node); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a native sidecar again once the 1.28 node is gone", func() error {
		if _, native := agentOf(o.createInjected(t, appPod(o.plain, injectAnnotations("greetserver:50051")))); !native {
			return errors.New("still a regular container")
		}
		return nil
	})
	if n := strings.Count(o.proc.Out.String(), `"native sidecar decision"`); n != 3 {
		t.Errorf("%d native sidecar decision lines; want 3 (first, 1.28 node joined, node gone)", n)
	}
}

// decisions sums roundabout_webhook_injections_total over every result and
// reason: the pods the webhook has decided on.
func (o *optIn) decisions(t *testing.T) float64 {
	t.Helper()
	body, err := getBody(o.metrics)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "roundabout_webhook_injections_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

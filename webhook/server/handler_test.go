package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/inject"
)

func newTestHandler(t testing.TB) *Handler {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	nsEnabled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: "labelled", Labels: map[string]string{annotations.Inject: annotations.InjectEnabled},
	}}
	nsDefault := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        "labelled-default",
		Labels:      map[string]string{annotations.Inject: annotations.InjectEnabled},
		Annotations: map[string]string{annotations.Upstream: "greetserver:50051"},
	}}
	return &Handler{
		Namespaces: fake.NewClientBuilder().WithObjects(nsEnabled, nsDefault).Build(),
		Config:     inject.Config{AgentImage: "ghcr.io/roundabout-dev/roundabout-agent:test", NativeSidecar: true, OwnNamespace: "roundabout-system"},
		Metrics:    m,
		Log:        logr.Discard(),
	}
}

func testPod(ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "greetclient-", Annotations: ann},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1"}}},
	}
}

func podRequest(t testing.TB, namespace string, pod *corev1.Pod) admission.Request {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:       "uid-1",
		Operation: admissionv1.Create,
		Resource:  podResource,
		Namespace: namespace,
		Object:    runtime.RawExtension{Raw: raw},
	}}
}

func enabled(upstream string, extra ...string) map[string]string {
	a := map[string]string{annotations.Inject: annotations.InjectEnabled, annotations.Upstream: upstream}
	for i := 0; i+1 < len(extra); i += 2 {
		a[extra[i]] = extra[i+1]
	}
	return a
}

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name       string
		namespace  string
		pod        *corev1.Pod
		allowed    bool
		patched    bool
		result     string
		reason     string
		messageHas string
	}{
		{"annotated", "demo", testPod(enabled("greetserver:50051")), true, true, ResultInjected, "injected", ""},
		{"namespace label", "labelled", testPod(map[string]string{annotations.Upstream: "greetserver:50051"}), true, true, ResultInjected, "injected", ""},
		{"namespace label, upstream from its annotation", "labelled-default", testPod(nil), true, true, ResultInjected, "injected", ""},
		{"namespace label, no upstream", "labelled", testPod(nil), true, false, ResultSkipped, "no-upstream", ""},
		{"not annotated", "demo", testPod(nil), true, false, ResultSkipped, "not-annotated", ""},
		{"missing namespace object", "gone", testPod(map[string]string{annotations.Upstream: "a:1"}), true, false, ResultSkipped, "not-annotated", ""},
		{"kube-system", "kube-system", testPod(enabled("greetserver:50051")), true, false, ResultSkipped, "system-namespace", ""},
		{"own namespace", "roundabout-system", testPod(enabled("greetserver:50051")), true, false, ResultSkipped, "own-namespace", ""},
		{"bad strategy", "demo", testPod(enabled("greetserver:50051", annotations.Strategy, "fastest")), false, false, ResultDenied, "invalid-annotation", `roundabout.dev/strategy="fastest"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t)
			resp := h.Handle(context.Background(), podRequest(t, tc.namespace, tc.pod))
			if resp.Allowed != tc.allowed || (len(resp.Patches) > 0) != tc.patched {
				t.Fatalf("allowed=%v with %d patches (result %+v); want allowed=%v patched=%v", resp.Allowed, len(resp.Patches), resp.Result, tc.allowed, tc.patched)
			}
			if tc.messageHas != "" && !strings.Contains(resp.Result.Message, tc.messageHas) {
				t.Errorf("message %q lacks %q", resp.Result.Message, tc.messageHas)
			}
			if got := testutil.ToFloat64(h.Metrics.injections.WithLabelValues(tc.result, tc.reason)); got != 1 {
				t.Errorf("injections_total{result=%q,reason=%q} = %v, want 1", tc.result, tc.reason, got)
			}
		})
	}
}

func TestHandlerIgnoresOtherOperations(t *testing.T) {
	h := newTestHandler(t)
	req := podRequest(t, "demo", testPod(enabled("greetserver:50051")))
	req.Operation = admissionv1.Update
	if resp := h.Handle(context.Background(), req); !resp.Allowed || len(resp.Patches) != 0 {
		t.Errorf("update: allowed=%v, %d patches; want allowed and untouched", resp.Allowed, len(resp.Patches))
	}
}

func TestHandlerBadObject(t *testing.T) {
	h := newTestHandler(t)
	req := podRequest(t, "demo", testPod(nil))
	req.Object.Raw = []byte(`{"metadata": 7}`)
	resp := h.Handle(context.Background(), req)
	if resp.Allowed || resp.Result.Code != http.StatusBadRequest {
		t.Errorf("unreadable pod: allowed=%v code=%d; want a 400 error", resp.Allowed, resp.Result.Code)
	}
	if got := testutil.ToFloat64(h.Metrics.injections.WithLabelValues(ResultError, ReasonBadRequest)); got != 1 {
		t.Errorf("error count = %v, want 1", got)
	}
}

func TestNewMetricsTwiceSharesTheCounter(t *testing.T) {
	reg := prometheus.NewRegistry()
	first, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("second NewMetrics on one registry: %v", err)
	}
	second.observe(ResultInjected, "injected")
	if got := testutil.ToFloat64(first.injections.WithLabelValues(ResultInjected, "injected")); got != 1 {
		t.Errorf("first sees %v injections, want the second's 1", got)
	}
}

// TestHandlerWarnings checks that inject's warnings reach the admission
// response, whatever the answer, and the decision's log line.
func TestHandlerWarnings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		namespace string
		pod       *corev1.Pod
		allowed   bool
		want      string
	}{
		{"admitted unchanged", "labelled", testPod(nil), true, annotations.Upstream},
		{"injected", "demo", testPod(enabled("greetserver:50051", "roundabout.dev/stratgey", "random")), true, "roundabout.dev/stratgey"},
		{"denied", "demo", testPod(enabled("greetserver:50051", annotations.Strategy, "fastest", "roundabout.dev/stratgey", "random")), false, "roundabout.dev/stratgey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestHandler(t)
			var logged []string
			h.Log = funcr.New(func(_, args string) {
				if strings.Contains(args, `"admission decision"`) {
					logged = append(logged, args)
				}
			}, funcr.Options{})
			resp := h.Handle(context.Background(), podRequest(t, tc.namespace, tc.pod))
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed=%v, want %v (result %+v)", resp.Allowed, tc.allowed, resp.Result)
			}
			if len(resp.Warnings) == 0 || !strings.Contains(strings.Join(resp.Warnings, "\n"), tc.want) {
				t.Errorf("response warnings %q lack %q", resp.Warnings, tc.want)
			}
			if len(logged) != 1 || !strings.Contains(logged[0], `"warnings"`) || !strings.Contains(logged[0], tc.want) {
				t.Errorf("decision log %q lacks the warnings", logged)
			}
		})
	}
}

// TestHandlerNativeSidecarFollowsTheDecision checks that each pod gets the
// placement decided when it is admitted, not when the handler was built.
func TestHandlerNativeSidecarFollowsTheDecision(t *testing.T) {
	h := newTestHandler(t)
	native := true
	h.NativeSidecar = func() bool { return native }
	for _, want := range []bool{true, false, true} {
		native = want
		resp := h.Handle(context.Background(), podRequest(t, "demo", testPod(enabled("greetserver:50051"))))
		initAgent := false
		for _, p := range resp.Patches {
			if p.Path == "/spec/initContainers" {
				initAgent = true
			}
		}
		if !resp.Allowed || initAgent != want {
			t.Errorf("native sidecar decided %v: allowed=%v, agent among init containers %v", want, resp.Allowed, initAgent)
		}
	}
}

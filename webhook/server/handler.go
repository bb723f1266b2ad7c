// Package server is the roundabout-webhook server: the admission handler
// that applies webhook/inject to every pod created, and the
// controller-runtime manager that serves it over TLS with /metrics,
// /healthz and /readyz.
package server

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// Reasons the handler reports on its own, beside inject's.
const (
	// ReasonBadRequest: the AdmissionReview does not hold a readable pod.
	ReasonBadRequest = "bad-request"
	// ReasonNotPodCreate: the request is not a pod creation; it is allowed
	// untouched (the webhook configuration should not send these).
	ReasonNotPodCreate = "not-pod-create"
)

// Handler decides on each pod creation.
type Handler struct {
	// Namespaces reads the pod's namespace for its labels.
	Namespaces client.Reader
	Config     inject.Config
	// NativeSidecar, when set, decides Config.NativeSidecar for each pod
	// (it follows the nodes' kubelet versions); nil keeps Config's.
	NativeSidecar func() bool
	Metrics       *Metrics
	Log           logr.Logger
}

var podResource = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create || req.Resource != podResource || req.SubResource != "" {
		return admission.Allowed(ReasonNotPodCreate)
	}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		h.decided(req, pod, ResultError, ReasonBadRequest, nil, err)
		return admission.Errored(http.StatusBadRequest, err)
	}
	cfg := h.Config
	if h.NativeSidecar != nil {
		cfg.NativeSidecar = h.NativeSidecar()
	}
	out, report, err := inject.Pod(pod, h.namespace(ctx, req.Namespace), cfg)
	return h.respond(req, pod, out, report, err)
}

// respond turns a decision into the admission response, logging and
// counting it. The report's warnings go with any answer: the API server
// hands them to the client that created the pod (kubectl prints them).
func (h *Handler) respond(req admission.Request, in, out *corev1.Pod, report inject.Report, err error) admission.Response {
	reason := string(report.Reason)
	warnings := report.Warnings
	if err != nil {
		h.decided(req, in, ResultDenied, reason, warnings, err)
		return admission.Denied(err.Error()).WithWarnings(warnings...)
	}
	if !report.Injected {
		h.decided(req, in, ResultSkipped, reason, warnings, nil)
		return admission.Allowed(reason).WithWarnings(warnings...)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		h.decided(req, in, ResultError, "marshal", warnings, err)
		return admission.Errored(http.StatusInternalServerError, err).WithWarnings(warnings...)
	}
	h.decided(req, in, ResultInjected, reason, warnings, nil)
	return admission.PatchResponseFromRaw(req.Object.Raw, raw).WithWarnings(warnings...)
}

// namespace reads the namespace's labels (whether it asks for injection)
// and annotations (a default upstream). When that fails the decision goes
// on with neither, so only the pod's own annotations can ask for the
// agent: a lookup failure must not block pod creation.
func (h *Handler) namespace(ctx context.Context, name string) inject.Namespace {
	ns := &corev1.Namespace{}
	if err := h.Namespaces.Get(ctx, types.NamespacedName{Name: name}, ns); err != nil {
		h.Log.Error(err, "reading the namespace failed; deciding on the pod's annotations alone", "namespace", name)
		return inject.Namespace{Name: name}
	}
	return inject.Namespace{Name: name, Labels: ns.Labels, Annotations: ns.Annotations}
}

// decided writes the one log line and the metric of a decision, with the
// warnings the response carries.
func (h *Handler) decided(req admission.Request, pod *corev1.Pod, result, reason string, warnings []string, err error) {
	h.Metrics.observe(result, reason)
	kv := []any{"namespace", req.Namespace, "pod", podName(req, pod), "uid", req.UID, "result", result, "reason", reason}
	if len(warnings) > 0 {
		kv = append(kv, "warnings", warnings)
	}
	if err != nil {
		kv = append(kv, "error", err.Error())
	}
	h.Log.Info("admission decision", kv...)
}

// podName is the pod's name, or its generateName prefix before the API
// server has chosen one.
func podName(req admission.Request, pod *corev1.Pod) string {
	switch {
	case req.Name != "":
		return req.Name
	case pod.Name != "":
		return pod.Name
	}
	return pod.GenerateName
}

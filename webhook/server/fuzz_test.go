package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// FuzzAdmissionReview sends arbitrary bodies through the HTTP admission
// handler, with panic recovery off so that a panic fails the fuzz run. A
// well-formed review must come back as an AdmissionReview answering its UID.
func FuzzAdmissionReview(f *testing.F) {
	for _, ann := range []map[string]string{
		enabled("greetserver:50051"),
		enabled("a.b:1=2,c:3=127.0.0.2:4", annotations.Strategy, "ring-hash", annotations.HashHeader, "x-user"),
		enabled("a:1,a:1", annotations.AgentMemoryLimit, "1Ki", annotations.AgentCPURequest, "0"),
	} {
		f.Add(reviewBody(f, ann), "demo")
	}
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x"}}`), "demo")
	f.Add([]byte(`not json`), "kube-system")
	h := newTestHandler(f)
	srv := &webhook.Admission{Handler: h}
	f.Fuzz(func(t *testing.T, body []byte, _ string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		srv.ServeHTTP(rec, req)
		checkReviewAnswer(t, body, rec)
	})
}

// FuzzAnnotations feeds arbitrary annotation values through the handler.
func FuzzAnnotations(f *testing.F) {
	f.Add("greetserver:50051", "round-robin", "x-user", "info", "10m", "64Mi")
	f.Add("a:1=127.0.0.9:65535, b.c:2", "ring-hash", "", "debug", "1", "1")
	f.Add("=,:", "", "\x00", "", "-1", "1e400")
	h := newTestHandler(f)
	f.Fuzz(func(t *testing.T, upstream, strategy, hashHeader, logLevel, cpu, mem string) {
		pod := testPod(enabled(upstream, annotations.Strategy, strategy, annotations.HashHeader, hashHeader,
			annotations.LogLevel, logLevel, annotations.AgentCPURequest, cpu, annotations.AgentMemoryLimit, mem))
		resp := h.Handle(t.Context(), podRequest(t, "demo", pod))
		if resp.Allowed == (resp.Result != nil && resp.Result.Code >= 400) {
			t.Fatalf("allowed=%v with result %+v", resp.Allowed, resp.Result)
		}
	})
}

func reviewBody(t testing.TB, ann map[string]string) []byte {
	t.Helper()
	req := podRequest(t, "demo", testPod(ann))
	review := admissionv1.AdmissionReview{Request: &req.AdmissionRequest}
	review.APIVersion, review.Kind = "admission.k8s.io/v1", "AdmissionReview"
	b, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkReviewAnswer: every answer is a JSON AdmissionReview; when the body
// was a review with a UID, the answer carries the same UID.
func checkReviewAnswer(t *testing.T, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer is not an AdmissionReview (%v): %s", err, rec.Body.Bytes())
	}
	var in admissionv1.AdmissionReview
	if json.Unmarshal(body, &in) == nil && in.Request != nil && in.Request.UID != "" && rec.Code == http.StatusOK &&
		out.Response.Allowed && out.Response.UID != in.Request.UID {
		t.Errorf("answer UID %q, want %q", out.Response.UID, in.Request.UID)
	}
}

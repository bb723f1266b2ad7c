package webhook_test

import (
	"os"
	"reflect"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/server"
)

// The two entries of deploy/base/mutating-webhook.yaml.
const (
	namespaceEntry = "namespace.inject.roundabout.dev"
	podEntry       = "pod.inject.roundabout.dev"
)

// readDeployWebhookConfig decodes deploy/base/mutating-webhook.yaml,
// strictly.
func readDeployWebhookConfig(t *testing.T) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	data, err := os.ReadFile(deployDir + "/base/mutating-webhook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(data, cfg); err != nil {
		t.Fatalf("mutating-webhook.yaml: %v", err)
	}
	return cfg
}

// TestWebhookConfigurationPolicy pins what makes the webhook safe for the
// cluster: both entries fail open, quickly, have no side effects, skip the
// system namespaces and the webhook's own, and call the one path the
// server serves; one takes every pod of a labelled namespace, the other
// only annotated pods elsewhere. What the API server sends where is
// checked on a real one in TestOptInThroughAPIServer.
func TestWebhookConfigurationPolicy(t *testing.T) {
	cfg := readDeployWebhookConfig(t)
	var got []string
	for _, w := range cfg.Webhooks {
		got = append(got, w.Name)
	}
	if !slices.Equal(got, []string{namespaceEntry, podEntry}) {
		t.Fatalf("webhooks %v, want [%s %s]", got, namespaceEntry, podEntry)
	}
	for _, w := range cfg.Webhooks {
		t.Run(w.Name, func(t *testing.T) {
			check := func(ok bool, what string, got any) {
				t.Helper()
				if !ok {
					t.Errorf("%s: got %v", what, got)
				}
			}
			check(w.FailurePolicy != nil && *w.FailurePolicy == admissionregistrationv1.Ignore, "failurePolicy must be Ignore", w.FailurePolicy)
			check(w.TimeoutSeconds != nil && *w.TimeoutSeconds == 5, "timeoutSeconds must be 5", w.TimeoutSeconds)
			check(w.SideEffects != nil && *w.SideEffects == admissionregistrationv1.SideEffectClassNone, "sideEffects must be None", w.SideEffects)
			check(w.ClientConfig.Service != nil && w.ClientConfig.Service.Path != nil && *w.ClientConfig.Service.Path == server.WebhookPath,
				"clientConfig.service.path must be "+server.WebhookPath, w.ClientConfig.Service)
			check(reflect.DeepEqual(w.ClientConfig, cfg.Webhooks[0].ClientConfig), "both entries must call the same service", w.ClientConfig)
			check(len(w.ClientConfig.CABundle) == 0, "caBundle must be left to the webhook", len(w.ClientConfig.CABundle))
			skipped := selectorValues(w, "kubernetes.io/metadata.name", metav1.LabelSelectorOpNotIn)
			for _, ns := range []string{"kube-system", "kube-public", "kube-node-lease", "roundabout-system"} {
				check(slices.Contains(skipped, ns), "namespaceSelector must skip "+ns, skipped)
			}
		})
	}
	ns, pod := cfg.Webhooks[0], cfg.Webhooks[1]
	if v := selectorValues(ns, annotations.Inject, metav1.LabelSelectorOpIn); !slices.Equal(v, []string{annotations.InjectEnabled}) {
		t.Errorf("%s: namespaceSelector %s In %v, want [enabled]", namespaceEntry, annotations.Inject, v)
	}
	if len(ns.MatchConditions) != 0 {
		t.Errorf("%s has matchConditions %v; every pod of a labelled namespace must reach the webhook", namespaceEntry, ns.MatchConditions)
	}
	v := selectorValues(pod, annotations.Inject, metav1.LabelSelectorOpNotIn)
	if !slices.Contains(v, annotations.InjectEnabled) || !slices.Contains(v, annotations.InjectDisabled) {
		t.Errorf("%s: namespaceSelector %s NotIn %v, want enabled and disabled", podEntry, annotations.Inject, v)
	}
	if len(pod.MatchConditions) != 1 {
		t.Errorf("%s: %d matchConditions, want the one on the pod's annotation", podEntry, len(pod.MatchConditions))
	}
}

// selectorValues returns the values of the namespaceSelector expression on
// key with operator op.
func selectorValues(w admissionregistrationv1.MutatingWebhook, key string, op metav1.LabelSelectorOperator) []string {
	if w.NamespaceSelector == nil {
		return nil
	}
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == key && e.Operator == op {
			return e.Values
		}
	}
	return nil
}

package webhook_test

import (
	"os"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/roundabout-dev/roundabout/webhook/server"
)

// TestWebhookConfigurationPolicy pins what makes the webhook safe for the
// cluster: it fails open, quickly, has no side effects, skips the system
// namespaces and its own, and points at the path the server serves.
func TestWebhookConfigurationPolicy(t *testing.T) {
	data, err := os.ReadFile(deployDir + "/base/mutating-webhook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatalf("mutating-webhook.yaml: %v", err)
	}
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("%d webhooks, want 1", len(cfg.Webhooks))
	}
	w := cfg.Webhooks[0]
	check := func(ok bool, what string, got any) {
		if !ok {
			t.Errorf("%s: got %v", what, got)
		}
	}
	check(w.FailurePolicy != nil && *w.FailurePolicy == admissionregistrationv1.Ignore, "failurePolicy must be Ignore", w.FailurePolicy)
	check(w.TimeoutSeconds != nil && *w.TimeoutSeconds == 5, "timeoutSeconds must be 5", w.TimeoutSeconds)
	check(w.SideEffects != nil && *w.SideEffects == admissionregistrationv1.SideEffectClassNone, "sideEffects must be None", w.SideEffects)
	check(w.ClientConfig.Service != nil && w.ClientConfig.Service.Path != nil && *w.ClientConfig.Service.Path == server.WebhookPath,
		"clientConfig.service.path must be "+server.WebhookPath, w.ClientConfig.Service)
	check(len(w.ClientConfig.CABundle) == 0, "caBundle must be left to the webhook", len(w.ClientConfig.CABundle))
	skipped := namespacesSkipped(w)
	for _, ns := range []string{"kube-system", "kube-public", "kube-node-lease", "roundabout-system"} {
		check(slices.Contains(skipped, ns), "namespaceSelector must skip "+ns, skipped)
	}
}

func namespacesSkipped(w admissionregistrationv1.MutatingWebhook) []string {
	if w.NamespaceSelector == nil {
		return nil
	}
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == "NotIn" {
			return e.Values
		}
	}
	return nil
}

package webhook_test

import (
	"slices"
	"strconv"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roundabout-dev/roundabout/webhook/server"
)

// deployOwnNamespace is the webhook's namespace in deploy/.
const deployOwnNamespace = "roundabout-system"

// createDeployWebhookConfig registers deploy/base/mutating-webhook.yaml
// under name, changed only where these tests must differ: the API server
// reaches the webhook by URL on loopback port, with caBundle (nil leaves it
// to the webhook), the webhook's namespace is ownNamespace, and every
// entry also requires one of the namespaces in scope, so that pods other
// tests create never reach it. The configuration is deleted when t ends.
func createDeployWebhookConfig(t *testing.T, name string, port int, caBundle []byte, ownNamespace string, scope ...string) {
	t.Helper()
	cfg := readDeployWebhookConfig(t)
	cfg.Name = name
	url := "https://127.0.0.1:" + strconv.Itoa(port) + server.WebhookPath
	for i := range cfg.Webhooks {
		w := &cfg.Webhooks[i]
		w.ClientConfig.Service = nil
		w.ClientConfig.URL = &url
		w.ClientConfig.CABundle = caBundle
		exprs := w.NamespaceSelector.MatchExpressions
		for j := range exprs {
			if exprs[j].Key == "kubernetes.io/metadata.name" {
				exprs[j].Values = replaced(exprs[j].Values, deployOwnNamespace, ownNamespace)
			}
		}
		w.NamespaceSelector.MatchExpressions = append(exprs, metav1.LabelSelectorRequirement{
			Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: scope,
		})
	}
	if err := newClient(t).Create(ctx(t), cfg); err != nil {
		t.Fatalf("create MutatingWebhookConfiguration %s: %v", name, err)
	}
	deleteWebhookConfigAtCleanup(t, name)
}

func replaced(values []string, old, new string) []string {
	out := slices.Clone(values)
	for i := range out {
		if out[i] == old {
			out[i] = new
		}
	}
	return out
}

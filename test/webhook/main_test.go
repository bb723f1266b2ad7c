// Package webhook_test runs roundabout-webhook against a real
// kube-apiserver (envtest) that calls it over TLS, with the certificates the
// webhook makes for itself, and checks the deploy/ manifests with
// server-side dry-run.
//
// The tests need KUBEBUILDER_ASSETS; `. hack/controlplane/env.sh` sets it.
package webhook_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// kube is the control plane every test shares, and config its admin
// connection; nil when the assets are missing.
var (
	kube   *controlplane.Cluster
	config *rest.Config
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	assets := controlplane.Assets()
	if assets == "" {
		return m.Run()
	}
	if err := procs.Build("roundabout-webhook"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(procs.Dir)
	var err error
	if kube, err = controlplane.Start(assets); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	config = kube.Config
	code := m.Run()
	if err := kube.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
	}
	return code
}

func needControlPlane(t *testing.T) {
	t.Helper()
	if kube == nil {
		t.Skip(controlplane.SkipMessage)
	}
}

// suffixes counts the names unique has made.
var suffixes atomic.Int64

// unique returns base with a suffix no other call in the process gets.
// Every test run shares one API server (go test -count=N runs each test N
// times), and a deleted namespace stays Terminating for good, as no
// namespace controller runs: each run names its objects afresh.
func unique(base string) string {
	return fmt.Sprintf("%s-%d", base, suffixes.Add(1))
}

// deleteWebhookConfigAtCleanup deletes the MutatingWebhookConfiguration
// name when t ends, so that the API server no longer calls a webhook that
// has stopped while later tests create pods.
func deleteWebhookConfigAtCleanup(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		cfg := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := newClient(t).Delete(c, cfg); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete MutatingWebhookConfiguration %s: %v", name, err)
		}
	})
}

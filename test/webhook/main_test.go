// Package webhook_test runs roundabout-webhook against a real
// kube-apiserver (envtest) that calls it over TLS, with the certificates the
// webhook makes for itself, and checks the deploy/ manifests with
// server-side dry-run.
//
// The tests need KUBEBUILDER_ASSETS; `. hack/controlplane/env.sh` sets it.
package webhook_test

import (
	"fmt"
	"os"
	"testing"

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

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
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/roundabout-dev/roundabout/test/procs"
)

const skipMessage = "KUBEBUILDER_ASSETS is not set: run `. hack/controlplane/env.sh` to build the control plane and set it"

// A shared machine may start the API server slowly.
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
)

// env is the control plane every test shares; nil when the assets are
// missing.
var (
	env    *envtest.Environment
	config *rest.Config
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return m.Run()
	}
	if err := procs.Build("roundabout-webhook"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(procs.Dir)
	env = &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  stopTimeout,
	}
	var err error
	if config, err = env.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "start etcd and kube-apiserver from %s: %v\n", assets, err)
		return 1
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
	}
	return code
}

func needControlPlane(t *testing.T) {
	t.Helper()
	if env == nil {
		t.Skip(skipMessage)
	}
}

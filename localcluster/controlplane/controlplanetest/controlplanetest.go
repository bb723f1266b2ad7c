// Package controlplanetest starts the local control plane for one test, as
// net/http/httptest starts a server: it skips the test when the control
// plane's binaries are not built, and stops the control plane when the
// test ends.
package controlplanetest

import (
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
)

// Start starts etcd and kube-apiserver for t and stops them at its end; t
// is skipped when KUBEBUILDER_ASSETS names no control plane.
func Start(t testing.TB) *controlplane.Cluster {
	t.Helper()
	if controlplane.Assets() == "" {
		t.Skip(controlplane.SkipMessage)
	}
	c, err := controlplane.Start(controlplane.Assets())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// StartWithKubeconfig is Start, and returns an admin client and the path of
// an admin kubeconfig, in t's temporary directory, for the processes the
// test starts.
func StartWithKubeconfig(t testing.TB) (kubernetes.Interface, string) {
	t.Helper()
	c := Start(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := c.WriteAdminKubeconfig("agent", kubeconfig); err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(c.Config), kubeconfig
}

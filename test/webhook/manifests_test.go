package webhook_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

const deployDir = "../../deploy"

// TestManifestsServerSideDryRun renders every kustomization under deploy/
// with kubectl's built-in kustomize and applies it with
// --dry-run=server --validate=strict, so the API server checks every
// object, field by field, without storing it. The namespaces the
// manifests use are created first: a dry-run Namespace is not stored, so
// objects inside it would otherwise be rejected.
//
// deploy/cert-manager needs cert-manager's CRDs, which are not installed
// here; the test installs stand-ins for Certificate and Issuer whose
// schemas hold only the fields deploy/ uses (installCertManagerStandIns),
// so a misspelt field fails there too.
func TestManifestsServerSideDryRun(t *testing.T) {
	needControlPlane(t)
	kubectl := kubectlPath(t)
	kubeconfig := adminKubeconfig(t)
	installCertManagerStandIns(t)
	for _, dir := range []string{".", "cert-manager", "examples/greet"} {
		t.Run(dir, func(t *testing.T) {
			rendered := run(t, nil, kubectl, "kustomize", filepath.Join(deployDir, dir))
			objs := decode(t, rendered)
			createNamespacesOf(t, objs)
			out := run(t, rendered, kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "--validate=strict", "-f", "-")
			checkAllApplied(t, objs, out)
		})
	}
}

func kubectlPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no kubectl in KUBEBUILDER_ASSETS (%v): run `. hack/controlplane/env.sh`, which builds it", err)
	}
	return p
}

func adminKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := kube.WriteAdminKubeconfig("manifests-admin", path); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func decode(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

func createNamespacesOf(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	c := newClient(t)
	for _, o := range objs {
		if o.GetKind() != "Namespace" {
			continue
		}
		err := c.Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.GetName()}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create namespace %s: %v", o.GetName(), err)
		}
	}
}

// checkAllApplied checks that kubectl reports every object as applied in
// dry-run, so none was skipped.
func checkAllApplied(t *testing.T, objs []*unstructured.Unstructured, out []byte) {
	t.Helper()
	text := string(out)
	for _, o := range objs {
		want := strings.ToLower(o.GetKind())
		if g := o.GroupVersionKind().Group; g != "" {
			want += "." + g
		}
		want += "/" + o.GetName() + " "
		if !strings.Contains(text, want) {
			t.Errorf("kubectl output does not mention %s:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "(server dry run)"); n != len(objs) {
		t.Errorf("%d objects dry-run, want %d:\n%s", n, len(objs), text)
	}
}

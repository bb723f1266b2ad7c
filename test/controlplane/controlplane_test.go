// Package controlplane_test checks that the binaries hack/controlplane/build.sh
// puts in its cache run a working API server under envtest: etcd and
// kube-apiserver start, the server reports the pinned Kubernetes version, and
// objects can be written and read back.
//
// The test needs KUBEBUILDER_ASSETS; `. hack/controlplane/env.sh` sets it.
package controlplane_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/zapr"
	"go.uber.org/zap/zaptest"
	"golang.org/x/mod/modfile"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// kubernetesToolsModule pins the Kubernetes version build.sh compiles.
const kubernetesToolsModule = "../../hack/controlplane/tools/kubernetes/go.mod"

// A shared machine may start the API server slowly; envtest's 20s default is
// too tight there.
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
	callTimeout  = 30 * time.Second
)

func TestControlPlane(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Skip("KUBEBUILDER_ASSETS is not set: run `. hack/controlplane/env.sh` to build the control plane and set it")
	}
	want := pinnedKubernetesVersion(t)
	cfg := startEnv(t, assets)

	t.Run("ServerVersion", func(t *testing.T) { checkServerVersion(t, cfg, want) })
	t.Run("NamespaceAndService", func(t *testing.T) { checkNamespaceAndService(t, cfg) })
}

// pinnedKubernetesVersion reads the k8s.io/kubernetes version from the tools
// module, so the expectation follows the build when the pin moves.
func pinnedKubernetesVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(kubernetesToolsModule)
	if err != nil {
		t.Fatalf("read tools module: %v", err)
	}
	f, err := modfile.ParseLax(kubernetesToolsModule, data, nil)
	if err != nil {
		t.Fatalf("parse %s: %v", kubernetesToolsModule, err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			return r.Mod.Version
		}
	}
	t.Fatalf("%s does not require k8s.io/kubernetes", kubernetesToolsModule)
	return ""
}

// startEnv starts etcd and kube-apiserver from assets and stops them when
// the test ends.
func startEnv(t *testing.T, assets string) *rest.Config {
	t.Helper()
	ctrllog.SetLogger(zapr.NewLogger(zaptest.NewLogger(t)))
	env := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  stopTimeout,
	}
	began := time.Now()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start etcd and kube-apiserver from %s: %v", assets, err)
	}
	t.Logf("control plane from %s started in %s", filepath.Clean(assets), time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	return cfg
}

func checkServerVersion(t *testing.T, cfg *rest.Config, want string) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	info, err := dc.ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if info.GitVersion != want {
		t.Errorf("server gitVersion = %q, want %q (is the binary linked with the version ldflags?)", info.GitVersion, want)
	}
}

// checkNamespaceAndService writes a Namespace and a Service and reads the
// Service back with the cluster IP the API server allocated to it.
func checkNamespaceAndService(t *testing.T, cfg *rest.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "controlplane-test"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	svc := greetService(ns.Name)
	if err := c.Create(ctx, svc); err != nil {
		t.Fatalf("create service: %v", err)
	}
	got := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatalf("get service: %v", err)
	}
	if got.Spec.ClusterIP == "" || got.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Errorf("service cluster IP = %q, want an allocated address", got.Spec.ClusterIP)
	}
	if len(got.Spec.Ports) != 1 || got.Spec.Ports[0].Port != 50051 {
		t.Errorf("service ports = %+v, want one port 50051", got.Spec.Ports)
	}
}

func greetService(namespace string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "greet-server", Namespace: namespace},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "greet-server"},
			Ports: []corev1.ServicePort{{
				Name:       "grpc",
				Port:       50051,
				TargetPort: intstr.FromInt32(50051),
				Protocol:   corev1.ProtocolTCP,
			}},
		},
	}
}

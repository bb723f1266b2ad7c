// Package cluster starts the real etcd and kube-apiserver that the
// project's tests talk to, from the binaries hack/controlplane builds
// (KUBEBUILDER_ASSETS), through controller-runtime's envtest; and, with
// StartStack, the rest of a control plane pods need: the controller
// manager, kube-proxy and CoreDNS.
package controlplane

import (
	"fmt"
	"os"
	"time"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// SkipMessage says why a test that needs the control plane was skipped.
const SkipMessage = "KUBEBUILDER_ASSETS is not set: run `. hack/controlplane/env.sh` to build the control plane and set it"

// A shared machine may start the API server slowly; envtest's 20s default is
// too tight there.
const (
	startTimeout = 2 * time.Minute
	stopTimeout  = time.Minute
)

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	Env     *envtest.Environment
	Config  *rest.Config
	certDir string // removed by Stop; empty when the caller owns it
}

// Assets returns KUBEBUILDER_ASSETS, or "" when it is unset.
func Assets() string { return os.Getenv("KUBEBUILDER_ASSETS") }

// Start starts the control plane from the binaries in assets. The API
// server's certificates live in a directory of their own, so that a
// restarted API server serves the same CA and existing clients still trust
// it; and open watches end within 2 s of a stop, which otherwise waits a
// minute for them.
func Start(assets string) (*Cluster, error) {
	certDir, err := os.MkdirTemp("", "roundabout-apiserver-")
	if err != nil {
		return nil, err
	}
	env := newEnv(assets, certDir, stopTimeout)
	c, err := start(env)
	if err != nil {
		os.RemoveAll(certDir)
		return nil, err
	}
	c.certDir = certDir
	return c, nil
}

// newEnv configures etcd and an API server whose certificates live in
// certDir and whose open watches end within 2 s of a stop.
func newEnv(assets, certDir string, stop time.Duration) *envtest.Environment {
	env := &envtest.Environment{BinaryAssetsDirectory: assets,
		ControlPlaneStartTimeout: startTimeout, ControlPlaneStopTimeout: stop}
	env.ControlPlane.APIServer = &envtest.APIServer{CertDir: certDir}
	env.ControlPlane.APIServer.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	return env
}

// start starts env with envtest's own logging silenced.
func start(env *envtest.Environment) (*Cluster, error) {
	ctrllog.SetLogger(zapr.NewLogger(zap.NewNop()))
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start etcd and kube-apiserver from %s: %w", env.BinaryAssetsDirectory, err)
	}
	return &Cluster{Env: env, Config: cfg}, nil
}

// Stop stops the control plane and removes the certificates Start made.
func (c *Cluster) Stop() error {
	if c.certDir != "" {
		defer os.RemoveAll(c.certDir)
	}
	return c.Env.Stop()
}

// WriteAdminKubeconfig writes to path a kubeconfig of a system:masters
// user named name, for kubectl and for the project's binaries.
func (c *Cluster) WriteAdminKubeconfig(name, path string) error {
	user, err := c.Env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add admin user %s: %w", name, err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig of admin user %s: %w", name, err)
	}
	return os.WriteFile(path, data, 0o600)
}

package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// startAPIServer starts etcd and kube-apiserver through envtest, with a
// serving certificate that pods reach through the kubernetes Service and
// the node address, and writes the admin kubeconfig and the CA.
func (s *Stack) startAPIServer(_ context.Context, o StackOptions) error {
	certDir := filepath.Join(o.Dir, "pki")
	ca, err := s.writeCerts(certDir, o)
	if err != nil {
		return err
	}
	env := newEnv(o.Assets, certDir, stopGrace)
	if err := s.attachLogs(env); err != nil {
		return err
	}
	api := env.ControlPlane.APIServer
	api.SecureServing.CA = ca
	configureAPIServer(api.Configure(), o.NodeIP)
	s.register("etcd", 0, env.ControlPlane.Etcd.Stop)
	s.register("kube-apiserver", 0, api.Stop)
	if s.Cluster, err = start(env); err != nil {
		return errors.Join(err, s.logTail("etcd"), s.logTail("kube-apiserver"))
	}
	s.log.Info("component started", zap.String("component", "etcd"), zap.Stringer("address", env.ControlPlane.Etcd.URL),
		zap.String("log", s.logPath("etcd")))
	s.log.Info("component started", zap.String("component", "kube-apiserver"),
		zap.Stringer("address", api.SecureServing.URL("https", "/")), zap.String("log", s.logPath("kube-apiserver")))
	return s.writeKubeconfig(filepath.Join(o.Dir, "kubeconfig"))
}

// writeCerts writes the API server's certificates into certDir and its CA
// to <o.Dir>/ca.crt, which becomes CAFile.
func (s *Stack) writeCerts(certDir string, o StackOptions) ([]byte, error) {
	ca, err := writePKI(certDir, apiServerHosts(o.NodeIP))
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver: certificates in %s: %w", certDir, err)
	}
	s.CAFile = filepath.Join(o.Dir, caCertFile)
	if err := os.WriteFile(s.CAFile, ca, 0o644); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	return ca, nil
}

// apiServerHosts are the names and addresses clients reach the API server
// by: loopback, the node, the kubernetes Service's ClusterIP and DNS names.
func apiServerHosts(nodeIP string) []string {
	return []string{"localhost", "127.0.0.1", nodeIP, apiServiceIP, "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc." + clusterDomain}
}

// configureAPIServer sets the flags envtest leaves at test defaults: serve
// on every address, advertise the node's, admit pods with their service
// account token, and reach kubelets by the node's InternalIP.
func configureAPIServer(args *envtest.Arguments, nodeIP string) {
	args.Set("bind-address", "0.0.0.0")
	args.Set("advertise-address", nodeIP)
	args.Set("service-cluster-ip-range", serviceCIDR)
	args.Disable("disable-admission-plugins") // envtest turns off ServiceAccount
	args.Set("kubelet-preferred-address-types", "InternalIP")
}

// attachLogs sends etcd's and kube-apiserver's output to their log files.
func (s *Stack) attachLogs(env *envtest.Environment) error {
	etcdLog, err := s.createLog("etcd")
	if err != nil {
		return err
	}
	apiLog, err := s.createLog("kube-apiserver")
	if err != nil {
		etcdLog.Close()
		return err
	}
	env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog}
	env.ControlPlane.APIServer.Out, env.ControlPlane.APIServer.Err = apiLog, apiLog
	s.files = append(s.files, etcdLog, apiLog)
	return nil
}

func (s *Stack) logPath(component string) string { return filepath.Join(s.logDir, component+".log") }

// logTail quotes the end of a component's log, for an error.
func (s *Stack) logTail(component string) error {
	path := s.logPath(component)
	return fmt.Errorf("last lines of %s:\n%s", path, tail(path, tailLines))
}

// createLog truncates and opens a component's log file.
func (s *Stack) createLog(component string) (*os.File, error) {
	f, err := os.Create(s.logPath(component))
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", component, err)
	}
	return f, nil
}

// writeKubeconfig writes a kubeconfig of a system:masters user to path.
func (s *Stack) writeKubeconfig(path string) error {
	user, err := s.Env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("admin user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("admin kubeconfig: %w", err)
	}
	s.Kubeconfig = path
	return os.WriteFile(path, data, 0o600)
}

package controlplane

import (
	"context"
	"fmt"
	"path/filepath"
)

// startKubeProxy runs kube-proxy in iptables mode for node o.NodeName and
// waits for its healthz port to answer, not for its rules.
func (s *Stack) startKubeProxy(ctx context.Context, o StackOptions) error {
	healthz, err := freeAddr()
	if err != nil {
		return fmt.Errorf("kube-proxy: healthz port: %w", err)
	}
	metrics, err := freeAddr()
	if err != nil {
		return fmt.Errorf("kube-proxy: metrics port: %w", err)
	}
	args := []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--hostname-override=" + o.NodeName,
		"--proxy-mode=iptables",
		"--conntrack-max-per-core=0", // leave the host's conntrack table size alone
		"--cluster-cidr=" + clusterCIDR,
		"--healthz-bind-address=" + healthz,
		"--metrics-bind-address=" + metrics,
	}
	return s.runProcess(ctx, "kube-proxy", filepath.Join(o.Assets, "kube-proxy"), args, healthz,
		answers("http://"+healthz+"/healthz"))
}

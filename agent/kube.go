package main

import (
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/roundabout-dev/roundabout/agent/config"
	kubediscovery "github.com/roundabout-dev/roundabout/agent/discovery/kubernetes"
)

// podNamespace is the agent's own namespace, from the downward API.
func podNamespace() string { return os.Getenv("POD_NAMESPACE") }

// kubernetesSources watches each upstream's Service through one client.
// Every upstream is parsed before anything connects, so a bad one fails
// the start with its flag named.
func kubernetesSources(cfg *config.Config, log *zap.Logger) (sourceFunc, error) {
	ups := map[string]kubediscovery.Upstream{}
	var errs []error
	for _, u := range cfg.Upstreams {
		up, err := kubediscovery.ParseUpstream(u.Name, podNamespace())
		if err != nil {
			errs = append(errs, fmt.Errorf("--upstream=%q: %w", u.Name, err))
		}
		ups[u.Name] = up
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rc, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	slices, err := kubediscovery.RESTSlices(rc)
	if err != nil {
		return nil, err
	}
	return func(name string) (source, error) {
		up := ups[name]
		return source{Source: kubediscovery.New(slices, up, log), label: up.String(),
			service: up.Service, namespace: up.Namespace}, nil
	}, nil
}

// restConfig connects with --kubeconfig, or with the pod's service account.
func restConfig(kubeconfig string) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery needs --kubeconfig or an in-cluster service account: %w", err)
	}
	rc.UserAgent = "roundabout-agent"
	return rc, nil
}

package inject

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Config is the webhook's side of a decision. Pods never choose any of it.
type Config struct {
	// AgentImage is the agent container's image. Required.
	AgentImage string
	// ImagePullPolicy of the agent container; empty leaves the cluster
	// default.
	ImagePullPolicy corev1.PullPolicy
	// NativeSidecar adds the agent as an init container with
	// restartPolicy Always (Kubernetes 1.29 and later on the pod's node).
	// Otherwise it is a regular container placed first. It is the
	// cluster's default: a pod's annotations.NativeSidecar overrides it.
	NativeSidecar bool
	// OwnNamespace is the webhook's namespace; pods there are never
	// injected.
	OwnNamespace string
	// AdminPort is the agent's admin port on the pod IP (/readyz, /healthz
	// and /metrics), annotations.DefaultAdminPort when zero.
	AdminPort int32
	// ClusterDomain is the cluster's DNS domain, the suffix of
	// svc.namespace.svc.<domain> in the hostAliases the webhook adds;
	// annotations.DefaultClusterDomain when empty.
	ClusterDomain string
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if strings.TrimSpace(c.AgentImage) == "" {
		return errors.New("agent image is empty: the webhook needs the agent's image reference")
	}
	if c.AdminPort < 0 || c.AdminPort > 65535 {
		return fmt.Errorf("agent admin port %d is out of range 1-65535", c.AdminPort)
	}
	if c.ClusterDomain != "" {
		if errs := validation.IsDNS1123Subdomain(c.ClusterDomain); len(errs) > 0 {
			return fmt.Errorf("cluster domain %q is not a DNS subdomain: %s", c.ClusterDomain, errs[0])
		}
	}
	return nil
}

func (c Config) clusterDomain() string {
	if c.ClusterDomain == "" {
		return annotations.DefaultClusterDomain
	}
	return c.ClusterDomain
}

// nativeSidecar is the pod's choice when it makes one (the NativeSidecar
// annotation, already validated), else the cluster's.
func (c Config) nativeSidecar(a map[string]string) bool {
	if v, ok := a[annotations.NativeSidecar]; ok && annotations.ValidNativeSidecar(v) == nil {
		return v == annotations.NativeSidecarTrue
	}
	return c.NativeSidecar
}

func (c Config) adminPort() int32 {
	if c.AdminPort == 0 {
		return annotations.DefaultAdminPort
	}
	return c.AdminPort
}

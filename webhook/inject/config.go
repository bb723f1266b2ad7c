package inject

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
	// restartPolicy Always (Kubernetes 1.29 and later). Otherwise it is a
	// regular container placed first. See NativeSidecarSupported.
	NativeSidecar bool
	// OwnNamespace is the webhook's namespace; pods there are never
	// injected.
	OwnNamespace string
	// AdminPort is the agent's admin port on the pod IP (/readyz, /healthz
	// and /metrics), annotations.DefaultAdminPort when zero.
	AdminPort int32
}

// Validate reports the first problem with c, naming the field.
func (c Config) Validate() error {
	if strings.TrimSpace(c.AgentImage) == "" {
		return errors.New("agent image is empty: the webhook needs the agent's image reference")
	}
	if c.AdminPort < 0 || c.AdminPort > 65535 {
		return fmt.Errorf("agent admin port %d is out of range 1-65535", c.AdminPort)
	}
	return nil
}

func (c Config) adminPort() int32 {
	if c.AdminPort == 0 {
		return annotations.DefaultAdminPort
	}
	return c.AdminPort
}

// NativeSidecarSupported reports whether a server of the given major and
// minor version (as in version.Info, where the minor may carry a "+"
// suffix) runs init containers with restartPolicy Always as sidecars: 1.29
// and later.
func NativeSidecarSupported(major, minor string) bool {
	maj, err := strconv.Atoi(major)
	if err != nil {
		return false
	}
	min, err := strconv.Atoi(strings.TrimRight(minor, "+"))
	if err != nil {
		return false
	}
	return maj > 1 || (maj == 1 && min >= 29)
}

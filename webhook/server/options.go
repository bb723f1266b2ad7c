package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// TLS modes.
const (
	// TLSSelfSigned: the webhook makes and renews its own CA and serving
	// certificate and patches caBundle (webhook/certs).
	TLSSelfSigned = "self-signed"
	// TLSCertDir: tls.crt and tls.key are files in CertDir, kept current by
	// someone else (cert-manager), and reloaded when they change.
	TLSCertDir = "cert-dir"
)

// WebhookPath is the URL path pods are admitted on.
const WebhookPath = "/mutate-pods"

// Options configure the webhook server.
type Options struct {
	// Inject is the injection's configuration: the agent's image and pull
	// policy (--agent-image, --agent-image-pull-policy) and the cluster
	// domain (--cluster-domain). Run sets NativeSidecar and OwnNamespace.
	Inject inject.Config
	// Namespace is the webhook's own namespace (POD_NAMESPACE): where the
	// certificate Secret lives, and never injected.
	Namespace string
	// ServiceName is the webhook's Service; the serving certificate is
	// issued for its in-cluster names.
	ServiceName string
	// ExtraHosts are further certificate names or IP addresses.
	ExtraHosts []string
	// SecretName holds the certificates in TLSSelfSigned mode.
	SecretName string
	// WebhookConfigName is the MutatingWebhookConfiguration to patch.
	WebhookConfigName string
	// TLSMode is TLSSelfSigned or TLSCertDir; CertDir is used by the latter.
	TLSMode string
	CertDir string
	// CertCheckInterval between certificate checks in TLSSelfSigned mode.
	CertCheckInterval time.Duration
	// Host and Port the webhook listens on; MetricsAddr and HealthAddr the
	// metrics and probe servers ("0" disables metrics).
	Host        string
	Port        int
	MetricsAddr string
	HealthAddr  string
	// NativeSidecar is NativeSidecarAuto, NativeSidecarAlways or
	// NativeSidecarNever (--native-sidecar); empty means auto.
	NativeSidecar string
	// ShutdownTimeout bounds how long requests in flight may take on stop.
	ShutdownTimeout time.Duration
}

// Validate reports every problem, naming the option.
func (o Options) Validate() error {
	var errs []error
	add := func(cond bool, format string, args ...any) {
		if cond {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	add(o.Inject.AgentImage == "", "--agent-image is required: the agent's image reference")
	add(o.Namespace == "", "POD_NAMESPACE is empty: set it from the downward API (metadata.namespace)")
	add(o.ServiceName == "", "--service-name is empty: the webhook's Service name")
	add(o.Port < 1 || o.Port > 65535, "--port=%d: want 1-65535", o.Port)
	add(o.TLSMode != TLSSelfSigned && o.TLSMode != TLSCertDir, "--tls-mode=%q: allowed: %s, %s", o.TLSMode, TLSSelfSigned, TLSCertDir)
	add(o.TLSMode == TLSSelfSigned && o.SecretName == "", "--cert-secret is empty: needed with --tls-mode=%s", TLSSelfSigned)
	add(o.TLSMode == TLSSelfSigned && o.WebhookConfigName == "", "--webhook-config is empty: needed with --tls-mode=%s", TLSSelfSigned)
	add(o.TLSMode == TLSCertDir && o.CertDir == "", "--cert-dir is empty: needed with --tls-mode=%s", TLSCertDir)
	if d := o.Inject.ClusterDomain; d != "" {
		bad := validation.IsDNS1123Subdomain(d)
		add(len(bad) > 0, "--cluster-domain=%q: not a DNS domain: %s", d, strings.Join(bad, "; "))
	}
	add(o.NativeSidecar != "" && !slices.Contains(NativeSidecarModes, o.NativeSidecar),
		"--native-sidecar=%q: allowed: %s", o.NativeSidecar, strings.Join(NativeSidecarModes, ", "))
	return errors.Join(errs...)
}

// hosts are the serving certificate's names.
func (o Options) hosts() []string {
	svc, ns := o.ServiceName, o.Namespace
	domain := o.Inject.ClusterDomain
	if domain == "" {
		domain = annotations.DefaultClusterDomain
	}
	return append([]string{
		svc + "." + ns + ".svc",
		svc + "." + ns + ".svc." + domain,
		svc + "." + ns,
		svc,
	}, o.ExtraHosts...)
}

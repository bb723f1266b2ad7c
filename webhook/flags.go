package main

import (
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/server"
)

// parseFlags reads the command line and POD_NAMESPACE into server options
// and a log level.
func parseFlags(args []string, getenv func(string) string) (server.Options, string, error) {
	var o server.Options
	var pullPolicy, level string
	fs := flag.NewFlagSet("roundabout-webhook", flag.ContinueOnError)
	fs.StringVar(&o.Inject.AgentImage, "agent-image", "", "image of the injected agent (required); pods cannot choose it")
	fs.StringVar(&pullPolicy, "agent-image-pull-policy", "", "imagePullPolicy of the agent: Always, IfNotPresent or Never (default: the cluster's)")
	fs.StringVar(&o.Host, "host", "", "address the webhook listens on (default: all)")
	fs.IntVar(&o.Port, "port", 9443, "port the webhook listens on")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":8080", `address of /metrics ("0" disables it)`)
	fs.StringVar(&o.HealthAddr, "health-addr", ":8081", "address of /healthz and /readyz")
	fs.StringVar(&o.ServiceName, "service-name", "roundabout-webhook", "the webhook's Service, named in the serving certificate")
	fs.StringVar(&o.WebhookConfigName, "webhook-config", "roundabout-webhook", "MutatingWebhookConfiguration to patch the caBundle into")
	fs.StringVar(&o.SecretName, "cert-secret", "roundabout-webhook-certs", "Secret holding the self-signed CA and serving certificate")
	fs.StringVar(&o.TLSMode, "tls-mode", server.TLSSelfSigned, "self-signed: make and renew certificates; cert-dir: read tls.crt/tls.key from --cert-dir")
	fs.StringVar(&o.CertDir, "cert-dir", "/etc/roundabout-webhook/tls", "directory of tls.crt and tls.key with --tls-mode=cert-dir")
	fs.DurationVar(&o.CertCheckInterval, "cert-check-interval", 5*time.Minute, "how often certificates and the caBundle are checked")
	fs.StringVar(&o.Inject.ClusterDomain, "cluster-domain", annotations.DefaultClusterDomain,
		"the cluster's DNS domain: an upstream's hostAliases include svc.namespace.svc.<domain>")
	fs.StringVar(&o.NativeSidecar, "native-sidecar", server.NativeSidecarAuto,
		"auto: the agent is a native sidecar when every node's kubelet is 1.29 or later (watched; the API server's version when no node reports one); always; never")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 25*time.Second, "how long requests in flight may take on SIGTERM")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	o.Namespace = getenv("POD_NAMESPACE")
	o.Inject.ImagePullPolicy = corev1.PullPolicy(pullPolicy)
	if err := validPullPolicy(o.Inject.ImagePullPolicy); err != nil {
		return o, "", err
	}
	return o, level, o.Validate()
}

func validPullPolicy(p corev1.PullPolicy) error {
	switch p {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		return nil
	}
	return fmt.Errorf("--agent-image-pull-policy=%q: allowed: Always, IfNotPresent, Never", p)
}

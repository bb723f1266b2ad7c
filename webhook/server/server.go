package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/roundabout-dev/roundabout/webhook/certs"
)

// Run serves the webhook until ctx ends, then stops gracefully.
func Run(ctx context.Context, cfg *rest.Config, opts Options, log logr.Logger) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	native, err := newNativeSidecar(cfg, opts.NativeSidecar, log.WithName("native-sidecar"))
	if err != nil {
		return err
	}
	opts.Inject.NativeSidecar = native.Native()
	opts.Inject.OwnNamespace = opts.Namespace
	if err := opts.Inject.Validate(); err != nil {
		return err
	}
	mgr, certMgr, err := newManager(cfg, opts, log)
	if err != nil {
		return err
	}
	if err := setup(mgr, certMgr, native, opts, log); err != nil {
		return err
	}
	if certMgr != nil {
		if err := firstCertificates(ctx, certMgr, log); err != nil {
			return err
		}
	}
	log.Info("webhook starting", "port", opts.Port, "tlsMode", opts.TLSMode, "nativeSidecar", opts.NativeSidecar, "agentImage", opts.Inject.AgentImage)
	return mgr.Start(ctx)
}

// nativeSidecar answers, for every pod, whether the agent is a native
// sidecar; in NativeSidecarAuto mode it also watches the nodes (watch) and
// is ready once they are listed (ready).
type nativeSidecar struct {
	Native func() bool
	watch  *nodeWatch
	ready  func(*http.Request) error
}

// newNativeSidecar sets up the decision for mode. Only NativeSidecarAuto
// asks the API server: its version, for a cluster with no node reporting a
// kubelet version, and a watch on the nodes.
func newNativeSidecar(cfg *rest.Config, mode string, log logr.Logger) (nativeSidecar, error) {
	switch mode {
	case NativeSidecarAlways, NativeSidecarNever:
		fixed := mode == NativeSidecarAlways
		log.Info("native sidecar decision", "nativeSidecar", fixed, "reason", "--native-sidecar="+mode)
		return nativeSidecar{Native: func() bool { return fixed }}, nil
	}
	server, err := serverSupportsNative(cfg, log)
	if err != nil {
		return nativeSidecar{}, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nativeSidecar{}, fmt.Errorf("client for nodes: %w", err)
	}
	versions := newNodeVersions(server, log)
	watch, err := newNodeWatch(cs, versions)
	if err != nil {
		return nativeSidecar{}, fmt.Errorf("node informer: %w", err)
	}
	return nativeSidecar{Native: versions.Native, watch: watch, ready: versions.ReadyCheck}, nil
}

// serverSupportsNative asks the API server its version: native sidecars
// need 1.29.
func serverSupportsNative(cfg *rest.Config, log logr.Logger) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return false, fmt.Errorf("discovery client: %w", err)
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return false, fmt.Errorf("reading the API server version: %w", err)
	}
	// The minor may carry a "+" suffix, as on GKE.
	native := supportsNative(v.Major + "." + strings.TrimRight(v.Minor, "+"))
	log.Info("API server version read", "gitVersion", v.GitVersion, "nativeSidecar", native)
	return native, nil
}

// newManager builds the controller manager and, in TLSSelfSigned mode, the
// certificate manager whose certificate the webhook server serves.
func newManager(cfg *rest.Config, opts Options, log logr.Logger) (manager.Manager, *certs.Manager, error) {
	certMgr, err := newCertManager(cfg, opts, log)
	if err != nil {
		return nil, nil, err
	}
	shutdown := opts.ShutdownTimeout
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Logger:                  log,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:  opts.HealthAddr,
		GracefulShutdownTimeout: &shutdown,
		WebhookServer:           webhook.NewServer(webhookOptions(opts, certMgr)),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("controller manager: %w", err)
	}
	return mgr, certMgr, nil
}

// newCertManager returns nil outside TLSSelfSigned mode. It uses a direct
// client: it reads one Secret and one configuration, which need no cache.
func newCertManager(cfg *rest.Config, opts Options, log logr.Logger) (*certs.Manager, error) {
	if opts.TLSMode != TLSSelfSigned {
		return nil, nil
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("client for certificates: %w", err)
	}
	return certs.New(c, c, certs.Options{
		Namespace: opts.Namespace, SecretName: opts.SecretName, WebhookConfigName: opts.WebhookConfigName,
		DNSNames: opts.hosts(), CheckInterval: opts.CertCheckInterval,
	}, log.WithName("certs"))
}

func webhookOptions(opts Options, certMgr *certs.Manager) webhook.Options {
	o := webhook.Options{Host: opts.Host, Port: opts.Port, CertDir: opts.CertDir}
	if certMgr != nil {
		o.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.GetCertificate = certMgr.GetCertificate }}
	}
	return o
}

// setup registers the handler, the node watch, the certificate manager and
// the checks.
func setup(mgr manager.Manager, certMgr *certs.Manager, native nativeSidecar, opts Options, log logr.Logger) error {
	m, err := NewMetrics(metrics.Registry)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	h := &Handler{Namespaces: mgr.GetClient(), Config: opts.Inject, NativeSidecar: native.Native, Metrics: m, Log: log.WithName("inject")}
	srv := mgr.GetWebhookServer()
	srv.Register(WebhookPath, &webhook.Admission{Handler: h, RecoverPanic: ptr.To(true)})
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", srv.StartedChecker()); err != nil {
		return err
	}
	if native.watch != nil {
		if err := mgr.AddReadyzCheck("nodes", native.ready); err != nil {
			return err
		}
		if err := mgr.Add(native.watch); err != nil {
			return err
		}
	}
	if certMgr == nil {
		return nil
	}
	if err := mgr.AddReadyzCheck("certificates", certMgr.ReadyCheck); err != nil {
		return err
	}
	return mgr.Add(certMgr)
}

// firstCertificates waits for a first certificate, retrying while the API
// server is unreachable, so the server never starts without one.
func firstCertificates(ctx context.Context, m *certs.Manager, log logr.Logger) error {
	const retryEvery = 2 * time.Second
	for {
		err := m.Ensure(ctx)
		if err == nil {
			return nil
		}
		log.Error(err, "first certificate setup failed; retrying", "in", retryEvery)
		select {
		case <-ctx.Done():
			return fmt.Errorf("no serving certificate before shutdown: %w", err)
		case <-time.After(retryEvery):
		}
	}
}

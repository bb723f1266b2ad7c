// Package certs bootstraps the webhook's TLS without outside help: a CA and
// a serving certificate kept in a Secret that every replica shares, the CA
// patched into the webhook's own MutatingWebhookConfiguration as caBundle,
// and both renewed before they expire.
package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultCheckInterval is how often the Secret and the caBundle are checked.
const DefaultCheckInterval = 5 * time.Minute

// Options say which objects the Manager keeps up to date.
type Options struct {
	// Namespace and SecretName locate the Secret holding the certificates.
	Namespace  string
	SecretName string
	// WebhookConfigName is the MutatingWebhookConfiguration whose webhooks
	// get the caBundle.
	WebhookConfigName string
	// DNSNames are the serving certificate's names, such as
	// roundabout-webhook.roundabout-system.svc. An entry that is an IP
	// address becomes an IP address SAN.
	DNSNames []string
	// Lifetimes of the certificates; DefaultLifetimes when zero.
	Lifetimes Lifetimes
	// CheckInterval between checks; DefaultCheckInterval when zero.
	CheckInterval time.Duration
}

func (o *Options) validate() error {
	switch {
	case o.Namespace == "":
		return errors.New("certs: namespace of the certificate Secret is empty")
	case o.SecretName == "":
		return errors.New("certs: certificate Secret name is empty")
	case o.WebhookConfigName == "":
		return errors.New("certs: MutatingWebhookConfiguration name is empty")
	case len(o.DNSNames) == 0:
		return errors.New("certs: no DNS name for the serving certificate")
	}
	if o.Lifetimes == (Lifetimes{}) {
		o.Lifetimes = DefaultLifetimes
	}
	if o.CheckInterval <= 0 {
		o.CheckInterval = DefaultCheckInterval
	}
	return nil
}

// Manager keeps the certificates and the caBundle current and serves the
// certificate to the TLS listener. It is a controller-runtime Runnable that
// runs on every replica.
type Manager struct {
	opts    Options
	reader  client.Reader
	writer  client.Writer
	log     logr.Logger
	now     func() time.Time
	current atomic.Pointer[tls.Certificate]
}

// New returns a Manager that reads through reader (uncached, so no Secret
// informer is needed) and writes through writer.
func New(reader client.Reader, writer client.Writer, opts Options, log logr.Logger) (*Manager, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Manager{opts: opts, reader: reader, writer: writer, log: log, now: time.Now}, nil
}

// Ensure brings the Secret, the caBundle and the served certificate up to
// date, in that order, so the caBundle trusts a new CA before any replica
// serves a certificate it signed.
func (m *Manager) Ensure(ctx context.Context) error {
	mat, err := m.syncSecret(ctx)
	if err != nil {
		return fmt.Errorf("certificate Secret %s/%s: %w", m.opts.Namespace, m.opts.SecretName, err)
	}
	if err := m.syncCABundle(ctx, mat.bundle); err != nil {
		return fmt.Errorf("caBundle of MutatingWebhookConfiguration %s: %w", m.opts.WebhookConfigName, err)
	}
	return m.serve(mat.serving)
}

// Start checks every CheckInterval until ctx ends. A failed check is logged
// and retried at the next tick; the certificate served so far stays.
func (m *Manager) Start(ctx context.Context) error {
	t := time.NewTicker(m.opts.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := m.Ensure(ctx); err != nil {
				m.log.Error(err, "certificate check failed; retrying at the next check", "interval", m.opts.CheckInterval)
			}
		}
	}
}

// NeedLeaderElection is false: every replica serves, so every replica
// needs the certificate.
func (m *Manager) NeedLeaderElection() bool { return false }

// GetCertificate serves the current certificate; use it as
// tls.Config.GetCertificate.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := m.current.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("no serving certificate loaded yet")
}

// ReadyCheck is a healthz checker that passes once a certificate is loaded.
func (m *Manager) ReadyCheck(*http.Request) error {
	if m.current.Load() == nil {
		return errors.New("no serving certificate loaded yet")
	}
	return nil
}

// serve swaps in the serving pair when it differs from the current one.
func (m *Manager) serve(kp keyPair) error {
	if c := m.current.Load(); c != nil && len(c.Certificate) > 0 && string(c.Certificate[0]) == string(mustDER(kp.Cert)) {
		return nil
	}
	cert, err := tls.X509KeyPair(kp.Cert, kp.Key)
	if err != nil {
		return fmt.Errorf("serving key pair: %w", err)
	}
	m.current.Store(&cert)
	m.log.Info("serving certificate loaded", "notAfter", cert.Leaf.NotAfter, "dnsNames", cert.Leaf.DNSNames)
	return nil
}

// mustDER returns the DER of a PEM certificate, nil when unreadable.
func mustDER(certPEM []byte) []byte {
	c, err := parseCert(certPEM)
	if err != nil {
		return nil
	}
	return c.Raw
}

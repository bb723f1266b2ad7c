package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const (
	testNamespace = "roundabout-system"
	testSecret    = "roundabout-webhook-certs"
	testConfig    = "roundabout-webhook"
	testDNSName   = "roundabout-webhook.roundabout-system.svc"
)

var testLifetimes = Lifetimes{CA: 300 * time.Hour, Serving: 30 * time.Hour}

func newFakeClient() client.Client {
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: testConfig},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "a.roundabout.dev"}, {Name: "b.roundabout.dev"}},
	}
	return fake.NewClientBuilder().WithObjects(cfg).Build()
}

func newTestManager(t *testing.T, c client.Client, now *time.Time, dnsNames ...string) *Manager {
	t.Helper()
	if len(dnsNames) == 0 {
		dnsNames = []string{testDNSName}
	}
	m, err := New(c, c, Options{
		Namespace: testNamespace, SecretName: testSecret, WebhookConfigName: testConfig,
		DNSNames: dnsNames, Lifetimes: testLifetimes,
	}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return *now }
	return m
}

func ensure(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
}

func readSecret(t *testing.T, c client.Client) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: testNamespace, Name: testSecret}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func readBundles(t *testing.T, c client.Client) [][]byte {
	t.Helper()
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(context.Background(), types.NamespacedName{Name: testConfig}, cfg); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, w := range cfg.Webhooks {
		out = append(out, w.ClientConfig.CABundle)
	}
	return out
}

// verifyServed checks that the served certificate is valid at now for
// testDNSName against every caBundle in the configuration.
func verifyServed(t *testing.T, m *Manager, c client.Client, now time.Time) *x509.Certificate {
	t.Helper()
	cert, err := m.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for i, bundle := range readBundles(t, c) {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(bundle) {
			t.Fatalf("webhook %d: caBundle holds no certificate", i)
		}
		opts := x509.VerifyOptions{Roots: roots, DNSName: testDNSName, CurrentTime: now}
		if _, err := cert.Leaf.Verify(opts); err != nil {
			t.Errorf("webhook %d: served certificate does not verify against caBundle: %v", i, err)
		}
	}
	return cert.Leaf
}

func TestEnsureCreatesSecretAndPatchesCABundle(t *testing.T) {
	c, now := newFakeClient(), time.Now()
	m := newTestManager(t, c, &now)
	if m.ReadyCheck(nil) == nil {
		t.Error("ready before any certificate was loaded")
	}
	ensure(t, m)
	if err := m.ReadyCheck(nil); err != nil {
		t.Errorf("not ready after Ensure: %v", err)
	}
	verifyServed(t, m, c, now)
	for _, k := range []string{KeyCACert, KeyCAKey, KeyTLSCert, KeyTLSKey, KeyCABundle} {
		if len(readSecret(t, c).Data[k]) == 0 {
			t.Errorf("Secret lacks %s", k)
		}
	}
}

func TestReplicasShareTheSecret(t *testing.T) {
	c, now := newFakeClient(), time.Now()
	first, second := newTestManager(t, c, &now), newTestManager(t, c, &now)
	ensure(t, first)
	before := readSecret(t, c).ResourceVersion
	ensure(t, second)
	if after := readSecret(t, c).ResourceVersion; after != before {
		t.Errorf("second replica rewrote a fresh Secret (resourceVersion %s -> %s)", before, after)
	}
	a, _ := first.GetCertificate(nil)
	b, _ := second.GetCertificate(nil)
	if !a.Leaf.Equal(b.Leaf) {
		t.Error("replicas serve different certificates")
	}
}

func TestServingRenewalKeepsCA(t *testing.T) {
	c, now := newFakeClient(), time.Now()
	m := newTestManager(t, c, &now)
	ensure(t, m)
	oldCA := string(readSecret(t, c).Data[KeyCACert])
	old := verifyServed(t, m, c, now)

	now = now.Add(testLifetimes.Serving * 3 / 4)
	ensure(t, m)
	renewed := verifyServed(t, m, c, now)
	if renewed.Equal(old) {
		t.Fatal("serving certificate past two thirds of its life was not renewed")
	}
	if got := string(readSecret(t, c).Data[KeyCACert]); got != oldCA {
		t.Error("CA changed although it was not due")
	}
}

func TestCARenewalKeepsOldCAInBundle(t *testing.T) {
	c, now := newFakeClient(), time.Now()
	m := newTestManager(t, c, &now)
	ensure(t, m)
	oldCA := readSecret(t, c).Data[KeyCACert]

	now = now.Add(testLifetimes.CA * 3 / 4)
	ensure(t, m)
	s := readSecret(t, c)
	if string(s.Data[KeyCACert]) == string(oldCA) {
		t.Fatal("CA past two thirds of its life was not renewed")
	}
	bundle := string(s.Data[KeyCABundle])
	if !strings.HasPrefix(bundle, string(s.Data[KeyCACert])) || !strings.Contains(bundle, string(oldCA)) {
		t.Error("caBundle should hold the new CA first, then the old one while it is valid")
	}
	verifyServed(t, m, c, now)
}

func TestDNSNameChangeReissues(t *testing.T) {
	c, now := newFakeClient(), time.Now()
	ensure(t, newTestManager(t, c, &now))
	m := newTestManager(t, c, &now, testDNSName, "roundabout-webhook.roundabout-system.svc.cluster.local")
	ensure(t, m)
	cert, _ := m.GetCertificate(nil)
	if len(cert.Leaf.DNSNames) != 2 {
		t.Errorf("served DNS names %v, want the two configured", cert.Leaf.DNSNames)
	}
}

func TestEnsureNamesMissingConfiguration(t *testing.T) {
	c, now := fake.NewClientBuilder().Build(), time.Now()
	err := newTestManager(t, c, &now).Ensure(context.Background())
	if err == nil || !strings.Contains(err.Error(), testConfig) {
		t.Errorf("Ensure without the MutatingWebhookConfiguration: %v; want an error naming %s", err, testConfig)
	}
}

func TestOptionsValidation(t *testing.T) {
	c := newFakeClient()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{SecretName: "s", WebhookConfigName: "w", DNSNames: []string{"d"}}, "namespace"},
		{Options{Namespace: "n", WebhookConfigName: "w", DNSNames: []string{"d"}}, "Secret name"},
		{Options{Namespace: "n", SecretName: "s", DNSNames: []string{"d"}}, "MutatingWebhookConfiguration"},
		{Options{Namespace: "n", SecretName: "s", WebhookConfigName: "w"}, "DNS name"},
	} {
		if _, err := New(c, c, tc.opts, logr.Discard()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error about %s", tc.opts, err, tc.want)
		}
	}
}

package webhook_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/zapr"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/inject"
	"github.com/roundabout-dev/roundabout/webhook/server"
)

// TestCertDirMode is the cert-manager path: tls.crt and tls.key come from
// a directory someone else fills, the caBundle is set by someone else, and
// the webhook neither creates a Secret nor patches the configuration.
func TestCertDirMode(t *testing.T) {
	needControlPlane(t)
	c := newClient(t)
	ns, appNS := unique("roundabout-certdir-system"), unique("certdir-app")
	cfgName := unique("roundabout-webhook-certdir")
	createNamespaces(t, c, ns, appNS)
	dir, caPEM := writeServingFiles(t)
	port := freePort(t)
	createDeployWebhookConfig(t, cfgName, port, caPEM, ns, appNS)
	opts := server.Options{
		Inject: inject.Config{AgentImage: "ghcr.io/roundabout-dev/roundabout-agent:test"}, Namespace: ns,
		ServiceName: "roundabout-webhook", TLSMode: server.TLSCertDir, CertDir: dir,
		Host: "127.0.0.1", Port: port, MetricsAddr: "0", HealthAddr: "0", ShutdownTimeout: 5 * time.Second,
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(runCtx, config, opts, zapr.NewLogger(zaptest.NewLogger(t))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("webhook returned %v after stop", err)
		}
	})

	eventually(t, "a pod in "+appNS+" stored with the agent", func() error {
		pod := annotatedPod(nil)
		pod.Namespace = appNS
		if err := c.Create(ctx(t), pod); err != nil {
			return err
		}
		if pod.Annotations[annotations.Status] != annotations.StatusInjected {
			return errors.New("pod " + pod.Name + " stored without the agent")
		}
		return nil
	})
	var secrets corev1.SecretList
	if err := c.List(ctx(t), &secrets, client.InNamespace(ns)); err != nil || len(secrets.Items) != 0 {
		t.Errorf("cert-dir mode: %d Secrets in %s (%v); want none", len(secrets.Items), ns, err)
	}
}

// writeServingFiles writes tls.crt and tls.key for 127.0.0.1, signed by a
// new CA, and returns the directory and the CA's PEM.
func writeServingFiles(t *testing.T) (string, []byte) {
	t.Helper()
	caKey, caCert := newCertificate(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test-ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	key, cert := newCertificate(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, caCert, caKey)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "tls.crt"), "CERTIFICATE", cert.Raw)
	writePEM(t, filepath.Join(dir, "tls.key"), "EC PRIVATE KEY", keyDER)
	return dir, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
}

func newCertificate(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

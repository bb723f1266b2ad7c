package controlplane

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestWritePKI checks that the serving certificate verifies under the CA
// for every name and address clients use, and that the service account
// key pair is a pair.
func TestWritePKI(t *testing.T) {
	dir := t.TempDir()
	caPEM, err := writePKI(dir, apiServerHosts("10.244.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA is not PEM")
	}
	serving, err := tls.LoadX509KeyPair(filepath.Join(dir, servingCertFile), filepath.Join(dir, servingKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range append(apiServerHosts("10.244.0.1"), "kubernetes.default.svc.cluster.local") {
		_, err := serving.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots})
		if err != nil {
			t.Errorf("serving certificate for %s: %v", host, err)
		}
	}
	if _, err := serving.Leaf.Verify(x509.VerifyOptions{DNSName: "10.244.0.2", Roots: roots}); err == nil {
		t.Error("serving certificate verifies for 10.244.0.2, which is not the node")
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, saCertFile), filepath.Join(dir, saKeyFile)); err != nil {
		t.Errorf("service account key pair: %v", err)
	}
	if ca, err := os.ReadFile(filepath.Join(dir, caCertFile)); err != nil || string(ca) != string(caPEM) {
		t.Errorf("%s does not hold the CA: %v", caCertFile, err)
	}
}

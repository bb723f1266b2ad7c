package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The file names envtest looks for in the API server's certificate
// directory: when apiserver.crt exists, envtest generates none of them.
const (
	caCertFile      = "ca.crt"
	servingCertFile = "apiserver.crt"
	servingKeyFile  = "apiserver.key"
	saCertFile      = "sa-signer.crt"
	saKeyFile       = "sa-signer.key"
)

// certValidity is long enough for any run; clockSkew backdates NotBefore.
const (
	certValidity = 30 * 24 * time.Hour
	clockSkew    = 5 * time.Minute
)

// writePKI writes into certDir a CA, an API server serving certificate
// for hosts signed by it, and a service account signing key pair, under
// the names envtest uses, so that envtest keeps them. It returns the CA's
// PEM.
func writePKI(certDir string, hosts []string) ([]byte, error) {
	ca, err := newCert(certTemplate("roundabout-ca", nil), nil)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	serving, err := newCert(certTemplate("kube-apiserver", hosts), &ca)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	sa, err := newCert(certTemplate("service-accounts", nil), nil)
	if err != nil {
		return nil, fmt.Errorf("service account key: %w", err)
	}
	files := map[string][]byte{
		caCertFile: ca.certPEM(), servingCertFile: serving.certPEM(), servingKeyFile: serving.keyPEM,
		saCertFile: sa.certPEM(), saKeyFile: sa.keyPEM,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(certDir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return ca.certPEM(), nil
}

// certTemplate is a certificate for hosts (DNS names or IP addresses); with
// no hosts it is a CA.
func certTemplate(commonName string, hosts []string) *x509.Certificate {
	now := time.Now()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if len(hosts) == 0 {
		t.IsCA, t.BasicConstraintsValid = true, true
		t.KeyUsage |= x509.KeyUsageCertSign
		return t
	}
	t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			t.IPAddresses = append(t.IPAddresses, ip)
		} else {
			t.DNSNames = append(t.DNSNames, h)
		}
	}
	return t
}

// pair is a certificate and its key.
type pair struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	keyPEM []byte // PKCS#8
}

func (p pair) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw})
}

// newCert makes a key and signs tmpl with parent's key, or self-signs it
// when parent is nil.
func newCert(tmpl *x509.Certificate, parent *pair) (pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pair{}, err
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		return pair{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return pair{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return pair{}, err
	}
	return pair{cert, key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}, nil
}

package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// keyPair is a PEM certificate and its PEM private key.
type keyPair struct {
	Cert []byte
	Key  []byte
}

// clockSkew backdates NotBefore so a server whose clock runs a little
// behind accepts a certificate issued a moment ago.
const clockSkew = 5 * time.Minute

// newCA makes a self-signed CA valid from now for validity.
func newCA(commonName string, now time.Time, validity time.Duration) (keyPair, error) {
	tmpl, err := template(commonName, now, validity)
	if err != nil {
		return keyPair{}, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	return sign(tmpl, nil, nil)
}

// newServing makes a serving certificate for hosts, DNS names or IP
// addresses, signed by ca.
func newServing(ca keyPair, hosts []string, now time.Time, validity time.Duration) (keyPair, error) {
	if len(hosts) == 0 {
		return keyPair{}, errors.New("serving certificate: no host name given")
	}
	caCert, caKey, err := parse(ca)
	if err != nil {
		return keyPair{}, fmt.Errorf("serving certificate: CA: %w", err)
	}
	tmpl, err := template(hosts[0], now, validity)
	if err != nil {
		return keyPair{}, err
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return sign(tmpl, caCert, caKey)
}

func template(commonName string, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial number: %w", err)
	}
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"roundabout"}},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(validity),
	}, nil
}

// sign creates the certificate for tmpl with a new P-256 key, signed by
// parent and parentKey, or self-signed when parent is nil.
func sign(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate key: %w", err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return keyPair{}, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return keyPair{}, fmt.Errorf("marshal key: %w", err)
	}
	return keyPair{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// parse decodes a key pair made by sign.
func parse(kp keyPair) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, err := parseCert(kp.Cert)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(kp.Key)
	if block == nil {
		return nil, nil, errors.New("key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse key: %w", err)
	}
	return cert, key, nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}

// certHosts lists cert's DNS names and IP addresses, sorted.
func certHosts(cert *x509.Certificate) []string {
	hosts := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	slices.Sort(hosts)
	return hosts
}

// sameHosts reports whether cert is issued for exactly hosts.
func sameHosts(cert *x509.Certificate, hosts []string) bool {
	want := slices.Clone(hosts)
	slices.Sort(want)
	return slices.Equal(certHosts(cert), slices.Compact(want))
}

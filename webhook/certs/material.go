package certs

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"time"
)

// Secret data keys. tls.crt and tls.key follow the kubernetes.io/tls
// convention; ca-bundle.crt is what goes into caBundle.
const (
	KeyCACert   = "ca.crt"
	KeyCAKey    = "ca.key"
	KeyTLSCert  = "tls.crt"
	KeyTLSKey   = "tls.key"
	KeyCABundle = "ca-bundle.crt"
)

// material is the certificate set every replica shares.
type material struct {
	ca      keyPair
	serving keyPair
	// bundle holds the current CA and, after a CA renewal, the previous CA
	// while it is still valid, so callers that still trust only the old CA
	// keep working during the switch.
	bundle []byte
}

func fromData(data map[string][]byte) material {
	return material{
		ca:      keyPair{Cert: data[KeyCACert], Key: data[KeyCAKey]},
		serving: keyPair{Cert: data[KeyTLSCert], Key: data[KeyTLSKey]},
		bundle:  data[KeyCABundle],
	}
}

func (m material) data() map[string][]byte {
	return map[string][]byte{
		KeyCACert: m.ca.Cert, KeyCAKey: m.ca.Key,
		KeyTLSCert: m.serving.Cert, KeyTLSKey: m.serving.Key,
		KeyCABundle: m.bundle,
	}
}

// Lifetimes sets how long certificates live. Each is renewed once less
// than a third of its lifetime is left.
type Lifetimes struct {
	CA      time.Duration
	Serving time.Duration
}

// DefaultLifetimes: a five-year CA and a one-year serving certificate.
var DefaultLifetimes = Lifetimes{CA: 5 * 365 * 24 * time.Hour, Serving: 365 * 24 * time.Hour}

// renew returns m unchanged when it is valid and fresh at now for
// dnsNames, and otherwise a renewed set and true.
func (l Lifetimes) renew(m material, dnsNames []string, now time.Time) (material, bool, error) {
	caCert, _, err := parse(m.ca)
	if err != nil || due(caCert, now) {
		return l.reissueAll(m, caCert, dnsNames, now)
	}
	if servingFresh(m.serving, caCert, dnsNames, now) {
		return m, false, nil
	}
	serving, err := newServing(m.ca, dnsNames, now, l.Serving)
	if err != nil {
		return m, false, err
	}
	m.serving = serving
	return m, true, nil
}

// reissueAll makes a new CA and serving certificate; old, the CA being
// replaced (nil if unreadable), stays in the bundle while it is valid.
func (l Lifetimes) reissueAll(m material, old *x509.Certificate, dnsNames []string, now time.Time) (material, bool, error) {
	ca, err := newCA("roundabout-webhook-ca", now, l.CA)
	if err != nil {
		return m, false, fmt.Errorf("CA: %w", err)
	}
	serving, err := newServing(ca, dnsNames, now, l.Serving)
	if err != nil {
		return m, false, err
	}
	bundle := slices.Clone(ca.Cert)
	if old != nil && now.Before(old.NotAfter) {
		bundle = append(bundle, m.ca.Cert...)
	}
	return material{ca: ca, serving: serving, bundle: bundle}, true, nil
}

// due reports whether less than a third of cert's lifetime is left.
func due(cert *x509.Certificate, now time.Time) bool {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return now.After(cert.NotAfter.Add(-life / 3))
}

// servingFresh reports whether the serving pair is readable, signed by ca,
// for exactly dnsNames, and not due.
func servingFresh(kp keyPair, ca *x509.Certificate, dnsNames []string, now time.Time) bool {
	cert, _, err := parse(kp)
	if err != nil || due(cert, now) || !sameHosts(cert, dnsNames) {
		return false
	}
	if !bytes.Equal(cert.RawIssuer, ca.RawSubject) {
		return false
	}
	return cert.CheckSignatureFrom(ca) == nil
}

package secrets

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// SelfSignedValidity is how long a certificate from SelfSigned is valid:
// 90 days, the lifetime Mozilla recommends.
const SelfSignedValidity = 90 * 24 * time.Hour

// PEM holds a certificate chain and its private key in PEM form, as written
// to files or stored in a secret provider.
type PEM struct {
	// Cert is the certificate chain, leaf first ("CERTIFICATE" blocks).
	Cert []byte
	// Key is the private key as a PKCS #8 "PRIVATE KEY" block.
	Key []byte
}

// SelfSigned generates a self-signed ECDSA P-256 server certificate for
// development and tests, valid from an hour ago (to tolerate clock skew)
// for SelfSignedValidity. Each host is an IP address or a DNS name (a
// leading "*." is allowed); with no hosts the certificate covers
// "localhost", 127.0.0.1 and ::1.
//
// It returns the certificate ready for TLSCertificates, with its parsed
// Leaf, and the same certificate and key in PEM form. Clients trust it by
// adding the certificate to their root pool. Do not use it in production:
// nothing revokes it, and a browser warns about it.
func SelfSigned(hosts ...string) (tls.Certificate, PEM, error) {
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"Maestro development"}},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if !validHostname(h) {
			return tls.Certificate{}, PEM{}, fmt.Errorf("secrets: self-signed: invalid host %s", quoteName(h))
		}
		tmpl.DNSNames = append(tmpl.DNSNames, strings.ToLower(h))
	}
	if len(hosts[0]) <= 64 { // the X.509 upper bound for a common name
		tmpl.Subject.CommonName = hosts[0]
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, PEM{}, fmt.Errorf("secrets: self-signed: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1)) // positive, never zero
	now := time.Now()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(SelfSignedValidity)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, PEM{}, fmt.Errorf("secrets: self-signed: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, PEM{}, fmt.Errorf("secrets: self-signed: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, PEM{}, fmt.Errorf("secrets: self-signed: %w", err)
	}
	p := PEM{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, PEM{}, fmt.Errorf("secrets: self-signed: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, p, nil
}

// validHostname reports whether h is a DNS name made of letters, digits
// and hyphens, optionally starting with the wildcard label "*".
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

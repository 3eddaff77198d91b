package secrets

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
)

// intermediateCipherSuites are the TLS 1.2 cipher suites of Mozilla's
// "intermediate" configuration (Server Side TLS 5.7) that Go implements, in
// Mozilla's order. Mozilla's DHE suites are absent: Go has no finite-field
// Diffie-Hellman. TLS 1.3 suites are not configurable in Go; its three are
// exactly Mozilla's.
func intermediateCipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// intermediateCurves are Mozilla's "intermediate" groups (X25519, P-256,
// P-384), preceded by the hybrid post-quantum group X25519MLKEM768 that Go
// offers by default. The hybrid is used only in TLS 1.3 and is at least as
// strong as X25519, which it contains; clients without it negotiate one of
// Mozilla's groups.
func intermediateCurves() []tls.CurveID {
	return []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
}

// TLSOption configures the tls.Config built by TLSConfig. An option given
// an invalid value is reported by CheckTLSOptions; the Config TLSConfig
// builds with it fails every handshake (see TLSConfig).
type TLSOption func(*tls.Config) error

// TLSCertificates sets the certificates the server presents. The slice is
// copied. At least one certificate is required.
func TLSCertificates(certs ...tls.Certificate) TLSOption {
	return func(c *tls.Config) error {
		if len(certs) == 0 {
			return invalidf("tls: no certificates")
		}
		c.Certificates = slices.Clone(certs)
		return nil
	}
}

// TLSGetCertificate sets the function that chooses a certificate for each
// handshake, such as (*CertReloader).GetCertificate or the GetCertificate
// method of an autocert.Manager. It takes precedence over TLSCertificates.
// A nil function is invalid.
func TLSGetCertificate(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) TLSOption {
	return func(c *tls.Config) error {
		if get == nil {
			return invalidf("tls: nil GetCertificate function")
		}
		c.GetCertificate = get
		return nil
	}
}

// TLSClientCAs requires every client to present a certificate that
// verifies against pool (mutual TLS). A nil pool trusts no one, rather than
// falling back to the system's roots.
func TLSClientCAs(pool *x509.CertPool) TLSOption {
	return func(c *tls.Config) error {
		if pool == nil {
			pool = x509.NewCertPool()
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
		return nil
	}
}

// TLSNextProtos sets the ALPN protocols, in order of preference. The
// default is "h2" then "http/1.1". When serving an autocert.Manager's
// certificates, add acme.ALPNProto ("acme-tls/1") so that TLS-ALPN-01
// challenges can be answered. The slice is copied. At least one protocol
// is required, and none may be empty.
func TLSNextProtos(protos ...string) TLSOption {
	return func(c *tls.Config) error {
		if len(protos) == 0 || slices.Contains(protos, "") {
			return invalidf("tls: ALPN protocols must be a non-empty list of non-empty names")
		}
		c.NextProtos = slices.Clone(protos)
		return nil
	}
}

// TLSModern raises the minimum to TLS 1.3, Mozilla's "modern"
// configuration, for services whose clients all speak TLS 1.3.
func TLSModern() TLSOption {
	return func(c *tls.Config) error { c.MinVersion = tls.VersionTLS13; return nil }
}

// TLSConfig returns a server tls.Config that follows Mozilla's
// "intermediate" configuration, the one Mozilla recommends for
// general-purpose servers (https://wiki.mozilla.org/Security/Server_Side_TLS,
// version 5.7):
//
//   - protocols TLS 1.2 and TLS 1.3; anything older fails the handshake;
//   - TLS 1.2 cipher suites ECDHE-ECDSA/RSA with AES-128-GCM, AES-256-GCM
//     and ChaCha20-Poly1305, in Mozilla's order (only forward-secret AEAD
//     suites; no CBC, no RSA key exchange, no 3DES);
//   - TLS 1.3 cipher suites: Go's fixed set, which is Mozilla's;
//   - groups X25519, P-256 and P-384, preceded by the hybrid post-quantum
//     X25519MLKEM768 for TLS 1.3 clients that offer it;
//   - cipher order: Mozilla leaves the choice to the client; Go's server
//     applies its own fixed order instead, choosing ChaCha20-Poly1305 over
//     AES-GCM only for clients that lack AES hardware, and the
//     configuration cannot change that.
//
// Provide the certificate with TLSCertificates or TLSGetCertificate (a
// CertReloader, SelfSigned for development, or AutocertManager). Mozilla
// pairs this profile with ECDSA P-256 (or RSA 2048) certificates valid for
// 90 days (366 at most), and with HSTS (see HSTS).
//
// Each call returns a new Config that the caller may adjust before use; the
// Config must not be modified once a server is using it.
//
// An option given an invalid value makes the Config fail every handshake
// with that error (it wraps ErrInvalid) through GetConfigForClient; call
// CheckTLSOptions at start-up to fail fast instead.
func TLSConfig(opts ...TLSOption) *tls.Config {
	c, err := tlsConfig(opts)
	if err != nil {
		return &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
				return nil, err
			},
		}
	}
	return c
}

// CheckTLSOptions reports the first invalid option among opts, with an
// error wrapping ErrInvalid, or nil.
func CheckTLSOptions(opts ...TLSOption) error {
	_, err := tlsConfig(opts)
	return err
}

func tlsConfig(opts []TLSOption) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		CipherSuites:     intermediateCipherSuites(),
		CurvePreferences: intermediateCurves(),
		NextProtos:       []string{"h2", "http/1.1"},
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, invalidf("tls: nil option")
		}
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

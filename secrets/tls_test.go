package secrets_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

// handshake runs a TLS handshake between a server using serverCfg and a
// client using clientCfg over an in-memory connection, and returns the
// client's view of the connection.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	deadline := time.Now().Add(5 * time.Second)
	_ = c1.SetDeadline(deadline)
	_ = c2.SetDeadline(deadline)
	srv := tls.Server(c1, serverCfg)
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	cli := tls.Client(c2, clientCfg)
	err := cli.Handshake()
	if err != nil {
		c2.Close() // unblock the server
	}
	serr := <-done
	if err == nil {
		err = serr
	}
	return cli.ConnectionState(), err
}

func devConfig(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	cert, _, err := secrets.SelfSigned("localhost")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return secrets.TLSConfig(secrets.TLSCertificates(cert)), pool
}

func TestTLSConfigVersions(t *testing.T) {
	t.Parallel()
	serverCfg, pool := devConfig(t)
	tests := []struct {
		name     string
		min, max uint16
		ok       bool
	}{
		{"TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, true},
		{"TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, true},
		{"TLS 1.1", tls.VersionTLS10, tls.VersionTLS11, false},
		{"TLS 1.0", tls.VersionTLS10, tls.VersionTLS10, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := handshake(t, serverCfg, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tc.min, MaxVersion: tc.max})
			if tc.ok {
				if err != nil {
					t.Fatalf("handshake failed: %v", err)
				}
				if st.Version != tc.max {
					t.Fatalf("negotiated %s, want %s", tls.VersionName(st.Version), tls.VersionName(tc.max))
				}
				if tc.max == tls.VersionTLS12 && !slices.Contains(serverCfg.CipherSuites, st.CipherSuite) {
					t.Fatalf("negotiated %s, outside the profile", tls.CipherSuiteName(st.CipherSuite))
				}
				return
			}
			if err == nil {
				t.Fatalf("handshake with %s succeeded", tls.VersionName(tc.max))
			}
			if !strings.Contains(err.Error(), "version") {
				t.Fatalf("handshake failed for another reason: %v", err)
			}
		})
	}
}

func TestTLSConfigRefusesWeakTLS12Suites(t *testing.T) {
	t.Parallel()
	serverCfg, pool := devConfig(t)
	for _, suite := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	} {
		_, err := handshake(t, serverCfg, &tls.Config{
			RootCAs: pool, ServerName: "localhost",
			MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite},
		})
		if err == nil {
			t.Errorf("handshake with %s succeeded", tls.CipherSuiteName(suite))
		}
	}
}

func TestTLSConfigCurves(t *testing.T) {
	t.Parallel()
	serverCfg, pool := devConfig(t)
	for _, curve := range []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384} {
		_, err := handshake(t, serverCfg, &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{curve}})
		if err != nil {
			t.Errorf("%v: %v", curve, err)
		}
	}
	_, err := handshake(t, serverCfg, &tls.Config{RootCAs: pool, ServerName: "localhost", CurvePreferences: []tls.CurveID{tls.CurveP521}})
	if err == nil {
		t.Error("handshake with only P-521 succeeded; P-521 is not in the profile")
	}
}

func TestTLSConfigOptions(t *testing.T) {
	t.Parallel()
	pool := x509.NewCertPool()
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	protos := []string{"h2", "acme-tls/1"}
	c := secrets.TLSConfig(secrets.TLSGetCertificate(get), secrets.TLSClientCAs(pool), secrets.TLSNextProtos(protos...), secrets.TLSModern())
	protos[0] = "changed"
	if c.GetCertificate == nil || c.ClientCAs != pool || c.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatal("options not applied")
	}
	if c.MinVersion != tls.VersionTLS13 || c.NextProtos[0] != "h2" {
		t.Fatalf("MinVersion %x, NextProtos %v", c.MinVersion, c.NextProtos)
	}
	if n := secrets.TLSConfig(secrets.TLSClientCAs(nil)); n.ClientCAs == nil {
		t.Fatal("nil client pool falls back to system roots")
	}
	d := secrets.TLSConfig()
	if d.MinVersion != tls.VersionTLS12 || len(d.CipherSuites) != 6 || !slices.Equal(d.NextProtos, []string{"h2", "http/1.1"}) {
		t.Fatalf("defaults: %+v", d)
	}
	for _, id := range d.CipherSuites {
		for _, insecure := range tls.InsecureCipherSuites() {
			if id == insecure.ID {
				t.Errorf("insecure suite %s in profile", insecure.Name)
			}
		}
	}
}

func TestTLSModernRefusesTLS12(t *testing.T) {
	t.Parallel()
	cert, _, err := secrets.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	cfg := secrets.TLSConfig(secrets.TLSCertificates(cert), secrets.TLSModern())
	if _, err := handshake(t, cfg, &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12}); err == nil {
		t.Fatal("TLS 1.2 accepted by the modern profile")
	}
}

func TestSelfSigned(t *testing.T) {
	t.Parallel()
	if c, _, err := secrets.SelfSigned(strings.Repeat("a", 60) + ".example.test"); err != nil || c.Leaf.Subject.CommonName != "" {
		t.Fatalf("long host: %v", err)
	}
	cert, pemPair, err := secrets.SelfSigned("Example.test", "*.apps.example.test", "127.0.0.1", "::1")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemPair.Cert) {
		t.Fatal("PEM certificate does not parse")
	}
	for _, host := range []string{"example.test", "x.apps.example.test", "127.0.0.1", "::1"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("verify %s: %v", host, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: pool}); err == nil {
		t.Error("verified for a host it does not name")
	}
	if life := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore); life > secrets.SelfSignedValidity+time.Hour+time.Minute {
		t.Errorf("validity %v", life)
	}
	if cert.Leaf.IsCA || cert.Leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("IsCA %v, key %v", cert.Leaf.IsCA, cert.Leaf.PublicKeyAlgorithm)
	}
	// The PEM pair loads as a key pair.
	if _, err := tls.X509KeyPair(pemPair.Cert, pemPair.Key); err != nil {
		t.Fatal(err)
	}
	// And a TLS client trusting only that pool connects.
	if _, err := handshake(t, secrets.TLSConfig(secrets.TLSCertificates(cert)), &tls.Config{RootCAs: pool, ServerName: "example.test"}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
}

func TestSelfSignedDefaultsAndErrors(t *testing.T) {
	t.Parallel()
	cert, _, err := secrets.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.Leaf.DNSNames, []string{"localhost"}) || len(cert.Leaf.IPAddresses) != 2 {
		t.Fatalf("default names %v %v", cert.Leaf.DNSNames, cert.Leaf.IPAddresses)
	}
	for _, bad := range []string{"", "bad host", "-x.test", "a..b", "x.*.test", "*", "ex_ample.test"} {
		if _, _, err := secrets.SelfSigned(bad); err == nil {
			t.Errorf("SelfSigned(%q) succeeded", bad)
		}
	}
}

func BenchmarkHandshakeTLS13(b *testing.B) {
	cert, _, _ := secrets.SelfSigned("localhost")
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	srv := secrets.TLSConfig(secrets.TLSCertificates(cert))
	cli := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	for b.Loop() {
		c1, c2 := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- tls.Server(c1, srv).Handshake() }()
		if err := tls.Client(c2, cli).Handshake(); err != nil {
			b.Fatal(err)
		}
		<-done
		c1.Close()
		c2.Close()
	}
}

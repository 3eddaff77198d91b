package platform

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

func TestServeHTTPS(t *testing.T) {
	t.Parallel()
	_, pem, err := secrets.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem.Cert) {
		t.Fatal("bad certificate PEM")
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.Cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]string{
		"files": {envTLSCert: certFile, envTLSKey: keyFile},
		"pem":   {envTLSCert + "_FILE": certFile, envTLSKey + "_FILE": keyFile},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vars[envHome] = filepath.Join(t.TempDir(), "home")
			vars[envAdminPassword] = testAdminPassword
			cfg, err := loadConfig(context.Background(), envOf(vars))
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Serve(ctx, ln) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Error(err)
				}
			})
			url := "https://" + ln.Addr().String() + "/health/live"
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
			res, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") == "" {
				t.Fatalf("status %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
			}
			old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
			if res, err := old.Get(url); err == nil {
				res.Body.Close()
				t.Fatal("a TLS 1.1 client was served")
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	cfg := Config{TLSCert: "/nonexistent/cert.pem", TLSKey: "/nonexistent/key.pem"}
	if _, err := tlsConfig(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("missing certificate files accepted")
	}
	if c, err := tlsConfig(context.Background(), Config{}, slog.New(slog.DiscardHandler)); c != nil || err != nil {
		t.Fatalf("no certificate: %v %v", c, err)
	}
}

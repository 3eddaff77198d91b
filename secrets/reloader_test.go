package secrets_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

func writePair(t *testing.T, dir string, p secrets.PEM, mtime time.Time) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for name, data := range map[string][]byte{certFile: p.Cert, keyFile: p.Key} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func newPair(t *testing.T, host string) secrets.PEM {
	t.Helper()
	_, p, err := secrets.SelfSigned(host)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func servedName(t *testing.T, r *secrets.CertReloader) string {
	t.Helper()
	c, err := r.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.DNSNames[0]
}

func TestCertReloaderFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Minute)
	certFile, keyFile := writePair(t, dir, newPair(t, "one.test"), t0)
	clock := newFakeClock()
	clock.t = time.Now()
	var errs []error
	var mu sync.Mutex
	r, err := secrets.NewCertReloader(certFile, keyFile,
		secrets.ReloadInterval(time.Second), secrets.ReloadClock(clock.Now),
		secrets.ReloadErrorHandler(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	if got := servedName(t, r); got != "one.test" {
		t.Fatalf("serving %s", got)
	}

	// A renewed pair is picked up once the interval has passed.
	writePair(t, dir, newPair(t, "two.test"), t0.Add(10*time.Second))
	if got := servedName(t, r); got != "one.test" {
		t.Fatalf("reloaded before the interval: %s", got)
	}
	clock.Advance(time.Second)
	if got := servedName(t, r); got != "two.test" {
		t.Fatalf("after the interval serving %s, want two.test", got)
	}
	if r.Leaf().DNSNames[0] != "two.test" {
		t.Fatal("Leaf does not follow the reload")
	}

	// A half-written renewal (new certificate, old key) is refused and the
	// previous certificate stays in service.
	three := newPair(t, "three.test")
	if err := os.WriteFile(certFile, three.Cert, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Chtimes(certFile, t0.Add(20*time.Second), t0.Add(20*time.Second))
	clock.Advance(time.Second)
	if got := servedName(t, r); got != "two.test" {
		t.Fatalf("serving %s after a mismatched pair", got)
	}
	mu.Lock()
	if len(errs) != 1 || strings.Contains(errs[0].Error(), "PRIVATE KEY") {
		t.Fatalf("errors = %v", errs)
	}
	mu.Unlock()
	if err := r.Reload(context.Background()); err == nil {
		t.Fatal("Reload accepted a mismatched pair")
	}

	// Completing the renewal fixes it; Reload forces the check.
	writePair(t, dir, three, t0.Add(30*time.Second))
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := servedName(t, r); got != "three.test" {
		t.Fatalf("serving %s after Reload", got)
	}
	// Touching the files without changing them keeps the same certificate.
	before, _ := r.GetCertificate(nil)
	writePair(t, dir, three, t0.Add(40*time.Second))
	clock.Advance(time.Second)
	if after, _ := r.GetCertificate(nil); after != before {
		t.Fatal("identical material was parsed again")
	}
}

func TestCertReloaderHandshake(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Minute)
	one := newPair(t, "localhost")
	certFile, keyFile := writePair(t, dir, one, t0)
	r, err := secrets.NewCertReloader(certFile, keyFile, secrets.ReloadInterval(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	cfg := secrets.TLSConfig(secrets.TLSGetCertificate(r.GetCertificate))
	trust := func(p secrets.PEM) *x509.CertPool {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(p.Cert)
		return pool
	}
	if _, err := handshake(t, cfg, &tls.Config{RootCAs: trust(one), ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	two := newPair(t, "localhost")
	writePair(t, dir, two, t0.Add(time.Second))
	if _, err := handshake(t, cfg, &tls.Config{RootCAs: trust(two), ServerName: "localhost"}); err != nil {
		t.Fatalf("new certificate not served: %v", err)
	}
}

func TestCertReloaderStartupErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newPair(t, "x.test")
	certFile, keyFile := writePair(t, dir, p, time.Now())
	other := newPair(t, "y.test")
	otherKey := filepath.Join(dir, "other.key")
	if err := os.WriteFile(otherKey, other.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := writeFile(t, dir, "garbage", "not pem")
	for name, files := range map[string][2]string{
		"missing cert":   {filepath.Join(dir, "nope"), keyFile},
		"missing key":    {certFile, filepath.Join(dir, "nope")},
		"mismatched key": {certFile, otherKey},
		"garbage":        {garbage, garbage},
	} {
		if _, err := secrets.NewCertReloader(files[0], files[1]); err == nil {
			t.Errorf("%s: NewCertReloader succeeded", name)
		}
	}
	// An expired certificate is refused at start-up.
	future := time.Now().Add(200 * 24 * time.Hour)
	if _, err := secrets.NewCertReloader(certFile, keyFile, secrets.ReloadClock(func() time.Time { return future })); err == nil || !strings.Contains(err.Error(), "valid only") {
		t.Errorf("expired certificate: %v", err)
	}
}

func TestCertReloaderStatError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, newPair(t, "x.test"), time.Now())
	var calls atomic.Int64
	r, err := secrets.NewCertReloader(certFile, keyFile, secrets.ReloadInterval(time.Nanosecond),
		secrets.ReloadErrorHandler(func(error) { calls.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	if c, err := r.GetCertificate(nil); err != nil || c == nil {
		t.Fatalf("a vanished file must not fail handshakes: %v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("error handler called %d times", calls.Load())
	}
}

func TestProviderCertReloader(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	store := map[string]string{}
	set := func(p secrets.PEM) {
		mu.Lock()
		defer mu.Unlock()
		store["TLS_CERT"], store["TLS_KEY"] = string(p.Cert), string(p.Key)
	}
	p := secrets.ProviderFunc(func(_ context.Context, name string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := store[name]
		if !ok {
			return "", secrets.ErrNotFound
		}
		return v, nil
	})
	ctx := context.Background()
	if _, err := secrets.NewProviderCertReloader(ctx, p, "TLS_CERT", "TLS_KEY"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("absent material: %v", err)
	}
	if _, err := secrets.NewProviderCertReloader(ctx, nil, "TLS_CERT", "TLS_KEY"); err == nil {
		t.Fatal("nil provider accepted")
	}
	set(newPair(t, "one.test"))
	clock := newFakeClock()
	clock.t = time.Now()
	r, err := secrets.NewProviderCertReloader(ctx, p, "TLS_CERT", "TLS_KEY", secrets.ReloadInterval(time.Minute), secrets.ReloadClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	set(newPair(t, "two.test"))
	if got := servedName(t, r); got != "one.test" {
		t.Fatalf("serving %s before the interval", got)
	}
	clock.Advance(time.Minute)
	if got := servedName(t, r); got != "two.test" {
		t.Fatalf("serving %s after the interval", got)
	}
	mu.Lock()
	delete(store, "TLS_KEY")
	mu.Unlock()
	if err := r.Reload(ctx); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Reload with a missing key: %v", err)
	}
	if got := servedName(t, r); got != "two.test" {
		t.Fatalf("serving %s after a failed reload", got)
	}
}

func TestCertReloaderConcurrentHandshakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, newPair(t, "x.test"), time.Now())
	r, err := secrets.NewCertReloader(certFile, keyFile, secrets.ReloadInterval(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := r.GetCertificate(nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkCertReloaderGetCertificate(b *testing.B) {
	dir := b.TempDir()
	_, p, _ := secrets.SelfSigned("x.test")
	certFile, keyFile := filepath.Join(dir, "c"), filepath.Join(dir, "k")
	_ = os.WriteFile(certFile, p.Cert, 0o600)
	_ = os.WriteFile(keyFile, p.Key, 0o600)
	r, err := secrets.NewCertReloader(certFile, keyFile)
	if err != nil {
		b.Fatal(err)
	}
	hello := &tls.ClientHelloInfo{}
	for b.Loop() {
		_, _ = r.GetCertificate(hello)
	}
}

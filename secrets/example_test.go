package secrets_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/maestro-ml/maestro/secrets"
)

// A host reads its secrets through a chain: the environment first (NAME or
// NAME_FILE), then a secrets directory. The environment here is a map so
// that the example is self-contained; hosts omit EnvLookup.
func ExampleChain() {
	dir, _ := os.MkdirTemp("", "secrets")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "MAESTRO_DATABASE_URL"), []byte("postgres://app@db/maestro\n"), 0o600)

	env := map[string]string{"MAESTRO_REDIS_URL": "redis://cache:6379/0", "MAESTRO_EMPTY": ""}
	p := secrets.Chain(
		secrets.Env(secrets.EnvLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })),
		secrets.Dir(dir),
	)
	ctx := context.Background()

	redis, _ := p.Get(ctx, "MAESTRO_REDIS_URL")
	db, _ := p.Get(ctx, "MAESTRO_DATABASE_URL")
	empty, err := p.Get(ctx, "MAESTRO_EMPTY")
	fmt.Printf("redis=%s db=%s empty=%q err=%v\n", redis, db, empty, err)

	_, err = p.Get(ctx, "MAESTRO_JWT_SECRET")
	fmt.Println(errors.Is(err, secrets.ErrNotFound))
	// Output:
	// redis=redis://cache:6379/0 db=postgres://app@db/maestro empty="" err=<nil>
	// true
}

// The NAME_FILE convention: the value comes from the file, and setting
// both forms is refused.
func ExampleEnv() {
	dir, _ := os.MkdirTemp("", "secrets")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jwt")
	_ = os.WriteFile(path, []byte("value-from-file\n"), 0o600)

	env := map[string]string{"MAESTRO_JWT_SECRET_FILE": path}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	p := secrets.Env(secrets.EnvPrefix("MAESTRO_"), secrets.EnvLookup(lookup))

	v, err := p.Get(context.Background(), "JWT_SECRET")
	fmt.Println(v, err)

	env["MAESTRO_JWT_SECRET"] = "direct"
	_, err = p.Get(context.Background(), "JWT_SECRET")
	fmt.Println(errors.Is(err, secrets.ErrConflict))
	// Output:
	// value-from-file <nil>
	// true
}

// Generate makes keys that CheckStrength accepts; CheckStrength says why it
// refuses others, without repeating them.
func ExampleCheckStrength() {
	key, err := secrets.Generate(secrets.KeyBytes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(key), secrets.CheckStrength(key))

	for _, s := range []string{"changeme", "changeme-changeme-changeme-changeme", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"} {
		var weak *secrets.WeakSecretError
		if errors.As(secrets.CheckStrength(s), &weak) {
			fmt.Println(weak.Kind)
		}
	}
	// Output:
	// 43 <nil>
	// too short
	// a well-known default value
	// too few distinct characters
}

// TLSConfig follows Mozilla's intermediate profile: TLS 1.2 and 1.3 only.
func ExampleTLSConfig() {
	cert, _, err := secrets.SelfSigned("localhost")
	if err != nil {
		log.Fatal(err)
	}
	cfg := secrets.TLSConfig(secrets.TLSCertificates(cert))
	fmt.Println(tls.VersionName(cfg.MinVersion))
	for _, id := range cfg.CipherSuites {
		fmt.Println(tls.CipherSuiteName(id))
	}
	fmt.Println(cfg.CurvePreferences)
	// Output:
	// TLS 1.2
	// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	// [X25519MLKEM768 X25519 CurveP256 CurveP384]
}

// A production server: certificates from files renewed in place, HSTS on
// the HTTPS listener, and a redirect on the HTTP one.
func ExampleNewCertReloader() {
	reloader, err := secrets.NewCertReloader("/etc/maestro/tls.crt", "/etc/maestro/tls.key",
		secrets.ReloadErrorHandler(func(err error) { log.Print(err) }))
	if err != nil {
		log.Fatal(err) // no usable certificate: refuse to start
	}
	hsts, err := secrets.HSTS(secrets.HSTSIncludeSubDomains())
	if err != nil {
		log.Fatal(err)
	}
	redirect, err := secrets.RedirectHTTPS([]string{"ml.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	app := http.NewServeMux()
	srv := &http.Server{
		Addr:      ":443",
		Handler:   hsts(app),
		TLSConfig: secrets.TLSConfig(secrets.TLSGetCertificate(reloader.GetCertificate)),
	}
	go func() { _ = http.ListenAndServe(":80", redirect) }()
	_ = srv.ListenAndServeTLS("", "")
}

// ACME certificates (Let's Encrypt) with the intermediate profile.
func ExampleAutocertManager() {
	m, err := secrets.AutocertManager(secrets.AutocertOptions{
		Hosts:     []string{"ml.example.com"},
		CacheDir:  "/var/lib/maestro/acme",
		AcceptTOS: true,
		Email:     "ops@example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	redirect, err := secrets.RedirectHTTPS([]string{"ml.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Addr:    ":443",
		Handler: http.NewServeMux(),
		TLSConfig: secrets.TLSConfig(
			secrets.TLSGetCertificate(m.GetCertificate),
			secrets.TLSNextProtos("h2", "http/1.1", acme.ALPNProto),
		),
	}
	go func() { _ = http.ListenAndServe(":80", m.HTTPHandler(redirect)) }()
	_ = srv.ListenAndServeTLS("", "")
}

// A Vault KV v2 secret at secret/maestro/production, with the token read
// from the environment (and re-read on every request, so a token renewed by
// Vault Agent is picked up), behind a cache.
func ExampleVault() {
	v, err := secrets.Vault("https://vault.internal:8200",
		secrets.VaultTokenFrom(secrets.Env(), "VAULT_TOKEN"),
		secrets.VaultPath("maestro/production"),
	)
	if err != nil {
		log.Fatal(err)
	}
	p := secrets.Chain(secrets.Env(), secrets.Cached(v, 5*time.Minute))
	_, _ = p.Get(context.Background(), "MAESTRO_JWT_SECRET")
}

// SelfSigned makes a development certificate that clients trust by adding
// it to their pool.
func ExampleSelfSigned() {
	cert, pemPair, err := secrets.SelfSigned("localhost", "127.0.0.1")
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemPair.Cert)
	_, err = cert.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: pool})
	fmt.Println(cert.Leaf.DNSNames, cert.Leaf.IPAddresses, err)
	// Output:
	// [localhost] [127.0.0.1] <nil>
}

// Cached serves values from memory; Refresh reads through at once, for
// example after a rotation was announced.
func ExampleCached() {
	version := 1
	rotating := secrets.ProviderFunc(func(context.Context, string) (string, error) {
		return fmt.Sprintf("key-v%d", version), nil
	})
	c := secrets.Cached(rotating, time.Hour)
	ctx := context.Background()

	v, _ := c.Get(ctx, "SIGNING_KEY")
	fmt.Println(v)
	version = 2
	v, _ = c.Get(ctx, "SIGNING_KEY")
	fmt.Println(v)
	v, _ = c.Refresh(ctx, "SIGNING_KEY")
	fmt.Println(v)
	// Output:
	// key-v1
	// key-v1
	// key-v2
}

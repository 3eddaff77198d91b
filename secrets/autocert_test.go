package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"

	"github.com/maestro-ml/maestro/secrets"
)

func TestAutocertManager(t *testing.T) {
	t.Parallel()
	cacheDir := t.TempDir()
	policy := func(context.Context, string) error { return nil }
	tests := []struct {
		name string
		opts secrets.AutocertOptions
		ok   bool
	}{
		{"hosts and dir", secrets.AutocertOptions{Hosts: []string{"Example.COM."}, CacheDir: cacheDir, AcceptTOS: true}, true},
		{"policy and cache", secrets.AutocertOptions{HostPolicy: policy, Cache: autocert.DirCache(cacheDir), AcceptTOS: true, Email: "ops@example.com", RenewBefore: 20 * 24 * time.Hour}, true},
		{"staging directory", secrets.AutocertOptions{Hosts: []string{"example.com"}, CacheDir: cacheDir, AcceptTOS: true, DirectoryURL: "https://acme-staging-v02.api.letsencrypt.org/directory"}, true},
		{"no host policy", secrets.AutocertOptions{CacheDir: cacheDir, AcceptTOS: true}, false},
		{"both policies", secrets.AutocertOptions{Hosts: []string{"example.com"}, HostPolicy: policy, CacheDir: cacheDir, AcceptTOS: true}, false},
		{"no cache", secrets.AutocertOptions{Hosts: []string{"example.com"}, AcceptTOS: true}, false},
		{"both caches", secrets.AutocertOptions{Hosts: []string{"example.com"}, Cache: autocert.DirCache(cacheDir), CacheDir: cacheDir, AcceptTOS: true}, false},
		{"terms not accepted", secrets.AutocertOptions{Hosts: []string{"example.com"}, CacheDir: cacheDir}, false},
		{"wildcard host", secrets.AutocertOptions{Hosts: []string{"*.example.com"}, CacheDir: cacheDir, AcceptTOS: true}, false},
		{"invalid host", secrets.AutocertOptions{Hosts: []string{"exa mple.com"}, CacheDir: cacheDir, AcceptTOS: true}, false},
		{"http directory", secrets.AutocertOptions{Hosts: []string{"example.com"}, CacheDir: cacheDir, AcceptTOS: true, DirectoryURL: "http://acme.test/dir"}, false},
		{"negative renew", secrets.AutocertOptions{Hosts: []string{"example.com"}, CacheDir: cacheDir, AcceptTOS: true, RenewBefore: -time.Hour}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := secrets.AutocertManager(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				return
			}
			if m.HostPolicy == nil || m.Cache == nil || m.Prompt == nil {
				t.Fatal("manager lacks policy, cache or prompt")
			}
		})
	}
}

func TestAutocertManagerHostList(t *testing.T) {
	t.Parallel()
	hosts := []string{"Example.COM"}
	m, err := secrets.AutocertManager(secrets.AutocertOptions{Hosts: hosts, CacheDir: t.TempDir(), AcceptTOS: true})
	if err != nil {
		t.Fatal(err)
	}
	hosts[0] = "evil.test"
	ctx := context.Background()
	if err := m.HostPolicy(ctx, "example.com"); err != nil {
		t.Errorf("listed host refused: %v", err)
	}
	for _, h := range []string{"evil.test", "sub.example.com"} {
		if err := m.HostPolicy(ctx, h); err == nil {
			t.Errorf("unlisted host %s accepted", h)
		}
	}
	// The manager itself refuses to fetch certificates for other names.
	_, err = m.GetCertificate(helloFor("evil.test"))
	if err == nil {
		t.Error("GetCertificate for an unlisted host succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("GetCertificate tried the network for an unlisted host")
	}
}

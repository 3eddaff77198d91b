package secrets_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

// TestInvalidOptionsAreErrInvalid checks that every option value the
// package refuses is reported with ErrInvalid, never ignored.
func TestInvalidOptionsAreErrInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lookup := func(string) (string, bool) { return "v", true }
	providers := map[string]interface {
		secrets.Provider
		Err() error
	}{
		"Cached nil provider": secrets.Cached(nil, time.Minute),
		"CacheClock nil":      secrets.Cached(secrets.Env(secrets.EnvLookup(lookup)), time.Minute, secrets.CacheClock(nil)),
		"Cached nil option":   secrets.Cached(secrets.Env(secrets.EnvLookup(lookup)), time.Minute, nil),
		"DirMaxFileSize zero": secrets.Dir(t.TempDir(), secrets.DirMaxFileSize(0)),
		"DirMaxFileSize neg":  secrets.Dir(t.TempDir(), secrets.DirMaxFileSize(-1)),
		"Dir nil option":      secrets.Dir(t.TempDir(), nil),
		"EnvPrefix digit":     secrets.Env(secrets.EnvLookup(lookup), secrets.EnvPrefix("1X_")),
		"EnvPrefix dash":      secrets.Env(secrets.EnvLookup(lookup), secrets.EnvPrefix("A-B")),
		"EnvLookup nil":       secrets.Env(secrets.EnvLookup(nil)),
		"EnvMaxFileSize zero": secrets.Env(secrets.EnvLookup(lookup), secrets.EnvMaxFileSize(0)),
		"Env nil option":      secrets.Env(secrets.EnvLookup(lookup), nil),
	}
	for name, p := range providers {
		if err := p.Err(); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("%s: Err() = %v, want ErrInvalid", name, err)
		}
		if v, err := p.Get(ctx, "NAME"); v != "" || !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("%s: Get = %q, %v; want ErrInvalid", name, v, err)
		}
	}
	only := func(name string) (string, bool) { return "v", name == "APP_NAME" }
	good := secrets.Cached(secrets.Env(secrets.EnvLookup(only), secrets.EnvPrefix("APP_"), secrets.EnvMaxFileSize(10)), time.Minute, secrets.CacheClock(time.Now))
	if v, err := good.Get(ctx, "NAME"); err != nil || v != "v" || good.Err() != nil {
		t.Errorf("valid options: %q, %v, %v", v, err, good.Err())
	}

	for name, opts := range map[string][]secrets.HSTSOption{
		"short max-age":       {secrets.HSTSMaxAge(time.Hour)},
		"negative max-age":    {secrets.HSTSMaxAge(-time.Hour)},
		"preload without sub": {secrets.HSTSPreload()},
		"nil option":          {nil},
	} {
		if h, err := secrets.HSTS(opts...); h != nil || !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("HSTS with %s: %v, want ErrInvalid", name, err)
		}
	}
	for name, opts := range map[string][]secrets.RedirectOption{
		"port 0":     {secrets.RedirectPort(0)},
		"port 65536": {secrets.RedirectPort(65536)},
		"nil option": {nil},
	} {
		if h, err := secrets.RedirectHTTPS([]string{"example.com"}, opts...); h != nil || !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("RedirectHTTPS with %s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := secrets.RedirectHTTPS(nil); !errors.Is(err, secrets.ErrInvalid) {
		t.Errorf("RedirectHTTPS without hosts: %v, want ErrInvalid", err)
	}
	for name, opt := range map[string]secrets.ReloaderOption{
		"zero interval":     secrets.ReloadInterval(0),
		"negative interval": secrets.ReloadInterval(-time.Second),
		"nil handler":       secrets.ReloadErrorHandler(nil),
		"nil clock":         secrets.ReloadClock(nil),
		"nil option":        nil,
	} {
		if r, err := secrets.NewCertReloader("cert.pem", "key.pem", opt); r != nil || !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("NewCertReloader with %s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := secrets.NewProviderCertReloader(ctx, nil, "c", "k"); !errors.Is(err, secrets.ErrInvalid) {
		t.Errorf("NewProviderCertReloader(nil): %v, want ErrInvalid", err)
	}
	const strong = "9f86d081884c7d659a2feaa0c55ad015"
	for name, opt := range map[string]secrets.StrengthOption{
		"zero length":      secrets.StrengthMinLength(0),
		"negative entropy": secrets.StrengthMinEntropyBits(-1),
		"NaN entropy":      secrets.StrengthMinEntropyBits(math.NaN()),
		"infinite entropy": secrets.StrengthMinEntropyBits(math.Inf(1)),
		"empty word":       secrets.StrengthKnownDefaults("ok", " - "),
		"nil option":       nil,
	} {
		err := secrets.CheckStrength(strong, opt)
		if !errors.Is(err, secrets.ErrInvalid) || errors.Is(err, secrets.ErrWeakSecret) {
			t.Errorf("CheckStrength with %s: %v, want ErrInvalid (not ErrWeakSecret)", name, err)
		}
	}
	for name, opt := range map[string]secrets.TLSOption{
		"no certificates":    secrets.TLSCertificates(),
		"nil GetCertificate": secrets.TLSGetCertificate(nil),
		"no protocols":       secrets.TLSNextProtos(),
		"empty protocol":     secrets.TLSNextProtos("h2", ""),
		"nil option":         nil,
	} {
		if err := secrets.CheckTLSOptions(opt); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("CheckTLSOptions with %s: %v, want ErrInvalid", name, err)
		}
		cfg := secrets.TLSConfig(opt)
		if cfg.GetConfigForClient == nil {
			t.Fatalf("TLSConfig with %s serves handshakes", name)
		}
		if c, err := cfg.GetConfigForClient(nil); c != nil || !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("TLSConfig with %s: handshake config %v, %v; want ErrInvalid", name, c, err)
		}
	}
	if err := secrets.CheckTLSOptions(secrets.TLSModern(), secrets.TLSNextProtos("h2")); err != nil {
		t.Errorf("valid TLS options: %v", err)
	}
}

package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/secrets"
)

// envOf returns a secrets provider over the given variables only.
func envOf(vars map[string]string) secrets.Provider {
	return secrets.Env(secrets.EnvLookup(func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}))
}

// loadConfig reads the configuration from p as the program does
// (ConfigFromEnv) and resolves it as New does.
func loadConfig(ctx context.Context, p secrets.Provider) (Config, error) {
	c, err := ConfigFromEnv(ctx, p)
	if err != nil {
		return Config{}, err
	}
	if err := c.resolve(ctx); err != nil {
		return Config{}, err
	}
	return c, nil
}

// TestConfigFromEnvHasNoSideEffects: reading the configuration creates
// nothing; New creates the home and the generated secret.
func TestConfigFromEnvHasNoSideEffects(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	cfg, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(home); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ConfigFromEnv created the home: %v", err)
	}
	if cfg.Home != home || len(cfg.JWTSecret) != 0 {
		t.Fatalf("config %v", cfg)
	}
}

const strongSecret = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw-Qx7"

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	cfg, err := loadConfig(context.Background(), envOf(map[string]string{envHome: home}))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(home)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("home: %v %v", fi.Mode(), err)
	}
	fi, err = os.Stat(filepath.Join(home, jwtSecretFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("jwt secret file: %v %v", fi, err)
	}
	if err := secrets.CheckStrength(string(cfg.JWTSecret)); err != nil {
		t.Fatalf("generated secret is weak: %v", err)
	}
	// A second start reuses the generated secret.
	cfg2, err := loadConfig(context.Background(), envOf(map[string]string{envHome: home}))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg2.JWTSecret) != string(cfg.JWTSecret) {
		t.Fatal("JWT secret changed between starts")
	}
	if cfg.Production || cfg.DatabaseURL != "" || cfg.RedisURL != "" {
		t.Fatalf("unexpected defaults: %v", cfg)
	}
}

func TestLoadConfigSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	cfg, err := loadConfig(context.Background(), envOf(map[string]string{
		envHome: home, envJWTSecret: strongSecret, envAdminPassword: "admin-password-xyz-123",
		envDatabaseURL: "postgres://app:db-password-777@127.0.0.1/x",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.LogValue().String()} {
		for _, secret := range []string{strongSecret, "admin-password-xyz-123", "db-password-777"} {
			if strings.Contains(s, secret) {
				t.Fatalf("printed config contains a secret: %s", s)
			}
		}
	}
	if cfg.databaseKind() != "postgres" {
		t.Fatalf("database kind %s", cfg.databaseKind())
	}
}

func TestLoadConfigFileConvention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "jwt")
	if err := os.WriteFile(path, []byte(strongSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(context.Background(), envOf(map[string]string{
		envHome: filepath.Join(dir, "h"), envJWTSecret + "_FILE": path, envEnv: "production",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.JWTSecret) != strongSecret || !cfg.Production {
		t.Fatal("secret not read from the _FILE path")
	}
	if _, err := os.Stat(filepath.Join(dir, "h", jwtSecretFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a configured secret must not be written to MAESTRO_HOME")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]string{
		"production without secret": {envEnv: "production"},
		"weak secret":               {envJWTSecret: "changeme"},
		"both secret forms":         {envJWTSecret: strongSecret, envJWTSecret + "_FILE": "/nonexistent"},
		"unknown env":               {envEnv: "staging"},
		"cert without key":          {envTLSCert: "/c.pem"},
		"bad database url":          {envDatabaseURL: "mysql://x"},
		"home is a file":            {envHome: notDir},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, ok := vars[envHome]; !ok {
				vars[envHome] = filepath.Join(t.TempDir(), "h")
			}
			if _, err := loadConfig(context.Background(), envOf(vars)); err == nil {
				t.Fatal("loadConfig succeeded")
			}
		})
	}
}

func TestEnsureHomeTightensMode(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "h")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ensureHome(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
}

func TestDatabaseTarget(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dsn    string
		want   dialect
		target string
		bad    bool
	}{
		{"", dialectSQLite, "/h/maestro.db", false},
		{"sqlite:/tmp/x.db", dialectSQLite, "/tmp/x.db", false},
		{"sqlite:///tmp/x.db", dialectSQLite, "/tmp/x.db", false},
		{"postgres://u@h/db", dialectPostgres, "postgres://u@h/db", false},
		{"postgresql://u@h/db", dialectPostgres, "postgresql://u@h/db", false},
		{"sqlite:", "", "", true},
		{"mysql://x", "", "", true},
		{"postgres://u@h/%zz", "", "", true},
	}
	for _, tc := range cases {
		d, target, err := databaseTarget(tc.dsn, "/h")
		if tc.bad != (err != nil) || d != tc.want || target != tc.target {
			t.Errorf("%q: got %s %s %v", tc.dsn, d, target, err)
		}
	}
}

func TestRedactErr(t *testing.T) {
	t.Parallel()
	err := redactErr(errors.New("cannot connect to postgres://u:hunter2-long@h/db"), "postgres://u:hunter2-long@h/db")
	if strings.Contains(err.Error(), "hunter2-long") {
		t.Fatal(err)
	}
	plain := errors.New("x")
	if redactErr(plain, "postgres://u@h/db") != plain {
		t.Fatal("error without a password changed")
	}
}

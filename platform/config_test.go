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
	home := filepath.Join(t.TempDir(), "home")
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

// TestHomeRefusesWhatItCannotTrust is the regression test of F-13: an
// existing MAESTRO_HOME, or a secret file in it, that is a symbolic link,
// is owned by another user or is accessible to group or others stops the
// start (nothing is loosened or silently tightened), and every file the
// server creates in a new home is owner-only.
func TestHomeRefusesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := func(home string) error {
		s, err := New(ctx, Config{Home: home, AdminPassword: testAdminPassword})
		if err == nil {
			_ = s.Close()
		}
		return err
	}
	// A fresh home: every file is owner-only, the database included.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if err := start(fresh); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(fresh)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(fresh, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		names[e.Name()] = true
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v", e.Name(), fi.Mode().Perm())
		}
	}
	for _, want := range []string{sqliteFile, jwtSecretFile} {
		if !names[want] {
			t.Errorf("fresh home lacks %s: %v", want, names)
		}
	}
	if err := start(fresh); err != nil {
		t.Fatalf("restart on its own home: %v", err)
	}

	cases := map[string]func(t *testing.T, home string){
		"home readable by others": func(t *testing.T, home string) { mustChmod(t, home, 0o755) },
		"home is a symlink": func(t *testing.T, home string) {
			target := home + "-target"
			if err := os.Rename(home, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, home); err != nil {
				t.Fatal(err)
			}
		},
		"secret file readable by group": func(t *testing.T, home string) {
			mustChmod(t, filepath.Join(home, jwtSecretFile), 0o640)
		},
		"secret file is a symlink": func(t *testing.T, home string) {
			p := filepath.Join(home, jwtSecretFile)
			other := filepath.Join(t.TempDir(), "elsewhere")
			if err := os.Rename(p, other); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(other, p); err != nil {
				t.Fatal(err)
			}
		},
		"database readable by others": func(t *testing.T, home string) {
			mustChmod(t, filepath.Join(home, sqliteFile), 0o644)
		},
	}
	if os.Geteuid() == 0 {
		cases["home owned by another user"] = func(t *testing.T, home string) {
			if err := os.Chown(home, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			home := filepath.Join(t.TempDir(), "home")
			if err := start(home); err != nil {
				t.Fatal(err)
			}
			spoil(t, home)
			before := modes(t, home)
			if err := start(home); err == nil {
				t.Fatal("the server started on an untrusted home")
			}
			if after := modes(t, home); after != before {
				t.Fatalf("the refused start changed modes:\n%s\n->\n%s", before, after)
			}
		})
	}
}

func mustChmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// modes describes the modes of home and the files in it.
func modes(t *testing.T, home string) string {
	t.Helper()
	var b strings.Builder
	fi, err := os.Lstat(home)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, ". %v\n", fi.Mode())
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		if fi, err := os.Lstat(filepath.Join(home, e.Name())); err == nil {
			fmt.Fprintf(&b, "%s %v\n", e.Name(), fi.Mode())
		}
	}
	return b.String()
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

// Command quickstart-secrets loads a service's configuration the way a
// Maestro host does: through a chain of secret providers — the environment
// (each NAME also as NAME_FILE, the Docker and Kubernetes convention),
// then a secrets directory — with a strength check on keys and a hard
// stop when a required secret is missing.
//
// So that the program runs anywhere, its "environment" is a map and its
// secrets directory a temporary one; a host passes no EnvLookup option
// (the process environment) and mounts a real directory such as
// /run/secrets.
//
//	go run ./examples/quickstart-secrets
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart-secrets:", err)
		os.Exit(1)
	}
}

// config is what the service needs. It holds secrets: never print it.
type config struct {
	DatabaseURL string
	RedisURL    string
	JWTSecret   string
}

// load reads the configuration from p. A missing required secret stops
// start-up; a weak signing key too.
func load(ctx context.Context, p secrets.Provider) (config, error) {
	var c config
	for name, dst := range map[string]*string{
		"DATABASE_URL": &c.DatabaseURL,
		"REDIS_URL":    &c.RedisURL,
		"JWT_SECRET":   &c.JWTSecret,
	} {
		v, err := p.Get(ctx, name)
		if err != nil {
			return config{}, fmt.Errorf("secret %s: %w", name, err)
		}
		*dst = v
	}
	if err := secrets.CheckStrength(c.JWTSecret); err != nil {
		return config{}, fmt.Errorf("secret JWT_SECRET: %w", err)
	}
	return c, nil
}

// run builds the provider chain, loads the configuration and writes what
// happens to w — never the secret values themselves.
func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "quickstart-secrets")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The secrets directory holds one file per secret (mode 0600).
	secretsDir := filepath.Join(dir, "run-secrets")
	if err := os.Mkdir(secretsDir, 0o700); err != nil {
		return err
	}
	key, err := secrets.Generate(secrets.KeyBytes) // 256 random bits, URL-safe text
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(secretsDir, "JWT_SECRET"), []byte(key+"\n"), 0o600); err != nil {
		return err
	}
	// A file named by an environment variable: APP_DATABASE_URL_FILE.
	dbFile := filepath.Join(dir, "database-url")
	if err := os.WriteFile(dbFile, []byte("postgres://app:s3cret@db:5432/maestro\n"), 0o600); err != nil {
		return err
	}
	env := map[string]string{
		"APP_DATABASE_URL_FILE": dbFile,
		"APP_REDIS_URL":         "redis://cache:6379/0",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }

	// The chain asks the environment first, then the directory. Only "not
	// found" moves on: any other error (an unreadable file, NAME and
	// NAME_FILE both set) stops the search, so a misconfiguration is never
	// papered over by a value from further down.
	chain := secrets.Chain(
		secrets.Env(secrets.EnvPrefix("APP_"), secrets.EnvLookup(lookup)),
		secrets.Dir(secretsDir),
	)
	// Cached keeps values in memory for a while: useful in front of a
	// remote store such as Vault (secrets.Vault), harmless here.
	p := secrets.Cached(chain, time.Minute)

	cfg, err := load(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "loaded: database from APP_DATABASE_URL_FILE (%d bytes), redis from APP_REDIS_URL, JWT key from the directory (%d characters, strong)\n",
		len(cfg.DatabaseURL), len(cfg.JWTSecret))

	// Fail closed: a weak key is refused, and the error says why without
	// repeating the value.
	env["APP_JWT_SECRET"] = "changeme"
	_, err = load(ctx, secrets.Chain(secrets.Env(secrets.EnvPrefix("APP_"), secrets.EnvLookup(lookup)), secrets.Dir(secretsDir)))
	fmt.Fprintln(w, "weak key refused:", errors.Is(err, secrets.ErrWeakSecret))

	// ... and so is a missing one.
	delete(env, "APP_JWT_SECRET")
	_, err = load(ctx, secrets.Env(secrets.EnvPrefix("APP_"), secrets.EnvLookup(lookup)))
	fmt.Fprintln(w, "missing key stops start-up:", errors.Is(err, secrets.ErrNotFound))

	// Setting both NAME and NAME_FILE is ambiguous, so it is an error.
	env["APP_DATABASE_URL"] = "postgres://elsewhere"
	_, err = chain.Get(ctx, "DATABASE_URL")
	fmt.Fprintln(w, "NAME and NAME_FILE both set refused:", errors.Is(err, secrets.ErrConflict))
	return nil
}

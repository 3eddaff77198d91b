package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maestro-ml/maestro/secrets"
)

// Configuration names, read through a secrets.Provider (the process
// environment, each also as NAME_FILE). docs/platform.md has the table.
const (
	envEnv              = "MAESTRO_ENV"
	envHome             = "MAESTRO_HOME"
	envDatabaseURL      = "MAESTRO_DATABASE_URL"
	envDatabaseOwnerURL = "MAESTRO_DATABASE_OWNER_URL"
	envRedisURL         = "MAESTRO_REDIS_URL"
	envJWTSecret        = "MAESTRO_JWT_SECRET" // #nosec G101 -- the name of an environment variable, not a credential
	envAdminPassword    = "MAESTRO_ADMIN_PASSWORD"
	envEmbeddingsURL    = "MAESTRO_EMBEDDINGS_URL"
	envEmbeddingsModel  = "MAESTRO_EMBEDDINGS_MODEL"
	envEmbeddingsAPIKey = "MAESTRO_EMBEDDINGS_API_KEY" // #nosec G101 -- the name of an environment variable, not a credential
	envTLSCert          = "MAESTRO_TLS_CERT"
	envTLSKey           = "MAESTRO_TLS_KEY"
	envMetricsAddr      = "MAESTRO_METRICS_ADDR"
	envSimilarityMemory = "MAESTRO_SIMILARITY_MEMORY"
	envPrincipalCache   = "MAESTRO_PRINCIPAL_CACHE"
	envEmbedder         = "MAESTRO_EMBEDDER"
)

// Files the server keeps in MAESTRO_HOME, each written once with mode 0600.
const (
	defaultHome       = ".maestro"
	jwtSecretFile     = "jwt_secret"
	adminPasswordFile = "initial_admin_password"
)

// Config is the platform's configuration: what New needs besides the
// parts a host may replace through options. A host fills it (the zero
// value serves on a SQLite file under ./.maestro), or reads it from the
// environment with ConfigFromEnv.
//
// It holds secret values (the JWT secret, the database URLs, the admin
// password): never log it; its LogValue and String methods list only what
// is safe.
type Config struct {
	// Production (MAESTRO_ENV=production) fails closed on every doubt: a
	// JWT secret is required, a database role that bypasses row-level
	// security or a missing schema stops the start.
	Production bool
	// Home (MAESTRO_HOME, default ./.maestro) holds the SQLite file, the
	// blob directory and generated secrets; it is created with mode 0700.
	Home string

	// DatabaseURL (MAESTRO_DATABASE_URL) is postgres://..., or
	// sqlite:PATH; empty serves on the SQLite file maestro.db in Home.
	DatabaseURL string
	// DatabaseOwnerURL (MAESTRO_DATABASE_OWNER_URL) is used by InitDB
	// only: a role that may create tables and roles.
	DatabaseOwnerURL string
	// RedisURL (MAESTRO_REDIS_URL) keeps sessions and throttling in Redis,
	// shared by replicas; empty keeps them in the database and in memory.
	RedisURL string

	// JWTSecret (MAESTRO_JWT_SECRET) signs access tokens. Empty outside
	// production: a secret generated once into Home/jwt_secret (0600).
	JWTSecret []byte
	// AdminPassword (MAESTRO_ADMIN_PASSWORD) is the bootstrap password of
	// the user admin; empty: generated and written once to
	// Home/initial_admin_password (0600).
	AdminPassword string

	// EmbeddingsURL (MAESTRO_EMBEDDINGS_URL) is the base URL, ending in
	// /v1, of an OpenAI-compatible embeddings service, with its model
	// (MAESTRO_EMBEDDINGS_MODEL, required then) and key
	// (MAESTRO_EMBEDDINGS_API_KEY, optional). Empty: the built-in offline
	// embedder.
	EmbeddingsURL    string
	EmbeddingsModel  string
	EmbeddingsAPIKey string
	// Embedder (MAESTRO_EMBEDDER) chooses the built-in embedder used when
	// EmbeddingsURL is empty: EmbedderMiniLM (the default, also when
	// empty) runs all-MiniLM-L6-v2 in the process; EmbedderStatic is
	// staticembed, its static token vectors, far cheaper in CPU and
	// weaker in ranking (docs/similarity.md).
	Embedder string

	// TLSCert and TLSKey (MAESTRO_TLS_CERT, MAESTRO_TLS_KEY) are PEM
	// values or file paths; both or neither. Empty: plain HTTP.
	TLSCert string
	TLSKey  string

	// MetricsAddr (MAESTRO_METRICS_ADDR), a HOST:PORT, makes Serve serve
	// Prometheus metrics at /metrics on a listener of their own, apart
	// from the API. Empty (the default): no metrics listener
	// (MetricsHandler still serves them to a host that mounts it).
	MetricsAddr string

	// SimilarityMemory (MAESTRO_SIMILARITY_MEMORY: bytes, or a number
	// with the suffix KiB, MiB or GiB) bounds the in-memory similarity
	// index of all tenants together; the least recently searched tenants
	// are evicted beyond it (similarity.WithMemoryBudget). Zero: the
	// default, similarity.DefaultMemoryBudget (512 MiB).
	SimilarityMemory int64

	// NoPrincipalCache (MAESTRO_PRINCIPAL_CACHE=off) makes every
	// authenticated request read its user and membership from the
	// database instead of the principal cache: an operations and
	// measurement knob (the load test's before/after), never needed for
	// correctness.
	NoPrincipalCache bool

	// secrets is the provider the configuration came from; PEM TLS
	// material is reloaded through it. Nil for a Config a host filled.
	secrets secrets.Provider
}

// LogValue implements slog.LogValuer: the configuration without secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("production", c.Production),
		slog.String("home", c.Home),
		slog.String("database", c.databaseKind()),
		slog.Bool("redis", c.RedisURL != ""),
		slog.Bool("tls", c.TLSCert != ""),
		slog.Bool("external_embeddings", c.EmbeddingsURL != ""),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.Int64("similarity_memory", c.SimilarityMemory),
		slog.Bool("principal_cache", !c.NoPrincipalCache),
	)
}

// String describes the configuration without secrets, so that printing a
// config by mistake (%v, %s) leaks nothing.
func (c Config) String() string { return c.LogValue().String() }

// GoString is String, for %#v.
func (c Config) GoString() string { return c.String() }

func (c Config) databaseKind() string {
	d, _, err := databaseTarget(c.DatabaseURL, c.Home)
	if err != nil {
		return "invalid"
	}
	return string(d)
}

// ConfigFromEnv reads the configuration from the MAESTRO_* variables
// through p — normally secrets.Env(), so that each value may also be given
// as NAME_FILE, a path holding it — and checks it. A nil p is
// secrets.Env(). It has no side effects: New creates Home and generates
// what is missing.
func ConfigFromEnv(ctx context.Context, p secrets.Provider) (Config, error) {
	if p == nil {
		p = secrets.Env()
	}
	c := Config{secrets: p}
	get := func(name string, dst *string) error {
		v, err := p.Get(ctx, name)
		switch {
		case errors.Is(err, secrets.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		*dst = strings.TrimSpace(v)
		return nil
	}
	var env, jwtSecret, simMemory, principalCache string
	for name, dst := range map[string]*string{
		envSimilarityMemory: &simMemory, envPrincipalCache: &principalCache,
		envEnv: &env, envHome: &c.Home, envDatabaseURL: &c.DatabaseURL,
		envDatabaseOwnerURL: &c.DatabaseOwnerURL, envRedisURL: &c.RedisURL,
		envJWTSecret: &jwtSecret, envAdminPassword: &c.AdminPassword,
		envEmbeddingsURL: &c.EmbeddingsURL, envEmbeddingsModel: &c.EmbeddingsModel,
		envEmbeddingsAPIKey: &c.EmbeddingsAPIKey, envTLSCert: &c.TLSCert, envTLSKey: &c.TLSKey,
		envMetricsAddr: &c.MetricsAddr, envEmbedder: &c.Embedder,
	} {
		if err := get(name, dst); err != nil {
			return Config{}, err
		}
	}
	switch strings.ToLower(env) {
	case "production", "prod":
		c.Production = true
	case "", "development", "dev", "test":
	default:
		return Config{}, fmt.Errorf("%s must be production or development, not %q", envEnv, env)
	}
	if jwtSecret != "" {
		c.JWTSecret = []byte(jwtSecret)
	}
	if simMemory != "" {
		n, err := parseBytes(simMemory)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", envSimilarityMemory, err)
		}
		c.SimilarityMemory = n
	}
	switch strings.ToLower(principalCache) {
	case "", "on":
	case "off":
		c.NoPrincipalCache = true
	default:
		return Config{}, fmt.Errorf("%s must be on or off, not %q", envPrincipalCache, principalCache)
	}
	if err := c.check(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// check validates c without touching the file system.
func (c *Config) check() error {
	if c.Home == "" {
		c.Home = defaultHome
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("set both %s and %s, or neither", envTLSCert, envTLSKey)
	}
	if _, _, err := databaseTarget(c.DatabaseURL, c.Home); err != nil {
		return err
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return fmt.Errorf("%s must be HOST:PORT, not %q", envMetricsAddr, c.MetricsAddr)
		}
	}
	switch c.Embedder {
	case "", EmbedderMiniLM, EmbedderStatic:
	default:
		return fmt.Errorf("%s must be %s or %s, not %q", envEmbedder, EmbedderMiniLM, EmbedderStatic, c.Embedder)
	}
	if c.SimilarityMemory < 0 || (c.SimilarityMemory > 0 && c.SimilarityMemory < minSimilarityMemory) {
		return fmt.Errorf("%s must be at least %d bytes, not %d", envSimilarityMemory, minSimilarityMemory, c.SimilarityMemory)
	}
	if len(c.JWTSecret) > 0 {
		if err := secrets.CheckStrength(string(c.JWTSecret)); err != nil {
			return fmt.Errorf("%s: %w", envJWTSecret, err)
		}
	} else if c.Production {
		return fmt.Errorf("%s (or %s%s) is required when %s=production", envJWTSecret, envJWTSecret, secrets.FileSuffix, envEnv)
	}
	return nil
}

// resolve checks c, creates Home (0700) and, when no JWT secret is set
// (only outside production), uses the one generated once into
// Home/jwt_secret (0600).
func (c *Config) resolve(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := ensureHome(c.Home); err != nil {
		return err
	}
	if len(c.JWTSecret) > 0 {
		c.JWTSecret = bytes.Clone(c.JWTSecret)
		return nil
	}
	secret, err := homeSecret(ctx, c.Home, jwtSecretFile, func() (string, error) { return secrets.Generate(secrets.KeyBytes) })
	if err != nil {
		return err
	}
	c.JWTSecret = []byte(secret)
	return nil
}

// homeSecret returns the secret kept in Home/name, creating the file with
// generate's value when it does not exist. The file is read through
// secrets.Dir, which refuses anything but a small regular file, and a value
// read back must pass secrets.CheckStrength, like MAESTRO_JWT_SECRET: a
// truncated or hand-edited file stops the start with an error naming it.
//
// A new file appears complete or not at all (see writeSecretFile), and
// never replaces an existing one, so two processes starting at once agree
// on one value: the loser reads the winner's.
func homeSecret(ctx context.Context, home, name string, generate func() (string, error)) (string, error) {
	if err := checkHomeFile(home, name); err != nil {
		return "", err
	}
	dir := secrets.Dir(home)
	v, err := dir.Get(ctx, name)
	if err == nil {
		return checkHomeSecret(home, name, v)
	}
	if !errors.Is(err, secrets.ErrNotFound) {
		return "", err
	}
	v, err = generate()
	if err != nil {
		return "", err
	}
	if err := secrets.CheckStrength(v); err != nil {
		return "", fmt.Errorf("generated %s: %w", name, err)
	}
	err = writeSecretFile(home, name, func(f *os.File) error {
		_, err := f.WriteString(v + "\n")
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		// Another process won the race; use its value.
		if v, err = dir.Get(ctx, name); err != nil {
			return "", err
		}
		return checkHomeSecret(home, name, v)
	}
	if err != nil {
		return "", err
	}
	return v, nil
}

// checkHomeSecret returns v, the content of Home/name, unless it is empty
// or weak. The error names the file and the remedy, never the value.
func checkHomeSecret(home, name, v string) (string, error) {
	path := filepath.Join(home, name)
	if v == "" {
		return "", fmt.Errorf("%s is empty; delete it to generate a new one", path)
	}
	if err := secrets.CheckStrength(v); err != nil {
		return "", fmt.Errorf("%s holds a weak value (was it truncated or edited?); delete it to generate a new one: %w", path, err)
	}
	return v, nil
}

// writeSecretFile creates dir/name with mode 0600 and the content write
// puts into it, atomically: write fills a temporary file in dir (0600),
// which is synced, closed and then linked to its name — which fails with
// fs.ErrExist, replacing nothing, when the name exists — and the directory
// is synced. On any error the temporary file is removed and dir/name does
// not exist unless another process created it, so a failed write (a full
// disk) never leaves a partial secret behind. On file systems without hard
// links the temporary file is renamed instead, which may replace a file
// created at the same moment.
func writeSecretFile(dir, name string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("write %s: remove temporary file: %w", name, rmErr)
		}
	}()
	werr := f.Chmod(0o600) // CreateTemp's mode already; stated for the reader
	if werr == nil {
		werr = write(f)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", name, werr)
	}
	final := filepath.Join(dir, name)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return syncDir(dir)
}

// syncDir makes the creation of a file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir) // #nosec G304 -- a directory of the operator-configured MAESTRO_HOME
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}

// minSimilarityMemory is the smallest MAESTRO_SIMILARITY_MEMORY accepted:
// 1 MiB, a few hundred vectors of 384 dimensions.
const minSimilarityMemory = 1 << 20

// parseBytes reads a byte count: digits, optionally followed by KiB, MiB
// or GiB (also K, M, G), up to 1 TiB.
func parseBytes(v string) (int64, error) {
	num, mult := strings.TrimSpace(v), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a byte count (bytes, or a number with KiB, MiB or GiB, at most 1 TiB)", v)
	}
	return n * mult, nil
}

// Package testenv gives tests the real services they need: a fresh
// PostgreSQL database, a Redis connection with a private key prefix, an
// OpenAI-compatible embeddings server, and a fresh SQLite file.
//
// Services come from the environment:
//
//	MAESTRO_TEST_POSTGRES_URL    a role that may CREATE DATABASE and CREATE ROLE
//	                             (for example postgres://postgres@127.0.0.1:5432/postgres)
//	MAESTRO_TEST_REDIS_URL       redis://127.0.0.1:6379/0
//	MAESTRO_TEST_EMBEDDINGS_URL  http://127.0.0.1:8088/v1 (a real sentence-embedding model)
//	MAESTRO_TEST_EMBEDDINGS_MODEL the model name that server answers to
//
// When a variable is unset the test is skipped with a message naming it,
// unless MAESTRO_REQUIRE_SERVICES=1 is set (CI sets it), in which case the
// test fails instead: in CI no service-backed test may be skipped silently.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Environment variable names read by this package.
const (
	EnvPostgresURL     = "MAESTRO_TEST_POSTGRES_URL"
	EnvRedisURL        = "MAESTRO_TEST_REDIS_URL"
	EnvEmbeddingsURL   = "MAESTRO_TEST_EMBEDDINGS_URL"
	EnvEmbeddingsModel = "MAESTRO_TEST_EMBEDDINGS_MODEL"
	EnvRequire         = "MAESTRO_REQUIRE_SERVICES"
)

// Required reports whether service-backed tests are mandatory (CI).
func Required() bool {
	v := os.Getenv(EnvRequire)
	return v == "1" || strings.EqualFold(v, "true")
}

// need returns the value of the environment variable env or skips (or,
// when services are required, fails) the test.
func need(tb testing.TB, env, what string) string {
	tb.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if Required() {
		tb.Fatalf("%s is required (%s=1) but %s is not set", what, EnvRequire, env)
	}
	tb.Skipf("skipping: %s not available (set %s; .ci/run does)", what, env)
	return ""
}

// RandomSuffix returns n random bytes hex-encoded, for unique names.
func RandomSuffix(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// PostgresAdminURL returns the administrative PostgreSQL URL from the
// environment, or skips/fails the test.
func PostgresAdminURL(tb testing.TB) string {
	tb.Helper()
	return need(tb, EnvPostgresURL, "PostgreSQL")
}

// PostgresURL creates a fresh, empty database owned by the administrative
// role, drops it when the test ends, and returns its URL.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	admin := PostgresAdminURL(tb)
	name := "maestro_test_" + RandomSuffix(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("testenv: connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testenv: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("testenv: drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("testenv: parse %s: %v", EnvPostgresURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// WithUser returns dsn with its user and password replaced.
func WithUser(tb testing.TB, dsn, user, password string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("testenv: parse url: %v", err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// PostgresAppRole creates a login role that is no superuser, has no
// BYPASSRLS and owns nothing, and returns its name and a URL for dbURL that
// connects as it. The role is dropped when the test ends. Grants are the
// caller's business.
func PostgresAppRole(tb testing.TB, dbURL string) (role, appURL string) {
	tb.Helper()
	role = "maestro_app_" + RandomSuffix(5)
	password := RandomSuffix(16)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatalf("testenv: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '%s'", role, password)); err != nil {
		tb.Fatalf("testenv: create role: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP OWNED BY "+role)
		_, _ = c.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	})
	return role, WithUser(tb, dbURL, role, password)
}

func quietLogger() logger.Interface { return logger.Default.LogMode(logger.Silent) }

// Postgres opens a GORM connection to a fresh database (see PostgresURL).
func Postgres(tb testing.TB) *gorm.DB {
	tb.Helper()
	return OpenPostgres(tb, PostgresURL(tb))
}

// OpenPostgres opens a GORM connection to dsn and closes it when the test ends.
func OpenPostgres(tb testing.TB, dsn string) *gorm.DB {
	tb.Helper()
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: quietLogger()})
	if err != nil {
		tb.Fatalf("testenv: open PostgreSQL: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// SQLite opens a GORM connection to a fresh SQLite file in the test's
// temporary directory, with foreign keys on and a busy timeout.
func SQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.db")
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"), &gorm.Config{Logger: quietLogger()})
	if err != nil {
		tb.Fatalf("testenv: open SQLite: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// PlatformSQLite is SQLite opened as the platform opens its file: write
// transactions take the lock when they begin (_txlock=immediate), so
// concurrent writers — request handlers and background jobs — wait for
// each other instead of failing on a lock upgrade.
func PlatformSQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "test.db")
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"), &gorm.Config{Logger: quietLogger()})
	if err != nil {
		tb.Fatalf("testenv: open SQLite: %v", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// PlatformDatabases is Databases with PlatformSQLite for SQLite.
func PlatformDatabases(t *testing.T) map[string]func(testing.TB) *gorm.DB {
	t.Helper()
	dbs := Databases(t)
	dbs["sqlite"] = PlatformSQLite
	return dbs
}

// Databases returns the databases a storage test should run against: SQLite
// always, and PostgreSQL when available (or required). Use it with t.Run.
func Databases(t *testing.T) map[string]func(testing.TB) *gorm.DB {
	t.Helper()
	dbs := map[string]func(testing.TB) *gorm.DB{"sqlite": SQLite}
	if os.Getenv(EnvPostgresURL) != "" || Required() {
		dbs["postgres"] = Postgres
	} else {
		t.Logf("PostgreSQL cases skipped: %s not set", EnvPostgresURL)
	}
	return dbs
}

// Redis returns a client for the test Redis server and a key prefix unique
// to this test; keys under the prefix are deleted when the test ends.
func Redis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	raw := need(tb, EnvRedisURL, "Redis")
	opt, err := redis.ParseURL(raw)
	if err != nil {
		tb.Fatalf("testenv: parse %s: %v", EnvRedisURL, err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("testenv: ping Redis: %v", err)
	}
	prefix := "maestro-test:" + RandomSuffix(6) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		_ = c.Close()
	})
	return c, prefix
}

// Embeddings returns the base URL (ending in /v1) and model name of the
// OpenAI-compatible embeddings server with a real neural model.
func Embeddings(tb testing.TB) (baseURL, model string) {
	tb.Helper()
	baseURL = need(tb, EnvEmbeddingsURL, "the neural embeddings server")
	model = os.Getenv(EnvEmbeddingsModel)
	if model == "" {
		model = "all-MiniLM-L6-v2"
	}
	return baseURL, model
}

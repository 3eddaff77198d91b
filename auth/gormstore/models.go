package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// Row types. The schema itself is defined by the migration steps below;
// the tags only map fields to columns.

type sessionRow struct {
	ID        string     `gorm:"column:id;primaryKey"`
	UserID    string     `gorm:"column:user_id"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
}

func (sessionRow) TableName() string { return "auth_sessions" }

type refreshRow struct {
	Hash      string     `gorm:"column:hash;primaryKey"`
	SessionID string     `gorm:"column:session_id"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	SpentAt   *time.Time `gorm:"column:spent_at"`
}

func (refreshRow) TableName() string { return "auth_refresh_tokens" }

type deniedRow struct {
	TokenID   string    `gorm:"column:token_id;primaryKey"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

func (deniedRow) TableName() string { return "auth_denied_tokens" }

type apiKeyRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	TenantID   string     `gorm:"column:tenant_id"`
	UserID     string     `gorm:"column:user_id"`
	Name       string     `gorm:"column:name"`
	Prefix     string     `gorm:"column:prefix"`
	Hash       string     `gorm:"column:hash"`
	Role       string     `gorm:"column:role"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
}

func (apiKeyRow) TableName() string { return "auth_api_keys" }

// MigrationComponent is the component name under which this package's
// schema versions are recorded in the schema_migrations table.
const MigrationComponent = "auth"

// SchemaVersion is the schema version this package needs.
const SchemaVersion int64 = 1

// TableNames returns the names of the tables Migrate creates, for grants
// (an application role needs SELECT, INSERT, UPDATE and DELETE on them).
// They are platform-level tables: do not enable row-level security on them,
// since sessions and API keys are looked up before any tenant is known.
func TableNames() []string {
	return []string{"auth_sessions", "auth_refresh_tokens", "auth_denied_tokens", "auth_api_keys"}
}

// steps are the schema's versioned migrations; the SQL is the same on
// SQLite and PostgreSQL except for the timestamp type ({{ts}}, expanded
// by migrate.Exec).
func steps() []migrate.Step {
	return []migrate.Step{
		migrate.SQL(1, "sessions, refresh tokens, denied tokens, API keys", []string{
			`CREATE TABLE auth_sessions (
	id varchar(64) PRIMARY KEY,
	user_id varchar(64) NOT NULL,
	created_at {{ts}} NOT NULL,
	expires_at {{ts}} NOT NULL,
	revoked_at {{ts}}
)`,
			`CREATE INDEX ix_auth_sessions_user ON auth_sessions (user_id)`,
			`CREATE INDEX ix_auth_sessions_expires ON auth_sessions (expires_at)`,
			`CREATE TABLE auth_refresh_tokens (
	hash varchar(64) PRIMARY KEY,
	session_id varchar(64) NOT NULL,
	expires_at {{ts}} NOT NULL,
	spent_at {{ts}}
)`,
			`CREATE INDEX ix_auth_refresh_tokens_session ON auth_refresh_tokens (session_id)`,
			`CREATE INDEX ix_auth_refresh_tokens_expires ON auth_refresh_tokens (expires_at)`,
			`CREATE TABLE auth_denied_tokens (
	token_id varchar(64) PRIMARY KEY,
	expires_at {{ts}} NOT NULL
)`,
			`CREATE INDEX ix_auth_denied_tokens_expires ON auth_denied_tokens (expires_at)`,
			`CREATE TABLE auth_api_keys (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	user_id varchar(64) NOT NULL,
	name varchar(200) NOT NULL,
	prefix varchar(16) NOT NULL,
	hash varchar(64) NOT NULL,
	role varchar(16) NOT NULL,
	expires_at {{ts}},
	last_used_at {{ts}},
	revoked_at {{ts}},
	created_at {{ts}} NOT NULL
)`,
			`CREATE UNIQUE INDEX ux_auth_api_keys_hash ON auth_api_keys (hash)`,
			`CREATE INDEX ix_auth_api_keys_prefix ON auth_api_keys (prefix)`,
			`CREATE INDEX ix_auth_api_keys_tenant_user ON auth_api_keys (tenant_id, user_id, created_at)`,
		}, []string{
			`DROP TABLE auth_api_keys`,
			`DROP TABLE auth_denied_tokens`,
			`DROP TABLE auth_refresh_tokens`,
			`DROP TABLE auth_sessions`,
		}),
	}
}

func migrator() (*migrate.Migrator, error) { return migrate.New(MigrationComponent, steps()...) }

// Migrate brings the schema of both stores up to SchemaVersion, each step in
// its own transaction, recorded in schema_migrations under component
// "auth". It is idempotent and safe to run from several processes at once.
// Run it as a role that may create tables, with a context that carries no
// tenant.
func Migrate(ctx context.Context, db *gorm.DB) error {
	m, err := migrator()
	if err != nil {
		return err
	}
	_, err = m.Up(ctx, db)
	return err
}

// MigrateDown reverses the applied steps above version, newest first;
// MigrateDown(ctx, db, 0) drops every table of this package, with its rows.
func MigrateDown(ctx context.Context, db *gorm.DB, version int64) error {
	m, err := migrator()
	if err != nil {
		return err
	}
	_, err = m.Down(ctx, db, version)
	return err
}

// CurrentSchemaVersion returns the highest step of this package applied to
// db, or 0 for none.
func CurrentSchemaVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	m, err := migrator()
	if err != nil {
		return 0, err
	}
	return m.Version(ctx, db)
}

// utc returns t in UTC, truncated to microseconds (PostgreSQL's precision)
// so values compare equally on every database.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}

func val(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

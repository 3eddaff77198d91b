package tenancy

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// MigrationComponent is the component name under which this package's
// schema versions are recorded in the table schema_migrations.
const MigrationComponent = "tenancy"

// SchemaVersion is the schema version this package needs.
const SchemaVersion int64 = 2

// schemaSteps are the versioned migrations of the Manager's tables. The
// SQL runs on SQLite and PostgreSQL ({{ts}} is expanded by migrate.Exec)
// and reproduces the schema GORM's AutoMigrate gave these tables before
// the package migrated through versioned steps: the same tables, columns,
// constraints and index names. Step 1 uses IF NOT EXISTS throughout, so on
// a database that AutoMigrate prepared it changes nothing and only records
// version 1.
func schemaSteps() []migrate.Step {
	return []migrate.Step{
		migrate.SQL(1, "tenants, users, memberships, quotas", []string{
			`CREATE TABLE IF NOT EXISTS tenants (
	id varchar(36),
	name varchar(200) NOT NULL,
	slug varchar(63) NOT NULL,
	disabled boolean NOT NULL DEFAULT false,
	created_at {{ts}},
	updated_at {{ts}},
	PRIMARY KEY (id)
)`,
			`CREATE UNIQUE INDEX IF NOT EXISTS idx_tenants_slug ON tenants (slug)`,
			`CREATE TABLE IF NOT EXISTS users (
	id varchar(36),
	username varchar(64) NOT NULL,
	email varchar(254) NOT NULL DEFAULT '',
	password_hash varchar(512) NOT NULL,
	is_superadmin boolean NOT NULL DEFAULT false,
	disabled boolean NOT NULL DEFAULT false,
	created_at {{ts}},
	updated_at {{ts}},
	PRIMARY KEY (id)
)`,
			`CREATE UNIQUE INDEX IF NOT EXISTS idx_users_username ON users (username)`,
			`CREATE TABLE IF NOT EXISTS memberships (
	user_id varchar(36),
	tenant_id varchar(36),
	role bigint NOT NULL,
	created_at {{ts}},
	updated_at {{ts}},
	PRIMARY KEY (user_id, tenant_id),
	CONSTRAINT fk_memberships_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
	CONSTRAINT fk_memberships_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
)`,
			`CREATE INDEX IF NOT EXISTS idx_memberships_tenant_id ON memberships (tenant_id)`,
			`CREATE TABLE IF NOT EXISTS tenant_quotas (
	tenant_id varchar(36),
	users bigint NOT NULL DEFAULT 0,
	projects bigint NOT NULL DEFAULT 0,
	artifacts bigint NOT NULL DEFAULT 0,
	storage_bytes bigint NOT NULL DEFAULT 0,
	updated_at {{ts}},
	PRIMARY KEY (tenant_id),
	CONSTRAINT fk_tenant_quotas_tenant FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
)`,
		}, []string{
			`DROP TABLE tenant_quotas`,
			`DROP TABLE memberships`,
			`DROP TABLE users`,
			`DROP TABLE tenants`,
		}),
		{
			Version: 2,
			Name:    "quota of metric points",
			// A database that AutoMigrate prepared from a Quota with this
			// field has the column already; adding it again would fail.
			Up: func(_ context.Context, tx *gorm.DB) error {
				if tx.Migrator().HasColumn(&Quota{}, "metric_points") {
					return nil
				}
				return migrate.Exec(tx, `ALTER TABLE tenant_quotas ADD COLUMN metric_points bigint NOT NULL DEFAULT 0`)
			},
			Down: func(_ context.Context, tx *gorm.DB) error {
				return migrate.Exec(tx, `ALTER TABLE tenant_quotas DROP COLUMN metric_points`)
			},
		},
	}
}

func schemaMigrator() (*migrate.Migrator, error) {
	return migrate.New(MigrationComponent, schemaSteps()...)
}

// Migrate brings the schema of the Manager's tables (tenants, users,
// memberships and tenant_quotas) up to SchemaVersion, each step in its own
// transaction, recorded in schema_migrations under component "tenancy". It
// is idempotent and safe to run from several processes at once. Run it
// first (the other packages' tables may refer to tenants), as a role that
// may create tables; any tenant in ctx is ignored.
//
// A database whose tables an earlier release created with GORM's
// AutoMigrate is adopted as it is: step 1 creates only what is missing.
func Migrate(ctx context.Context, db *gorm.DB) error {
	m, err := schemaMigrator()
	if err != nil {
		return err
	}
	if _, err := m.Up(ctx, platformDB(ctx, db)); err != nil {
		return fmt.Errorf("tenancy: migrate: %w", err)
	}
	return nil
}

// MigrateDown reverses the applied steps above version, newest first;
// MigrateDown(ctx, db, 0) drops the Manager's tables with their rows.
// Reverse the packages whose tables refer to tenants first.
func MigrateDown(ctx context.Context, db *gorm.DB, version int64) error {
	m, err := schemaMigrator()
	if err != nil {
		return err
	}
	if _, err := m.Down(ctx, platformDB(ctx, db), version); err != nil {
		return fmt.Errorf("tenancy: migrate down: %w", err)
	}
	return nil
}

// CurrentSchemaVersion returns the highest step of this package applied to
// db, or 0 for none.
func CurrentSchemaVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	m, err := schemaMigrator()
	if err != nil {
		return 0, err
	}
	v, err := m.Version(ctx, platformDB(ctx, db))
	if err != nil {
		return 0, fmt.Errorf("tenancy: schema version: %w", err)
	}
	return v, nil
}

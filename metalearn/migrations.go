package metalearn

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// MigrationComponent is the component name under which this package's
// schema versions are recorded in schema_migrations.
const MigrationComponent = "metalearn"

// SchemaVersion is the schema version this package needs.
const SchemaVersion int64 = 2

func migrationSteps() []migrate.Step {
	return []migrate.Step{
		migrate.SQL(1, "metalearn_models", []string{
			`CREATE TABLE metalearn_models (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	version integer NOT NULL CHECK (version >= 1),
	format_version integer NOT NULL,
	feature_set_version integer NOT NULL,
	n_projects integer NOT NULL,
	trained_at {{ts}} NOT NULL,
	data_through {{ts}},
	success_model varchar(32) NOT NULL,
	cv_mae double precision NOT NULL,
	cv_spearman double precision NOT NULL,
	baseline_mae double precision NOT NULL,
	summary text NOT NULL,
	sha256 varchar(64) NOT NULL,
	size_bytes integer NOT NULL,
	pinned boolean NOT NULL DEFAULT false,
	created_at {{ts}} NOT NULL,
	data {{blob}} NOT NULL,
	UNIQUE (tenant_id, version)
)`,
		}, []string{`DROP TABLE metalearn_models`}),
		migrate.SQL(2, "metalearn_jobs", []string{
			`CREATE TABLE metalearn_jobs (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	status varchar(16) NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
	trigger_kind varchar(16) NOT NULL,
	progress double precision NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
	owner varchar(64) NOT NULL,
	error text NOT NULL DEFAULT '',
	result text NOT NULL DEFAULT '',
	created_at {{ts}} NOT NULL,
	started_at {{ts}},
	heartbeat_at {{ts}} NOT NULL,
	finished_at {{ts}}
)`,
			// At most one active job per tenant, whichever process inserts it.
			`CREATE UNIQUE INDEX metalearn_jobs_one_active ON metalearn_jobs (tenant_id) WHERE status IN ('queued', 'running')`,
			`CREATE INDEX metalearn_jobs_tenant_created ON metalearn_jobs (tenant_id, created_at)`,
		}, []string{`DROP TABLE metalearn_jobs`}),
	}
}

// Migrate brings this package's schema (the table metalearn_models) up to
// SchemaVersion through the module's versioned migration runner (component
// "metalearn" in schema_migrations). It is safe on every start and from
// several processes. Call it with a context that carries no tenant, as the
// database owner.
func Migrate(ctx context.Context, db *gorm.DB) error {
	m, err := migrate.New(MigrationComponent, migrationSteps()...)
	if err != nil {
		return err
	}
	if _, err := m.Up(ctx, db); err != nil {
		return fmt.Errorf("metalearn: migrate: %w", err)
	}
	return nil
}

// MigrateDown reverses this package's steps above version (0 drops the
// table with every stored model).
func MigrateDown(ctx context.Context, db *gorm.DB, version int64) error {
	m, err := migrate.New(MigrationComponent, migrationSteps()...)
	if err != nil {
		return err
	}
	if _, err := m.Down(ctx, db, version); err != nil {
		return fmt.Errorf("metalearn: migrate down: %w", err)
	}
	return nil
}

// CurrentSchemaVersion returns the highest step of this package applied to
// db, or 0 for none.
func CurrentSchemaVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	m, err := migrate.New(MigrationComponent, migrationSteps()...)
	if err != nil {
		return 0, err
	}
	v, err := m.Version(ctx, db)
	if err != nil {
		return 0, fmt.Errorf("metalearn: schema version: %w", err)
	}
	return v, nil
}

// Models returns one zero value of every tenant-owned model of this
// package, for tenancy.WithModels.
func Models() []any { return []any{&ModelRecord{}, &JobRecord{}} }

// TenantTables returns the names of this package's tenant-owned tables, for
// enabling row-level security.
func TenantTables() []string { return []string{ModelRecord{}.TableName(), JobRecord{}.TableName()} }

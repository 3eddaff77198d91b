package registry

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// trackingUp are the statements of the tracking step that are the same on
// both databases (after the experiments table allows a NULL project).
var trackingUp = []string{
	`ALTER TABLE runs ADD COLUMN lifecycle_stage varchar(16) NOT NULL DEFAULT 'active'`,
	`ALTER TABLE runs ADD COLUMN user_id varchar(256) NOT NULL DEFAULT ''`,
	// Experiment names are unique per tenant among the experiments that
	// belong to no project (those created through the tracking API);
	// within a project, UNIQUE (tenant_id, project_id, name) still holds.
	`CREATE UNIQUE INDEX ux_experiments_tracking_name ON experiments (tenant_id, name) WHERE project_id IS NULL`,
	`CREATE TABLE experiment_tags (
	tenant_id varchar(64) NOT NULL,
	experiment_id varchar(36) NOT NULL,
	tag_key varchar(250) NOT NULL,
	tag_value text NOT NULL,
	PRIMARY KEY (tenant_id, experiment_id, tag_key),
	FOREIGN KEY (tenant_id, experiment_id) REFERENCES experiments (tenant_id, id) ON DELETE CASCADE
)`,
	`CREATE TABLE run_tags (
	tenant_id varchar(64) NOT NULL,
	run_id varchar(36) NOT NULL,
	tag_key varchar(250) NOT NULL,
	tag_value text NOT NULL,
	PRIMARY KEY (tenant_id, run_id, tag_key),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs (tenant_id, id) ON DELETE CASCADE
)`,
	`CREATE TABLE run_inputs (
	tenant_id varchar(64) NOT NULL,
	run_id varchar(36) NOT NULL,
	name varchar(500) NOT NULL,
	digest varchar(64) NOT NULL,
	body text NOT NULL,
	PRIMARY KEY (tenant_id, run_id, name, digest),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs (tenant_id, id) ON DELETE CASCADE
)`,
	`CREATE TABLE run_artifacts (
	tenant_id varchar(64) NOT NULL,
	run_id varchar(36) NOT NULL,
	path varchar(1024) NOT NULL,
	blob_key varchar(1024) NOT NULL,
	size_bytes bigint NOT NULL,
	content_sha256 varchar(64) NOT NULL,
	created_at {{ts}} NOT NULL,
	PRIMARY KEY (tenant_id, run_id, path),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs (tenant_id, id) ON DELETE CASCADE
)`,
}

// trackingDown reverses trackingUp, before the project becomes required
// again.
var trackingDown = []string{
	`DROP TABLE run_artifacts`, `DROP TABLE run_inputs`, `DROP TABLE run_tags`, `DROP TABLE experiment_tags`,
	`DROP INDEX ux_experiments_tracking_name`,
	`ALTER TABLE runs DROP COLUMN user_id`,
	`ALTER TABLE runs DROP COLUMN lifecycle_stage`,
}

// setProjectNullSQLite changes whether experiments.project_id may be
// NULL on SQLite, which cannot alter a column in place: as SQLite's
// documentation describes for removing a NOT NULL constraint (a change
// that leaves the stored format alone), the table's definition is edited
// in sqlite_schema and the schema version bumped, inside the step's
// transaction. A table rebuild would need foreign keys off, which SQLite
// does not allow inside a transaction; its DROP TABLE would cascade to
// the runs. Making the column required again is sound once no row holds
// NULL (Down deletes those rows first).
func setProjectNullSQLite(tx *gorm.DB, nullable bool) error {
	from, to := "project_id varchar(36) NOT NULL", "project_id varchar(36)"
	if !nullable {
		from, to = to+",", from+","
	}
	var version int64
	if err := tx.Raw(`PRAGMA schema_version`).Scan(&version).Error; err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	res := tx.Exec(`PRAGMA writable_schema = ON`)
	if res.Error != nil {
		return fmt.Errorf("writable_schema: %w", res.Error)
	}
	res = tx.Exec(`UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'experiments'`, from, to)
	if res.Error == nil && res.RowsAffected != 1 {
		res.Error = fmt.Errorf("experiments table not found")
	}
	if res.Error != nil {
		_ = tx.Exec(`PRAGMA writable_schema = OFF`)
		return fmt.Errorf("edit experiments definition: %w", res.Error)
	}
	if err := tx.Exec(fmt.Sprintf(`PRAGMA schema_version = %d`, version+1)).Error; err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	return tx.Exec(`PRAGMA writable_schema = OFF`).Error
}

// trackingStep is registry step 8: experiments may belong to no project
// (project_id NULL: those created through the tracking API, such as
// MLflow's), experiments and runs carry a lifecycle stage (active or
// deleted) and runs a user id, and experiments and runs get tags, runs
// dataset inputs and artifacts. Down deletes the project-less experiments
// (with their runs) and makes the project required again.
func trackingStep(version int64) migrate.Step {
	return migrate.Step{
		Version: version,
		Name:    "tracking: project-less experiments, lifecycle, tags, inputs, run artifacts",
		Up: func(_ context.Context, tx *gorm.DB) error {
			var err error
			if migrate.IsPostgres(tx) {
				err = migrate.Exec(tx, `ALTER TABLE experiments ALTER COLUMN project_id DROP NOT NULL`)
			} else {
				err = setProjectNullSQLite(tx, true)
			}
			if err != nil {
				return err
			}
			return migrate.Exec(tx, append([]string{
				`ALTER TABLE experiments ADD COLUMN lifecycle_stage varchar(16) NOT NULL DEFAULT 'active'`,
				`ALTER TABLE experiments ADD COLUMN artifact_location varchar(2000) NOT NULL DEFAULT ''`,
				`ALTER TABLE experiments ADD COLUMN updated_at {{ts}}`,
			}, trackingUp...)...)
		},
		Down: func(_ context.Context, tx *gorm.DB) error {
			if err := migrate.Exec(tx, trackingDown...); err != nil {
				return err
			}
			if err := migrate.Exec(tx, `DELETE FROM experiments WHERE project_id IS NULL`); err != nil {
				return err
			}
			if err := migrate.Exec(tx,
				`ALTER TABLE experiments DROP COLUMN updated_at`,
				`ALTER TABLE experiments DROP COLUMN artifact_location`,
				`ALTER TABLE experiments DROP COLUMN lifecycle_stage`,
			); err != nil {
				return err
			}
			if migrate.IsPostgres(tx) {
				return migrate.Exec(tx, `ALTER TABLE experiments ALTER COLUMN project_id SET NOT NULL`)
			}
			return setProjectNullSQLite(tx, false)
		},
	}
}

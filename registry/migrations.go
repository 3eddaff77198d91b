package registry

import (
	"context"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// MigrationComponent is the component name under which the registry's
// versions are recorded in schema_migrations.
const MigrationComponent = "registry"

// SchemaVersion is the registry schema version this package needs.
const SchemaVersion int64 = 13

// steps are the registry's migrations. The SQL is written once for both
// databases; only the timestamp type differs, except in steps 8 and 13
// (trackingStep, metricTotalsStep), which run each database's own SQL.
// Every child table carries a composite foreign key (tenant_id,
// parent_id) to its parent's UNIQUE (tenant_id, id), so the database
// itself refuses a row that points at another tenant's parent.
func steps() []migrate.Step {
	return []migrate.Step{
		migrate.SQL(1, "projects, tags, team members, process metrics", []string{
			`CREATE TABLE projects (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	name varchar(200) NOT NULL,
	problem_class varchar(32) NOT NULL,
	complexity_score integer NOT NULL CHECK (complexity_score BETWEEN 1 AND 10),
	team_size integer NOT NULL CHECK (team_size >= 1),
	description text NOT NULL DEFAULT '',
	spec text NOT NULL DEFAULT '{}',
	tags text NOT NULL DEFAULT '[]',
	status varchar(16) NOT NULL,
	started_at {{ts}} NOT NULL,
	completed_at {{ts}},
	model_performance double precision,
	business_impact double precision,
	deployment_days double precision,
	compute_cost double precision,
	success_score double precision,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL,
	UNIQUE (tenant_id, id)
)`,
			`CREATE TABLE project_tags (
	tenant_id varchar(64) NOT NULL,
	project_id varchar(36) NOT NULL,
	tag varchar(64) NOT NULL,
	PRIMARY KEY (tenant_id, tag, project_id),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_project_tags_project ON project_tags (tenant_id, project_id)`,
			`CREATE TABLE team_members (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	project_id varchar(36) NOT NULL,
	name varchar(200) NOT NULL,
	role varchar(200) NOT NULL,
	experience_level varchar(16) NOT NULL,
	contribution_hours double precision NOT NULL DEFAULT 0,
	created_at {{ts}} NOT NULL,
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_team_members_project ON team_members (tenant_id, project_id)`,
			`CREATE TABLE process_metrics (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	project_id varchar(36) NOT NULL,
	metric_type varchar(64) NOT NULL,
	value double precision NOT NULL,
	recorded_at {{ts}} NOT NULL,
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_process_metrics_project ON process_metrics (tenant_id, project_id, metric_type, recorded_at)`,
		}, []string{
			`DROP TABLE process_metrics`, `DROP TABLE team_members`, `DROP TABLE project_tags`, `DROP TABLE projects`,
		}),
		migrate.SQL(2, "artifact library", []string{
			`CREATE TABLE artifacts (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	name varchar(200) NOT NULL,
	type varchar(32) NOT NULL,
	version varchar(64) NOT NULL,
	description text NOT NULL DEFAULT '',
	tags text NOT NULL DEFAULT '[]',
	content_sha256 varchar(64) NOT NULL DEFAULT '',
	size_bytes bigint NOT NULL DEFAULT 0,
	content_key varchar(1024) NOT NULL DEFAULT '',
	usage_count bigint NOT NULL DEFAULT 0,
	impact_count bigint NOT NULL DEFAULT 0,
	impact_sum double precision NOT NULL DEFAULT 0,
	avg_impact_score double precision,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, name, version)
)`,
			`CREATE TABLE artifact_tags (
	tenant_id varchar(64) NOT NULL,
	artifact_id varchar(36) NOT NULL,
	tag varchar(64) NOT NULL,
	PRIMARY KEY (tenant_id, tag, artifact_id),
	FOREIGN KEY (tenant_id, artifact_id) REFERENCES artifacts (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_artifact_tags_artifact ON artifact_tags (tenant_id, artifact_id)`,
			`CREATE TABLE artifact_usages (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	artifact_id varchar(36) NOT NULL,
	project_id varchar(36) NOT NULL,
	impact_score double precision,
	context text NOT NULL DEFAULT '',
	created_at {{ts}} NOT NULL,
	UNIQUE (tenant_id, artifact_id, project_id),
	FOREIGN KEY (tenant_id, artifact_id) REFERENCES artifacts (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_artifact_usages_project ON artifact_usages (tenant_id, project_id)`,
		}, []string{
			`DROP TABLE artifact_usages`, `DROP TABLE artifact_tags`, `DROP TABLE artifacts`,
		}),
		migrate.SQL(3, "experiments, runs, metrics", []string{
			`CREATE TABLE experiments (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	project_id varchar(36) NOT NULL,
	name varchar(200) NOT NULL,
	description text NOT NULL DEFAULT '',
	created_at {{ts}} NOT NULL,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, project_id, name),
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE TABLE runs (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	experiment_id varchar(36) NOT NULL,
	name varchar(200) NOT NULL,
	status varchar(16) NOT NULL,
	params text NOT NULL DEFAULT '{}',
	started_at {{ts}} NOT NULL,
	ended_at {{ts}},
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, experiment_id) REFERENCES experiments (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_runs_experiment ON runs (tenant_id, experiment_id)`,
			`CREATE TABLE metric_series (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	run_id varchar(36) NOT NULL,
	metric_key varchar(250) NOT NULL,
	point_count bigint NOT NULL DEFAULT 0,
	ordered boolean NOT NULL,
	last_step bigint NOT NULL DEFAULT 0,
	last_timestamp {{ts}} NOT NULL,
	last_value double precision NOT NULL DEFAULT 0,
	min_value double precision NOT NULL DEFAULT 0,
	max_value double precision NOT NULL DEFAULT 0,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, run_id, metric_key),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE TABLE metric_points (
	tenant_id varchar(64) NOT NULL,
	series_id varchar(36) NOT NULL,
	seq bigint NOT NULL,
	step bigint NOT NULL,
	ts {{ts}} NOT NULL,
	value double precision NOT NULL,
	PRIMARY KEY (tenant_id, series_id, seq),
	FOREIGN KEY (tenant_id, series_id) REFERENCES metric_series (tenant_id, id) ON DELETE CASCADE
)`,
		}, []string{
			`DROP TABLE metric_points`, `DROP TABLE metric_series`, `DROP TABLE runs`, `DROP TABLE experiments`,
		}),
		migrate.SQL(4, "registered models, versions, aliases", []string{
			`CREATE TABLE registered_models (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	name varchar(200) NOT NULL,
	description text NOT NULL DEFAULT '',
	latest_version integer NOT NULL DEFAULT 0,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL,
	UNIQUE (tenant_id, id),
	UNIQUE (tenant_id, name)
)`,
			`CREATE TABLE model_versions (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	model_id varchar(36) NOT NULL,
	version integer NOT NULL CHECK (version >= 1),
	source varchar(2000) NOT NULL,
	run_id varchar(36),
	description text NOT NULL DEFAULT '',
	created_at {{ts}} NOT NULL,
	UNIQUE (tenant_id, model_id, version),
	FOREIGN KEY (tenant_id, model_id) REFERENCES registered_models (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE TABLE model_aliases (
	tenant_id varchar(64) NOT NULL,
	model_id varchar(36) NOT NULL,
	alias varchar(64) NOT NULL,
	version integer NOT NULL,
	updated_at {{ts}} NOT NULL,
	PRIMARY KEY (tenant_id, model_id, alias),
	FOREIGN KEY (tenant_id, model_id, version) REFERENCES model_versions (tenant_id, model_id, version) ON DELETE CASCADE
)`,
		}, []string{
			`DROP TABLE model_aliases`, `DROP TABLE model_versions`, `DROP TABLE registered_models`,
		}),
		migrate.SQL(5, "stored predictions", []string{
			`CREATE TABLE predictions (
	id varchar(36) PRIMARY KEY,
	tenant_id varchar(64) NOT NULL,
	project_id varchar(36) NOT NULL,
	model_version varchar(200) NOT NULL,
	predicted_score double precision NOT NULL,
	interval_low double precision NOT NULL,
	interval_high double precision NOT NULL,
	confidence double precision NOT NULL,
	created_at {{ts}} NOT NULL,
	FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
)`,
			`CREATE INDEX ix_predictions_project ON predictions (tenant_id, project_id)`,
		}, []string{`DROP TABLE predictions`}),
		migrate.SQL(6, "listing and search indexes", []string{
			`CREATE INDEX ix_projects_class ON projects (tenant_id, problem_class, id)`,
			`CREATE INDEX ix_projects_status ON projects (tenant_id, status, id)`,
			`CREATE INDEX ix_projects_class_status ON projects (tenant_id, problem_class, status, id)`,
			`CREATE INDEX ix_artifacts_type ON artifacts (tenant_id, type, id)`,
			`CREATE INDEX ix_artifacts_impact ON artifacts (tenant_id, avg_impact_score)`,
		}, []string{
			`DROP INDEX ix_artifacts_impact`, `DROP INDEX ix_artifacts_type`, `DROP INDEX ix_projects_class_status`,
			`DROP INDEX ix_projects_status`, `DROP INDEX ix_projects_class`,
		}),
		// MetricHistory probes this index once per sampled step bucket of
		// a metric logged out of order (see history).
		migrate.SQL(7, "metric points by step", []string{
			`CREATE INDEX ix_metric_points_step ON metric_points (tenant_id, series_id, step, ts, seq)`,
		}, []string{`DROP INDEX ix_metric_points_step`}),
		// Tracking (tracking.go): experiments outside any project, soft
		// deletion, tags, dataset inputs and run artifacts.
		trackingStep(8),
		// Model registry (model_tags.go): model and version tags, version
		// stages.
		modelTagsStep(9),
		// Logged models (loggedmodel.go): MLflow 3's logged models, their
		// files and the runs' outputs.
		loggedModelsStep(10),
		// Run search (runquery.go): the runs of experiments in a stage,
		// counted and ordered by their times without reading the rows.
		migrate.SQL(11, "registry-011-run-search-index", []string{
			`CREATE INDEX ix_runs_search ON runs (tenant_id, experiment_id, lifecycle_stage, started_at, ended_at, id)`,
		}, []string{`DROP INDEX ix_runs_search`}),
		// Run search (runquery.go): a metric's latest value of each run,
		// filtered and ordered on, and the summaries of a page's runs,
		// read from the index alone.
		migrate.SQL(12, "registry-012-metric-series-latest-index", []string{
			`CREATE INDEX ix_metric_series_latest ON metric_series (tenant_id, run_id, metric_key, last_value, last_step, last_timestamp, point_count, min_value, max_value)`,
		}, []string{`DROP INDEX ix_metric_series_latest`}),
		// The metric-point quota (quota.go): each tenant's count of
		// points, kept by triggers on metric_series.
		metricTotalsStep(13),
	}
}

func migrator() (*migrate.Migrator, error) {
	return migrate.New(MigrationComponent, steps()...)
}

// Migrate brings the registry's schema up to SchemaVersion, applying each
// missing step in its own transaction and recording it in the table
// schema_migrations (component "registry"). It is safe to call on every
// start and from several processes at once. Call it with a context that
// carries no tenant, as the database owner.
func Migrate(ctx context.Context, db *gorm.DB) error {
	m, err := migrator()
	if err != nil {
		return err
	}
	_, err = m.Up(ctx, db)
	return err
}

// MigrateDown reverses the registry's steps above version, newest first
// (version 0 removes the whole schema). Reversing a step that created
// tables drops them with their rows; reversing steps 6 and 7 only drops
// indexes and keeps every row.
func MigrateDown(ctx context.Context, db *gorm.DB, version int64) error {
	m, err := migrator()
	if err != nil {
		return err
	}
	_, err = m.Down(ctx, db, version)
	return err
}

// CurrentSchemaVersion returns the highest registry step applied to db, or
// 0 for none.
func CurrentSchemaVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	m, err := migrator()
	if err != nil {
		return 0, err
	}
	return m.Version(ctx, db)
}

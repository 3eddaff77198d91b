package registry

import (
	"context"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
	"github.com/maestro-ml/maestro/tenancy"
)

// metricPointTotal is part of a tenant's count of stored metric points:
// the sum of point_count over the tenant's metric series whose run hashes
// to Shard. Triggers on metric_series keep it (migration 13, see
// metricTotalsStep), so every path that adds, renumbers or deletes series
// rows, foreign-key cascades and DeleteTenant included, keeps it exact,
// and the metric-point quota reads at most metricTotalShards rows instead
// of summing every series of the tenant on each write.
//
// On PostgreSQL a tenant's total is split over metricTotalShards rows by
// a hash of the run's id, so that concurrent writers to different runs of
// one tenant rarely wait on the same row; SQLite runs one write
// transaction at a time and keeps one row per tenant (shard 0).
type metricPointTotal struct {
	tenancy.Model
	Shard  int   `gorm:"column:shard;primaryKey;autoIncrement:false"`
	Points int64 `gorm:"column:points"`
}

func (metricPointTotal) TableName() string { return "metric_point_totals" }

// metricTotalShards is the number of rows a tenant's total is split over
// on PostgreSQL; the triggers compute the shard as hashtext(run_id) & 15.
const metricTotalShards = 16

// metricTotalsPostgres keeps metric_point_totals with triggers. Inserts
// and deletes fire once a statement, with transition tables: the
// statement's new (or old) rows' counts are added (or subtracted),
// grouped by tenant and shard, so a batch that creates a hundred series,
// or a project deletion that removes thousands, costs one aggregate.
// Updates, one series a statement in LogMetrics, fire once a row and only
// when the count (or the row's tenant or run) changes. A delete only
// subtracts, so a tenant's totals row deleted before its series (in any
// order DeleteTenant takes) is not recreated.
var metricTotalsPostgres = []string{
	`CREATE FUNCTION registry_metric_point_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO metric_point_totals AS t (tenant_id, shard, points)
		SELECT tenant_id, hashtext(run_id) & 15, SUM(point_count) FROM new_rows GROUP BY 1, 2
		ON CONFLICT (tenant_id, shard) DO UPDATE SET points = t.points + EXCLUDED.points;
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE metric_point_totals AS t SET points = t.points - d.points
		FROM (SELECT tenant_id, hashtext(run_id) & 15 AS shard, SUM(point_count) AS points
			FROM old_rows GROUP BY 1, 2) AS d
		WHERE t.tenant_id = d.tenant_id AND t.shard = d.shard AND d.points <> 0;
	ELSIF OLD.tenant_id = NEW.tenant_id AND OLD.run_id = NEW.run_id THEN
		UPDATE metric_point_totals SET points = points + NEW.point_count - OLD.point_count
		WHERE tenant_id = NEW.tenant_id AND shard = hashtext(NEW.run_id) & 15;
	ELSE
		UPDATE metric_point_totals SET points = points - OLD.point_count
		WHERE tenant_id = OLD.tenant_id AND shard = hashtext(OLD.run_id) & 15;
		INSERT INTO metric_point_totals AS t (tenant_id, shard, points)
		VALUES (NEW.tenant_id, hashtext(NEW.run_id) & 15, NEW.point_count)
		ON CONFLICT (tenant_id, shard) DO UPDATE SET points = t.points + EXCLUDED.points;
	END IF;
	RETURN NULL;
END
$$`,
	`CREATE TRIGGER tr_metric_series_totals_insert AFTER INSERT ON metric_series
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_metric_point_totals()`,
	`CREATE TRIGGER tr_metric_series_totals_update AFTER UPDATE ON metric_series FOR EACH ROW
	WHEN (OLD.point_count IS DISTINCT FROM NEW.point_count OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
		OR OLD.run_id IS DISTINCT FROM NEW.run_id)
	EXECUTE FUNCTION registry_metric_point_totals()`,
	`CREATE TRIGGER tr_metric_series_totals_delete AFTER DELETE ON metric_series
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_metric_point_totals()`,
	`INSERT INTO metric_point_totals (tenant_id, shard, points)
	SELECT tenant_id, hashtext(run_id) & 15, SUM(point_count) FROM metric_series GROUP BY 1, 2`,
}

// metricTotalsSQLite keeps metric_point_totals with row triggers (SQLite
// has no statement-level ones), one row per tenant.
var metricTotalsSQLite = []string{
	`CREATE TRIGGER tr_metric_series_totals_insert AFTER INSERT ON metric_series BEGIN
	INSERT INTO metric_point_totals (tenant_id, shard, points) VALUES (NEW.tenant_id, 0, NEW.point_count)
	ON CONFLICT (tenant_id, shard) DO UPDATE SET points = points + excluded.points;
END`,
	`CREATE TRIGGER tr_metric_series_totals_update AFTER UPDATE OF tenant_id, point_count ON metric_series
	WHEN NEW.tenant_id IS NOT OLD.tenant_id OR NEW.point_count IS NOT OLD.point_count BEGIN
	UPDATE metric_point_totals SET points = points - OLD.point_count WHERE tenant_id = OLD.tenant_id AND shard = 0;
	INSERT INTO metric_point_totals (tenant_id, shard, points) VALUES (NEW.tenant_id, 0, NEW.point_count)
	ON CONFLICT (tenant_id, shard) DO UPDATE SET points = points + excluded.points;
END`,
	`CREATE TRIGGER tr_metric_series_totals_delete AFTER DELETE ON metric_series BEGIN
	UPDATE metric_point_totals SET points = points - OLD.point_count WHERE tenant_id = OLD.tenant_id AND shard = 0;
END`,
	`INSERT INTO metric_point_totals (tenant_id, shard, points)
	SELECT tenant_id, 0, SUM(point_count) FROM metric_series GROUP BY tenant_id`,
}

// metricTotalsStep creates metric_point_totals, the triggers that keep it
// and its contents for the series already stored. The triggers are
// created before the totals are counted: on PostgreSQL CREATE TRIGGER
// waits for writes in flight and holds off new ones until the step
// commits, so no write falls between the count and the triggers.
func metricTotalsStep(version int64) migrate.Step {
	return migrate.Step{
		Version: version,
		Name:    "registry-013-metric-point-totals",
		Up: func(_ context.Context, tx *gorm.DB) error {
			keep := metricTotalsSQLite
			if migrate.IsPostgres(tx) {
				keep = metricTotalsPostgres
			}
			return migrate.Exec(tx, append([]string{`CREATE TABLE metric_point_totals (
	tenant_id varchar(64) NOT NULL,
	shard integer NOT NULL,
	points bigint NOT NULL,
	PRIMARY KEY (tenant_id, shard)
)`}, keep...)...)
		},
		Down: func(_ context.Context, tx *gorm.DB) error {
			stmts := []string{
				`DROP TRIGGER tr_metric_series_totals_delete`,
				`DROP TRIGGER tr_metric_series_totals_update`,
				`DROP TRIGGER tr_metric_series_totals_insert`,
				`DROP TABLE metric_point_totals`,
			}
			if migrate.IsPostgres(tx) {
				stmts = []string{
					`DROP TRIGGER tr_metric_series_totals_delete ON metric_series`,
					`DROP TRIGGER tr_metric_series_totals_update ON metric_series`,
					`DROP TRIGGER tr_metric_series_totals_insert ON metric_series`,
					`DROP FUNCTION registry_metric_point_totals()`,
					`DROP TABLE metric_point_totals`,
				}
			}
			return migrate.Exec(tx, stmts...)
		},
	}
}

package registry

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// wantTotals fails unless the tenant's metric-point total, as the quota
// counts it, equals the sum of its series' point counts, and its totals
// rows are in their shards; it returns the total.
func wantTotals(t *testing.T, e *env, ctx context.Context, what string) int64 {
	t.Helper()
	tenant, _ := tenancy.TenantFrom(ctx)
	var total, sum, outside int64
	err := e.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if total, err = Counters()[tenancy.ResourceMetricPoints](ctx, tx, tenant); err != nil {
			return err
		}
		if sum, err = tenancy.SumColumn(&metricSeries{}, "point_count")(ctx, tx, tenant); err != nil {
			return err
		}
		return tx.Model(&metricPointTotal{}).Where("shard < 0 OR shard >= ?", metricTotalShards).Count(&outside).Error
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if total != sum || outside != 0 {
		t.Fatalf("%s: tenant %s counts %d metric points, its series hold %d (%d totals rows outside the shards)", what, tenant, total, sum, outside)
	}
	return total
}

// wantCount is wantTotals that also fails unless the total is want.
func wantCount(t *testing.T, e *env, ctx context.Context, what string, want int64) {
	t.Helper()
	if n := wantTotals(t, e, ctx, what); n != want {
		t.Fatalf("%s: %d metric points counted, want %d", what, n, want)
	}
}

// logNewRun logs ps in a new run of the context's tenant.
func logNewRun(t *testing.T, e *env, ctx context.Context, ps []MetricPoint) {
	t.Helper()
	run := newRun(t, &env{db: e.db, reg: e.reg, a: ctx})
	if err := e.reg.LogMetrics(ctx, run.ID, ps); err != nil {
		t.Fatal(err)
	}
}

// TestMetricPointTotalsFollowSeries enumerates the writes that change
// metric_series (new series, one and many statements of them; appends;
// a late batch that renumbers the tail; a late point that leaves the
// series unordered; a refused batch; concurrent writers to many runs of a
// tenant; DeleteProject) and checks after each that the totals the
// metric-point quota reads equal the series' counts, for both tenants: on
// SQLite, PostgreSQL, and PostgreSQL as an application role under
// row-level security, where the triggers write as that role.
func TestMetricPointTotalsFollowSeries(t *testing.T) {
	t.Parallel()
	opens := testenv.Databases(t)
	envs := map[string]func(t *testing.T) *env{}
	for name, open := range opens {
		envs[name] = func(t *testing.T) *env { return newEnv(t, open) }
	}
	if _, ok := opens["postgres"]; ok {
		envs["postgres-rls"] = appRoleEnv
	}
	for name, mk := range envs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := mk(t)
			run := newRun(t, e)
			// 250 new keys: three INSERTs of series.
			var batch []MetricPoint
			for k := range 250 {
				batch = append(batch, MetricPoint{Key: fmt.Sprintf("m%03d", k), Value: 1, Step: 1}, MetricPoint{Key: fmt.Sprintf("m%03d", k), Value: 2, Step: 2})
			}
			if err := e.reg.LogMetrics(e.a, run.ID, batch); err != nil {
				t.Fatal(err)
			}
			wantCount(t, e, e.a, "new series", 500)
			// Appends to stored series, and one new key beside them.
			if err := e.reg.LogMetrics(e.a, run.ID, append(points(3, "m000"), points(4, "fresh")...)); err != nil {
				t.Fatal(err)
			}
			wantTotals(t, e, e.a, "appends")
			// A late batch renumbers the tail; with no tail allowed, a late
			// point leaves the series unordered.
			if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "fresh", Value: 9, Step: 1}, {Key: "fresh", Value: 9, Step: 2}}); err != nil {
				t.Fatal(err)
			}
			wantTotals(t, e, e.a, "renumbered tail")
			e.reg.maxResequence = 0
			if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "m001", Value: 0, Step: 0}}); err != nil {
				t.Fatal(err)
			}
			wantTotals(t, e, e.a, "unordered")
			// A refused batch counts nothing.
			before := wantTotals(t, e, e.a, "before a refused batch")
			if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "m002", Value: 1, Step: 9}, {Key: "m003", Value: math.NaN(), Step: 9}}); err == nil {
				t.Fatal("a batch with NaN was stored")
			}
			wantCount(t, e, e.a, "refused batch", before)
			// The other tenant's points are its own.
			logNewRun(t, e, e.b, points(7, "m000"))
			wantCount(t, e, e.b, "other tenant", 7)
			wantTotals(t, e, e.a, "other tenant's writes")
			// Concurrent writers, each to its own run of one tenant.
			const writers, batches = 6, 5
			runs := make([]*Run, writers)
			for i := range runs {
				runs[i] = newRun(t, e)
			}
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for _, r := range runs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range batches {
						ps := []MetricPoint{{Key: "loss", Value: 1, Step: int64(2 * i)}, {Key: "loss", Value: 1, Step: int64(2*i + 1)}, {Key: fmt.Sprintf("k%d", i), Value: 1}}
						if err := e.reg.LogMetrics(e.a, r.ID, ps); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			wantCount(t, e, e.a, "concurrent writers", before+writers*batches*3)
			if e.db.Dialector.Name() == "postgres" {
				// Seven runs of the tenant hash to more than one shard.
				var shards int64
				if err := e.db.WithContext(e.a).Transaction(func(tx *gorm.DB) error {
					return tx.Model(&metricPointTotal{}).Count(&shards).Error
				}); err != nil || shards < 2 {
					t.Fatalf("the tenant's points are in %d shards, %v", shards, err)
				}
			}
			// Deleting the projects takes their series with them.
			var projects []Project
			if err := e.db.WithContext(e.a).Transaction(func(tx *gorm.DB) error { return tx.Find(&projects).Error }); err != nil {
				t.Fatal(err)
			}
			for _, p := range projects {
				if err := e.reg.DeleteProject(e.a, p.ID); err != nil {
					t.Fatal(err)
				}
			}
			wantCount(t, e, e.a, "deleted projects", 0)
			wantCount(t, e, e.b, "other tenant after deletes", 7)
		})
	}
}

// TestMetricPointTotalsMigration checks migration 13 on a database that
// already holds series: its up step counts them, its down step removes
// the table and the triggers (later writes go on without them), and a
// second up step counts again what was written in between.
func TestMetricPointTotalsMigration(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, c := range []context.Context{e.a, e.b} {
			logNewRun(t, e, c, append(points(5, "a"), points(3, "b")...))
		}
		if err := MigrateDown(ctx, e.db, 12); err != nil {
			t.Fatal(err)
		}
		if e.db.Migrator().HasTable("metric_point_totals") {
			t.Fatal("metric_point_totals left after the down step")
		}
		logNewRun(t, e, e.a, points(4, "c")) // without the triggers
		if err := Migrate(ctx, e.db); err != nil {
			t.Fatal(err)
		}
		wantCount(t, e, e.a, "tenant a after the up step", 12)
		wantCount(t, e, e.b, "tenant b after the up step", 8)
	})
}

// TestMetricPointTotalsDeleteTenant deletes a tenant through
// tenancy.Manager with the registry's models: its totals rows go with its
// series, in whatever order the deletes run, and another tenant's stay.
func TestMetricPointTotalsDeleteTenant(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := tenancy.Migrate(ctx, e.db); err != nil {
			t.Fatal(err)
		}
		m := must[*tenancy.Manager](t)(tenancy.NewManager(e.db, tenancy.WithTenantModels(Models()...)))
		gone := must[tenancy.Tenant](t)(m.CreateTenant(ctx, "Gone", "gone"))
		gctx := tenancy.WithTenant(ctx, gone.ID)
		for _, c := range []context.Context{gctx, e.b} {
			logNewRun(t, e, c, points(6, "loss"))
		}
		if err := m.DeleteTenant(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		var left int64
		if err := e.db.WithContext(gctx).Model(&metricPointTotal{}).Count(&left).Error; err != nil || left != 0 {
			t.Fatalf("%d totals rows of the deleted tenant left, %v", left, err)
		}
		wantCount(t, e, e.b, "the other tenant", 6)
	})
}

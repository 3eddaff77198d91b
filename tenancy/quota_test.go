package tenancy_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestDefaultQuota checks WithDefaultQuota: new tenants get the defaults
// stored with them; a tenant created without a quota row (before the
// option, or before quotas) reads as the defaults, and its first
// CheckQuotaTx stores them; SetQuota then changes them, metric points
// included.
func TestDefaultQuota(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			plain, db := newManager(t, open)
			legacy, err := plain.CreateTenant(ctx, "Legacy", "legacy")
			mustNoErr(t, err)
			if _, ok := plain.DefaultQuota(); ok {
				t.Fatal("a Manager without WithDefaultQuota has defaults")
			}
			if q, err := plain.Quota(ctx, legacy.ID); err != nil || q != (tenancy.Quota{TenantID: legacy.ID}) {
				t.Fatalf("quota without defaults = %+v, %v; want unlimited", q, err)
			}

			def := tenancy.Quota{Users: 2, Projects: 1, Artifacts: 3, StorageBytes: 4, MetricPoints: 5}
			m, err := tenancy.NewManager(db, tenancy.WithDefaultQuota(def),
				tenancy.WithCounter(tenancy.ResourceProjects, tenancy.CountRows(&project{})),
				tenancy.WithCounter(tenancy.ResourceMetricPoints, tenancy.SumColumn(&project{}, "score")))
			mustNoErr(t, err)
			if got, ok := m.DefaultQuota(); !ok || got != def {
				t.Fatalf("DefaultQuota = %+v, %v", got, ok)
			}
			fresh, err := m.CreateTenant(ctx, "Fresh", "fresh")
			mustNoErr(t, err)
			rows := func(id string) int64 {
				var n int64
				mustNoErr(t, db.Model(&tenancy.Quota{}).Where("tenant_id = ?", id).Count(&n).Error)
				return n
			}
			limitsOf := func(q tenancy.Quota, err error) tenancy.Quota {
				t.Helper()
				mustNoErr(t, err)
				return tenancy.Quota{Users: q.Users, Projects: q.Projects, Artifacts: q.Artifacts,
					StorageBytes: q.StorageBytes, MetricPoints: q.MetricPoints}
			}
			if q := limitsOf(m.Quota(ctx, fresh.ID)); q != def || rows(fresh.ID) != 1 {
				t.Fatalf("new tenant's quota = %+v (%d rows); want the defaults stored", q, rows(fresh.ID))
			}
			if q := limitsOf(m.Quota(ctx, legacy.ID)); q != def || rows(legacy.ID) != 0 {
				t.Fatalf("legacy tenant's quota = %+v; want the defaults, not stored yet", q)
			}
			err = db.Transaction(func(tx *gorm.DB) error {
				return m.CheckQuotaTx(ctx, tx, legacy.ID, tenancy.ResourceProjects, 2)
			})
			var qe *tenancy.QuotaError
			if !errors.As(err, &qe) || qe.Limit != 1 || qe.Resource != tenancy.ResourceProjects {
				t.Fatalf("CheckQuotaTx over the default = %v", err)
			}
			mustNoErr(t, db.Transaction(func(tx *gorm.DB) error {
				return m.CheckQuotaTx(ctx, tx, legacy.ID, tenancy.ResourceProjects, 1)
			}))
			if rows(legacy.ID) != 1 {
				t.Fatal("CheckQuotaTx did not store the legacy tenant's defaults")
			}

			// Metric points, like every limit, are stored and checked.
			mustNoErr(t, m.SetQuota(ctx, fresh.ID, tenancy.Quota{MetricPoints: 10}))
			actx := tenancy.WithTenant(ctx, fresh.ID)
			mustNoErr(t, db.WithContext(actx).Create(&project{ID: "00000000-0000-4000-8000-000000000001", Name: "p", Score: 7}).Error)
			if limit, used, err := m.Allowance(ctx, fresh.ID, tenancy.ResourceMetricPoints); err != nil || limit != 10 || used != 7 {
				t.Fatalf("Allowance = %d, %d, %v; want 10, 7", limit, used, err)
			}
			wantErr(t, m.CheckQuota(ctx, fresh.ID, tenancy.ResourceMetricPoints, 4), tenancy.ErrQuotaExceeded)
			mustNoErr(t, m.CheckQuota(ctx, fresh.ID, tenancy.ResourceMetricPoints, 3))
			if limit, used, err := m.Allowance(ctx, fresh.ID, tenancy.ResourceProjects); err != nil || limit != 0 || used != 0 {
				t.Fatalf("Allowance of an unlimited resource = %d, %d, %v", limit, used, err)
			}
			_, _, err = m.Allowance(ctx, fresh.ID, "gpus")
			wantErr(t, err, tenancy.ErrInvalid)
			wantErr(t, m.SetQuota(ctx, fresh.ID, tenancy.Quota{MetricPoints: -1}), tenancy.ErrInvalid)
			if _, err := tenancy.NewManager(db, tenancy.WithDefaultQuota(tenancy.Quota{StorageBytes: -1})); !isInvalid(err) {
				t.Fatalf("negative default: %v, want ErrInvalid", err)
			}
		})
	}
}

// sqliteImmediate opens SQLite as hosts should for concurrent writers
// (and the platform does): BEGIN IMMEDIATE, so that a transaction takes
// the write lock when it begins and a concurrent one waits for it.
func sqliteImmediate(tb testing.TB) *gorm.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "immediate.db")
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		tb.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sqlDB.Close() })
	return db
}

// TestDefaultQuotaConcurrentFirstChecks races the first checks of a
// tenant without a quota row: each stores or finds the row and locks it
// (on SQLite the write transactions run one at a time), so exactly the
// writes within the default limit pass.
func TestDefaultQuotaConcurrentFirstChecks(t *testing.T) {
	t.Parallel()
	dbs := testenv.Databases(t)
	dbs["sqlite"] = sqliteImmediate
	for name, open := range dbs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			plain, db := newManager(t, open)
			legacy, err := plain.CreateTenant(ctx, "Legacy", "legacy")
			mustNoErr(t, err)
			m, err := tenancy.NewManager(db, tenancy.WithDefaultQuota(tenancy.Quota{Projects: 2}),
				tenancy.WithCounter(tenancy.ResourceProjects, tenancy.CountRows(&project{})))
			mustNoErr(t, err)
			actx := tenancy.WithTenant(ctx, legacy.ID)
			const writers = 8
			var wg sync.WaitGroup
			var mu sync.Mutex
			passed := 0
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := db.WithContext(actx).Transaction(func(tx *gorm.DB) error {
						if err := m.CheckQuotaTx(actx, tx, legacy.ID, tenancy.ResourceProjects, 1); err != nil {
							return err
						}
						return tx.Create(&project{ID: "00000000-0000-4000-8000-00000000000" + string(rune('0'+i)), Name: "p"}).Error
					})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						passed++
					case errors.Is(err, tenancy.ErrQuotaExceeded):
					default:
						t.Errorf("writer %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if passed != 2 {
				t.Fatalf("%d of %d writers passed a limit of 2", passed, writers)
			}
		})
	}
}

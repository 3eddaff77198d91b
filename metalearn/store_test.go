package metalearn

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// testDB opens a migrated database (registry and metalearn schemas) with
// the tenancy plugin installed.
func testDB(t testing.TB, open func(testing.TB) *gorm.DB) *gorm.DB {
	t.Helper()
	db := open(t)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatalf("install tenancy plugin: %v", err)
	}
	ctx := context.Background()
	if err := registry.Migrate(ctx, db); err != nil {
		t.Fatalf("registry migrate: %v", err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatalf("metalearn migrate: %v", err)
	}
	return db
}

func TestStore(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t, open)
			st := NewStore(db)
			a := tenancy.WithTenant(context.Background(), "tenant-a")
			b := tenancy.WithTenant(context.Background(), "tenant-b")

			if _, _, err := st.Active(a); !errors.Is(err, ErrNoModel) {
				t.Fatalf("Active on empty store: %v, want ErrNoModel", err)
			}
			if _, err := st.Save(context.Background(), m); !errors.Is(err, tenancy.ErrNoTenant) {
				t.Fatalf("Save without tenant: %v, want ErrNoTenant", err)
			}
			var saved []ModelInfo
			for i := 0; i < 3; i++ {
				info, err := st.Save(a, m)
				if err != nil {
					t.Fatal(err)
				}
				saved = append(saved, info)
			}
			if saved[0].Version != 1 || saved[2].Version != 3 {
				t.Fatalf("versions %d..%d, want 1..3", saved[0].Version, saved[2].Version)
			}
			if info, err := st.Save(b, m); err != nil || info.Version != 1 {
				t.Fatalf("tenant b's first save: version %d, %v; want 1", info.Version, err)
			}
			list, err := st.List(a)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 3 || list[0].Version != 3 || !list[0].Active || list[1].Active {
				t.Fatalf("list %+v: want 3 versions newest first, newest active", list)
			}
			if list[0].NProjects != m.NProjects() || list[0].Metrics.CVMAE != m.Metrics(TargetSuccess).CVMAE ||
				len(list[0].FeatureImportances) != len(FeatureNames()) || list[0].SHA256 == "" || list[0].SizeBytes == 0 {
				t.Fatalf("metadata not kept: %+v", list[0])
			}
			got, info, err := st.Active(a)
			if err != nil || info.Version != 3 {
				t.Fatalf("Active: version %d, %v", info.Version, err)
			}
			p := synthHistory(1, 3)[0].Features
			want, _ := m.Predict(p)
			have, _ := got.Predict(p)
			if !reflect.DeepEqual(want, have) {
				t.Fatal("loaded model predicts differently")
			}

			// Pin and roll back.
			if err := st.Pin(a, 99); !errors.Is(err, ErrUnknownVersion) || errors.Is(err, ErrNoModel) {
				t.Fatalf("Pin unknown: %v", err)
			}
			rb, err := st.Rollback(a)
			if err != nil || rb.Version != 2 || !rb.Pinned {
				t.Fatalf("Rollback: %+v, %v; want version 2 pinned", rb, err)
			}
			if _, info, _ := st.Active(a); info.Version != 2 {
				t.Fatalf("active after rollback: %d", info.Version)
			}
			if rb, err = st.Rollback(a); err != nil || rb.Version != 1 {
				t.Fatalf("second Rollback: %+v, %v", rb, err)
			}
			if _, err := st.Rollback(a); !errors.Is(err, ErrNoOlderVersion) || errors.Is(err, ErrNoModel) {
				t.Fatalf("Rollback past the first: %v", err)
			}
			if _, info, _ := st.Latest(a); info.Version != 3 {
				t.Fatalf("Latest ignores the pin: got %d", info.Version)
			}
			if err := st.Pin(a, 3); err != nil {
				t.Fatal(err)
			}
			list, _ = st.List(a)
			pinned := 0
			for _, mi := range list {
				if mi.Pinned {
					pinned++
				}
			}
			if pinned != 1 || !list[0].Active {
				t.Fatalf("after Pin(3): %d pinned, list %+v", pinned, list)
			}
			if err := st.Unpin(a); err != nil {
				t.Fatal(err)
			}
			if _, info, err := st.Load(a, 1); err != nil || info.Version != 1 {
				t.Fatalf("Load(1): %d, %v", info.Version, err)
			}
			if _, _, err := st.Load(a, 7); !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("Load(7): %v", err)
			}
			if li, err := st.LatestInfo(a); err != nil || li.Version != 3 {
				t.Fatalf("LatestInfo: %d, %v", li.Version, err)
			}

			// Tenant b sees only its own model.
			lb, _ := st.List(b)
			if len(lb) != 1 {
				t.Fatalf("tenant b lists %d models", len(lb))
			}
			if _, _, err := st.Load(b, 2); !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("tenant b loads tenant a's version 2: %v", err)
			}
			if _, err := st.LatestInfo(tenancy.WithTenant(context.Background(), "tenant-c")); !errors.Is(err, ErrNoModel) {
				t.Fatalf("LatestInfo of empty tenant: %v", err)
			}

			// A cache of one keeps working across versions.
			small := NewStore(db, WithCacheSize(1), WithStoreClock(fixedClock()))
			for _, v := range []int{1, 2, 1} {
				if _, info, err := small.Load(a, v); err != nil || info.Version != v {
					t.Fatalf("Load(%d) through a one-model cache: %d, %v", v, info.Version, err)
				}
			}
			if info, err := small.Save(b, m); err != nil || !info.CreatedAt.Equal(fixedClock()()) {
				t.Fatalf("store clock not used: %v %v", info.CreatedAt, err)
			}

			// A corrupted row is refused, not executed or half-loaded.
			fresh := NewStore(db, WithCacheSize(0))
			if err := db.WithContext(a).Model(&ModelRecord{}).Where("version = ?", 1).Update("data", []byte("MAESTROMgarbage")).Error; err != nil {
				t.Fatal(err)
			}
			if _, _, err := fresh.Load(a, 1); !errors.Is(err, ErrCorruptModel) {
				t.Fatalf("Load of tampered row: %v, want ErrCorruptModel", err)
			}
		})
	}
}

func TestMigrateDownUp(t *testing.T) {
	t.Parallel()
	db := testDB(t, testenv.SQLite)
	ctx := context.Background()
	if err := MigrateDown(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	if db.Migrator().HasTable("metalearn_models") {
		t.Fatal("table still there after MigrateDown(0)")
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if got := TenantTables(); len(got) != 2 || got[0] != "metalearn_models" || got[1] != "metalearn_jobs" || len(Models()) != 2 {
		t.Fatalf("TenantTables %v", got)
	}
}

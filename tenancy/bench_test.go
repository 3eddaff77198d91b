package tenancy_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// benchDB returns two handles on one database holding two tenants' data:
// plain without the plugin, scoped with it.
func benchDB(b *testing.B, open func(testing.TB) *gorm.DB, reopen func(*gorm.DB) *gorm.DB) (plain, scoped *gorm.DB, w *world) {
	b.Helper()
	plain = open(b)
	if err := plain.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}, &setting{}); err != nil {
		b.Fatal(err)
	}
	scoped = reopen(plain)
	if err := scoped.Use(tenancy.NewPlugin()); err != nil {
		b.Fatal(err)
	}
	w = newWorld(b, scoped)
	ctxA := w.ctxA
	for i := 0; i < 20; i++ {
		if err := scoped.WithContext(ctxA).Create(&project{ID: uuid.NewString(), Name: "bulk", Score: i}).Error; err != nil {
			b.Fatal(err)
		}
	}
	return plain, scoped, w
}

func sqliteReopen(db *gorm.DB) *gorm.DB {
	s, _ := db.Session(&gorm.Session{NewDB: true, Initialized: true}).DB()
	nd, _ := gorm.Open(db.Dialector, &gorm.Config{Logger: db.Logger, ConnPool: s})
	return nd
}

// BenchmarkPluginOverhead compares a query through the plugin with the
// same query and a hand-written tenant filter without it.
func BenchmarkPluginOverhead(b *testing.B) {
	dbs := map[string]func(testing.TB) *gorm.DB{"sqlite": testenv.SQLite}
	if testenv.Required() || hasPostgres() {
		dbs["postgres"] = testenv.Postgres
	}
	for name, open := range dbs {
		plain, scoped, w := benchDB(b, open, sqliteReopen)
		ctx := context.Background()
		id := w.projA.ID
		b.Run(name+"/first/hand-written", func(b *testing.B) {
			for b.Loop() {
				var p project
				if err := plain.WithContext(ctx).Where("tenant_id = ?", w.a).First(&p, "id = ?", id).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/first/plugin", func(b *testing.B) {
			for b.Loop() {
				var p project
				if err := scoped.WithContext(w.ctxA).First(&p, "id = ?", id).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
		// The same statements built but not executed (DryRun): the
		// plugin's own CPU cost, free of database and scheduling noise.
		dryPlain := plain.Session(&gorm.Session{DryRun: true})
		dryScoped := scoped.Session(&gorm.Session{DryRun: true})
		b.Run(name+"/build-first/hand-written", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p project
				if err := dryPlain.WithContext(ctx).Where("tenant_id = ?", w.a).First(&p, "id = ?", id).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/build-first/plugin", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p project
				if err := dryScoped.WithContext(w.ctxA).First(&p, "id = ?", id).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/find/hand-written", func(b *testing.B) {
			for b.Loop() {
				var ps []project
				if err := plain.WithContext(ctx).Where("tenant_id = ?", w.a).Where("score >= ?", 0).Find(&ps).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/find/plugin", func(b *testing.B) {
			for b.Loop() {
				var ps []project
				if err := scoped.WithContext(w.ctxA).Where("score >= ?", 0).Find(&ps).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRLS measures row-level security on PostgreSQL as a
// non-superuser role: the same query through the plugin without RLS,
// with RLS wrapping each statement in its own transaction, and with RLS
// inside an explicit transaction (set_config only).
func BenchmarkRLS(b *testing.B) {
	if !testenv.Required() && !hasPostgres() {
		b.Skip("PostgreSQL not available")
	}
	dbURL := testenv.PostgresURL(b)
	odb := testenv.OpenPostgres(b, dbURL)
	if err := odb.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}); err != nil {
		b.Fatal(err)
	}
	seedDB := testenv.OpenPostgres(b, dbURL)
	if err := seedDB.Use(tenancy.NewPlugin()); err != nil {
		b.Fatal(err)
	}
	a := uuid.NewString()
	ctxA := tenancy.WithTenant(context.Background(), a)
	pa := seed(b, seedDB.WithContext(ctxA), "A")
	seed(b, seedDB.WithContext(tenancy.WithTenant(context.Background(), uuid.NewString())), "B")
	if err := tenancy.EnableRLS(context.Background(), odb, &company{}, &owner{}, &project{}, &task{}, &tag{}); err != nil {
		b.Fatal(err)
	}
	role, appURL := testenv.PostgresAppRole(b, dbURL)
	for _, g := range []string{"GRANT USAGE ON SCHEMA public TO " + role, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role} {
		if err := odb.Exec(g).Error; err != nil {
			b.Fatal(err)
		}
	}
	// Without RLS: the owner connection (superuser, bypasses policies).
	noRLS := testenv.OpenPostgres(b, dbURL)
	if err := noRLS.Use(tenancy.NewPlugin()); err != nil {
		b.Fatal(err)
	}
	withRLS := testenv.OpenPostgres(b, appURL)
	if err := withRLS.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity())); err != nil {
		b.Fatal(err)
	}
	b.Run("plugin", func(b *testing.B) {
		for b.Loop() {
			var p project
			if err := noRLS.WithContext(ctxA).First(&p, "id = ?", pa.ID).Error; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plugin+rls/own-transaction", func(b *testing.B) {
		for b.Loop() {
			var p project
			if err := withRLS.WithContext(ctxA).First(&p, "id = ?", pa.ID).Error; err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plugin+rls/in-transaction-10-queries", func(b *testing.B) {
		for b.Loop() {
			err := withRLS.WithContext(ctxA).Transaction(func(tx *gorm.DB) error {
				for i := 0; i < 10; i++ {
					var p project
					if err := tx.First(&p, "id = ?", pa.ID).Error; err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plugin/in-transaction-10-queries", func(b *testing.B) {
		for b.Loop() {
			err := noRLS.WithContext(ctxA).Transaction(func(tx *gorm.DB) error {
				for i := 0; i < 10; i++ {
					var p project
					if err := tx.First(&p, "id = ?", pa.ID).Error; err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

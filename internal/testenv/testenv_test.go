package testenv

import (
	"context"
	"testing"

	"gorm.io/gorm"
)

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
	}{{"", false}, {"0", false}, {"1", true}, {"true", true}, {"TRUE", true}, {"yes", false}} {
		t.Setenv(EnvRequire, tc.val)
		if got := Required(); got != tc.want {
			t.Errorf("Required() with %q = %v, want %v", tc.val, got, tc.want)
		}
	}
}

func TestRandomSuffixUnique(t *testing.T) {
	a, b := RandomSuffix(8), RandomSuffix(8)
	if len(a) != 16 || a == b {
		t.Fatalf("RandomSuffix: %q %q", a, b)
	}
}

func TestSQLiteIsFreshAndWritable(t *testing.T) {
	type row struct{ ID int }
	db := SQLite(t)
	if err := db.AutoMigrate(&row{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&row{ID: 1}).Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	db.Model(&row{}).Count(&n)
	if n != 1 {
		t.Fatalf("count = %d", n)
	}
	if _, ok := Databases(t)["sqlite"]; !ok {
		t.Fatal("Databases lacks sqlite")
	}
}

func TestPostgresFreshDatabaseAndAppRole(t *testing.T) {
	dbURL := PostgresURL(t)
	db := OpenPostgres(t, dbURL)
	var tables int64
	if err := db.Raw("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("fresh database has %d tables", tables)
	}
	role, appURL := PostgresAppRole(t, dbURL)
	app := OpenPostgres(t, appURL)
	var who string
	var super, bypass bool
	if err := app.Raw("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Row().Scan(&who, &super, &bypass); err != nil {
		t.Fatal(err)
	}
	if who != role || super || bypass {
		t.Fatalf("app role %q super=%v bypassrls=%v", who, super, bypass)
	}
}

func TestRedisPrefixIsCleaned(t *testing.T) {
	c, prefix := Redis(t)
	ctx := context.Background()
	if err := c.Set(ctx, prefix+"k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, prefix+"k").Result(); got != "v" {
		t.Fatalf("get = %q", got)
	}
}

// TestPlatformSQLiteWritersWait: two writers that each read before they
// write, at once, both succeed on PlatformSQLite (the lock is taken when
// the transaction begins, so the second waits instead of failing on a
// lock upgrade).
func TestPlatformSQLiteWritersWait(t *testing.T) {
	t.Parallel()
	db := PlatformDatabases(t)["sqlite"](t)
	if err := db.Exec("CREATE TABLE c (n INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO c (n) VALUES (0)").Error; err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			errs <- db.Transaction(func(tx *gorm.DB) error {
				var n int
				if err := tx.Raw("SELECT n FROM c").Scan(&n).Error; err != nil {
					return err
				}
				return tx.Exec("UPDATE c SET n = ?", n+1).Error
			})
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatalf("a writer failed: %v", err)
		}
	}
	var n int
	if err := db.Raw("SELECT n FROM c").Scan(&n).Error; err != nil || n != 8 {
		t.Fatalf("n = %d, %v; want 8 (no lost update)", n, err)
	}
}

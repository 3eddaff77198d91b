package testenv

import (
	"context"
	"testing"
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

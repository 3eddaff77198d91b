package gormstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
	"github.com/maestro-ml/maestro/auth/gormstore"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
	"gorm.io/gorm"
)

func migrated(t *testing.T, open func(testing.TB) *gorm.DB) *gorm.DB {
	t.Helper()
	db := open(t)
	if err := gormstore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			db := migrated(t, open)
			t.Run("TokenStore", func(t *testing.T) {
				authtest.RunTokenStoreTests(t, func(*testing.T) auth.TokenStore { return gormstore.NewTokenStore(db) })
			})
			t.Run("APIKeyStore", func(t *testing.T) {
				authtest.RunAPIKeyStoreTests(t, func(*testing.T) auth.APIKeyStore { return gormstore.NewAPIKeyStore(db) })
			})
		})
	}
}

func TestPurgeAndMigrations(t *testing.T) {
	ctx := context.Background()
	db := migrated(t, testenv.SQLite)
	s := gormstore.NewTokenStore(db)
	now := time.Now().UTC()
	sess := auth.Session{ID: "s1", UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess, auth.RefreshRecord{Hash: auth.HashToken("t"), SessionID: "s1", UserID: "u1", ExpiresAt: sess.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	if err := s.DenyToken(ctx, "j1", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, now); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckAccess(ctx, "s1", "u1", "j1", now); err == nil {
		t.Fatal("purge before expiry removed the denial")
	}
	if err := s.Purge(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, table := range gormstore.TableNames()[:3] {
		var n int64
		if err := db.Table(table).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("%s after purge: %d rows, %v", table, n, err)
		}
	}
	if v, err := gormstore.CurrentSchemaVersion(ctx, db); err != nil || v != gormstore.SchemaVersion {
		t.Fatalf("schema version %d, %v; want %d", v, err, gormstore.SchemaVersion)
	}
	if err := gormstore.Migrate(ctx, db); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := gormstore.MigrateDown(ctx, db, 0); err != nil {
		t.Fatal(err)
	}
	for _, table := range gormstore.TableNames() {
		if db.Migrator().HasTable(table) {
			t.Fatalf("%s still exists after MigrateDown", table)
		}
	}
	if v, err := gormstore.CurrentSchemaVersion(ctx, db); err != nil || v != 0 {
		t.Fatalf("schema version after down: %d, %v", v, err)
	}
	if err := gormstore.Migrate(ctx, db); err != nil {
		t.Fatalf("Migrate after MigrateDown: %v", err)
	}
	if err := gormstore.NewTokenStore(db).CheckAccess(ctx, "s1", "u1", "j1", now); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("fresh schema: %v", err)
	}
}

// TestWithTenancyPlugin checks that the stores work on a *gorm.DB with the
// tenancy plugin installed — with and without a tenant in the context —
// since their tables are platform-level and they issue no raw SQL.
func TestWithTenancyPlugin(t *testing.T) {
	db := migrated(t, testenv.SQLite)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	t.Run("TokenStore", func(t *testing.T) {
		authtest.RunTokenStoreTests(t, func(*testing.T) auth.TokenStore { return gormstore.NewTokenStore(db) })
	})
	t.Run("APIKeyStore", func(t *testing.T) {
		authtest.RunAPIKeyStoreTests(t, func(*testing.T) auth.APIKeyStore { return gormstore.NewAPIKeyStore(db) })
	})
	ctx := tenancy.WithTenant(context.Background(), "tenant-a")
	keys, err := auth.NewAPIKeys(gormstore.NewAPIKeyStore(db))
	if err != nil {
		t.Fatal(err)
	}
	key, rec, err := keys.Create(ctx, auth.Principal{UserID: "u", TenantID: "tenant-a", Role: auth.RoleAdmin}, auth.NewAPIKey{Name: "k"})
	if err != nil {
		t.Fatalf("create in a tenant context: %v", err)
	}
	if _, err := keys.VerifyAPIKey(context.Background(), key); err != nil {
		t.Fatalf("verify without a tenant: %v", err)
	}
	if list, err := keys.List(ctx, "tenant-a", ""); err != nil || len(list) != 1 {
		t.Fatalf("list in a tenant context: %d, %v", len(list), err)
	}
	if err := keys.Revoke(ctx, "tenant-a", rec.ID); err != nil {
		t.Fatalf("revoke in a tenant context: %v", err)
	}
	tokens := gormstore.NewTokenStore(db)
	now := time.Now()
	if err := tokens.RevokeUser(ctx, "u", "", now); err != nil {
		t.Fatalf("revoke user in a tenant context: %v", err)
	}
	if err := tokens.DenyToken(ctx, "jti", now.Add(time.Minute), now); err != nil {
		t.Fatalf("deny in a tenant context: %v", err)
	}
}

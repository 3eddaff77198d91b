package gormstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
	"github.com/maestro-ml/maestro/auth/gormstore"
	"github.com/maestro-ml/maestro/internal/testenv"
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

func TestPurgeAndDrop(t *testing.T) {
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
	if err := s.CheckAccess(ctx, "s1", "j1", now); err == nil {
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
	if err := gormstore.Drop(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, table := range gormstore.TableNames() {
		if db.Migrator().HasTable(table) {
			t.Fatalf("%s still exists after Drop", table)
		}
	}
}

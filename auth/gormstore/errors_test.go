package gormstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/gormstore"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// TestDatabaseDown checks that every operation reports a closed database
// as an error — never as success and never as a verdict on a credential.
func TestDatabaseDown(t *testing.T) {
	ctx := context.Background()
	db := migrated(t, testenv.SQLite)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	_ = sqlDB.Close()
	tokens, keys := gormstore.NewTokenStore(db), gormstore.NewAPIKeyStore(db)
	now := time.Now()
	rec := auth.RefreshRecord{Hash: "h", SessionID: "s", UserID: "u", ExpiresAt: now.Add(time.Hour)}
	_, findErr := keys.FindAPIKeys(ctx, "mst_12345678")
	_, listErr := keys.ListAPIKeys(ctx, "t", "")
	_, versionErr := gormstore.CurrentSchemaVersion(ctx, db)
	for name, err := range map[string]error{
		"Migrate":              gormstore.Migrate(ctx, db),
		"CurrentSchemaVersion": versionErr,
		"MigrateDown":          gormstore.MigrateDown(ctx, db, 0),
		"CreateSession":        tokens.CreateSession(ctx, auth.Session{ID: "s", UserID: "u", CreatedAt: now, ExpiresAt: rec.ExpiresAt}, rec),
		"RotateRefresh":        tokens.RotateRefresh(ctx, rec, rec, now),
		"CheckAccess":          tokens.CheckAccess(ctx, "s", "u", "j", now),
		"RevokeSession":        tokens.RevokeSession(ctx, "s", now),
		"RevokeUser":           tokens.RevokeUser(ctx, "u", "x", now),
		"DenyToken":            tokens.DenyToken(ctx, "j", now, now),
		"Purge":                tokens.Purge(ctx, now),
		"CreateAPIKey":         keys.CreateAPIKey(ctx, auth.APIKey{ID: "i", Prefix: "p", Hash: "h"}),
		"FindAPIKeys":          findErr,
		"ListAPIKeys":          listErr,
		"RevokeAPIKey":         keys.RevokeAPIKey(ctx, "t", "i", now),
		"TouchAPIKey":          keys.TouchAPIKey(ctx, "i", now),
	} {
		if err == nil {
			t.Errorf("%s succeeded on a closed database", name)
		}
		for _, verdict := range []error{auth.ErrRevoked, auth.ErrNotFound, auth.ErrRefreshReuse} {
			if errors.Is(err, verdict) {
				t.Errorf("%s reported an outage as %v", name, verdict)
			}
		}
	}
	if err := keys.CreateAPIKey(ctx, auth.APIKey{ID: "i"}); err == nil {
		t.Error("record without hash accepted")
	}
}

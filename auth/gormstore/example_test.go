package gormstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/gormstore"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Sessions and API keys in SQL: migrate once, then hand the stores to the
// auth services.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gormstore-example")
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "auth.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		panic(err)
	}
	if err := gormstore.Migrate(ctx, db); err != nil {
		panic(err)
	}

	key, _ := auth.NewHS256Key("k1", []byte("an example secret of 32+ bytes!!"))
	tokens, _ := auth.NewJWTManager(gormstore.NewTokenStore(db), auth.WithKeys(key))
	pair, _ := tokens.IssuePair(ctx, auth.Subject{UserID: "u-1", TenantID: "t-1", Role: auth.RoleAdmin})
	claims, err := tokens.VerifyAccess(ctx, pair.AccessToken)
	fmt.Println(claims.UserID, claims.Role, err)

	keys, _ := auth.NewAPIKeys(gormstore.NewAPIKeyStore(db))
	secret, _, _ := keys.Create(ctx, claims.Principal(), auth.NewAPIKey{Name: "ci"})
	p, err := keys.VerifyAPIKey(ctx, secret)
	fmt.Println(p.Method, p.Role, err)
	fmt.Println(gormstore.TableNames())
	// Output:
	// u-1 admin <nil>
	// api_key admin <nil>
	// [auth_sessions auth_refresh_tokens auth_denied_tokens auth_api_keys]
}

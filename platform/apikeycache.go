package platform

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/gormstore"
)

// cachedAPIKeys is the API key store of the server: gormstore's, with the
// records VerifyAPIKey looks up by prefix kept in the principal cache on
// SQLite, so that a request with an API key reads no key row. Only found
// records are kept. On PostgreSQL, where another replica may revoke a key,
// every lookup reads the database (no trigger notifies key changes).
//
// The cache follows every change: this store empties it after creating or
// revoking a key, and the principal callbacks (watchPrincipalWrites) after
// any other write of auth_api_keys on the server's connection. Recording a
// use (TouchAPIKey, at most once a minute a key) drops only the entries
// holding that key, so that the next lookup reads its new last-use time.
type cachedAPIKeys struct {
	*gormstore.APIKeyStore
	cache *principalCache
	on    bool // SQLite: the one process sees every write
}

var _ auth.APIKeyStore = (*cachedAPIKeys)(nil)

// keyRowsTable is the table of API keys (gormstore's auth_api_keys).
const keyRowsTable = "auth_api_keys"

// errNoKeys marks a lookup that found no record: not cached.
var errNoKeys = errors.New("no API key with this prefix")

// FindAPIKeys implements auth.APIKeyStore through the cache.
func (c *cachedAPIKeys) FindAPIKeys(ctx context.Context, prefix string) ([]auth.APIKey, error) {
	if !c.on {
		return c.APIKeyStore.FindAPIKeys(ctx, prefix)
	}
	row, err := c.cache.lookup("k\x00"+prefix, func() (principalRow, error) {
		keys, err := c.APIKeyStore.FindAPIKeys(ctx, prefix)
		if err == nil && len(keys) == 0 {
			err = errNoKeys
		}
		return principalRow{apiKeys: keys}, err
	})
	switch {
	case errors.Is(err, errNoKeys):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return slices.Clone(row.apiKeys), nil
}

// CreateAPIKey implements auth.APIKeyStore; a new key may share a cached
// prefix, so the cache is emptied.
func (c *cachedAPIKeys) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	defer c.cache.invalidate()
	return c.APIKeyStore.CreateAPIKey(ctx, k)
}

// RevokeAPIKey implements auth.APIKeyStore and empties the cache.
func (c *cachedAPIKeys) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	defer c.cache.invalidate()
	return c.APIKeyStore.RevokeAPIKey(ctx, tenantID, id, at)
}

// TouchAPIKey implements auth.APIKeyStore and drops the cached entries
// holding key id, whose last-use time is now stale.
func (c *cachedAPIKeys) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	defer c.cache.forget(func(row principalRow) bool {
		return slices.ContainsFunc(row.apiKeys, func(k auth.APIKey) bool { return k.ID == id })
	})
	return c.APIKeyStore.TouchAPIKey(ctx, id, at)
}

// onlyTouchesAPIKey reports whether tx is an update of auth_api_keys that
// sets nothing but last_used_at (TouchAPIKey's Update("last_used_at", t)),
// which takes no access away. Any other write of the table empties the
// cache.
func onlyTouchesAPIKey(tx *gorm.DB) bool {
	if tx.Statement.Table != keyRowsTable {
		return false
	}
	set, ok := tx.Statement.Dest.(map[string]any)
	if !ok || len(set) != 1 {
		return false
	}
	_, ok = set["last_used_at"]
	return ok
}

package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"gorm.io/gorm"
)

// APIKeyStore is an auth.APIKeyStore in the auth_api_keys table (see
// Migrate). It is safe for concurrent use.
type APIKeyStore struct {
	db *gorm.DB
}

var _ auth.APIKeyStore = (*APIKeyStore)(nil)

// NewAPIKeyStore returns an APIKeyStore over db.
func NewAPIKeyStore(db *gorm.DB) *APIKeyStore { return &APIKeyStore{db: db} }

func toRow(k auth.APIKey) apiKeyRow {
	role := ""
	if k.Role.Valid() {
		role = k.Role.String()
	}
	return apiKeyRow{
		ID: k.ID, TenantID: k.TenantID, UserID: k.UserID, Name: k.Name, Prefix: k.Prefix, Hash: k.Hash, Role: role,
		ExpiresAt: ptr(k.ExpiresAt), LastUsedAt: ptr(k.LastUsedAt), RevokedAt: ptr(k.RevokedAt), CreatedAt: utc(k.CreatedAt),
	}
}

func fromRow(r apiKeyRow) auth.APIKey {
	role, _ := auth.ParseRole(r.Role) // an unknown role stays RoleNone, which never verifies
	return auth.APIKey{
		ID: r.ID, TenantID: r.TenantID, UserID: r.UserID, Name: r.Name, Prefix: r.Prefix, Hash: r.Hash, Role: role,
		ExpiresAt: val(r.ExpiresAt), LastUsedAt: val(r.LastUsedAt), RevokedAt: val(r.RevokedAt), CreatedAt: r.CreatedAt.UTC(),
	}
}

// CreateAPIKey implements auth.APIKeyStore.
func (s *APIKeyStore) CreateAPIKey(ctx context.Context, k auth.APIKey) error {
	if k.ID == "" || k.Hash == "" || k.Prefix == "" {
		return fmt.Errorf("gormstore: API key record needs an id, a prefix and a hash")
	}
	row := toRow(k)
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("gormstore: create API key: %w", err)
	}
	return nil
}

func (s *APIKeyStore) find(ctx context.Context, q func(*gorm.DB) *gorm.DB) ([]auth.APIKey, error) {
	var rows []apiKeyRow
	if err := q(s.db.WithContext(ctx).Model(&apiKeyRow{})).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("gormstore: find API keys: %w", err)
	}
	out := make([]auth.APIKey, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return out, nil
}

// FindAPIKeys implements auth.APIKeyStore.
func (s *APIKeyStore) FindAPIKeys(ctx context.Context, prefix string) ([]auth.APIKey, error) {
	return s.find(ctx, func(db *gorm.DB) *gorm.DB { return db.Where("prefix = ?", prefix).Limit(16) })
}

// ListAPIKeys implements auth.APIKeyStore.
func (s *APIKeyStore) ListAPIKeys(ctx context.Context, tenantID, userID string) ([]auth.APIKey, error) {
	return s.find(ctx, func(db *gorm.DB) *gorm.DB {
		db = db.Where("tenant_id = ?", tenantID)
		if userID != "" {
			db = db.Where("user_id = ?", userID)
		}
		return db.Order("created_at DESC").Order("id")
	})
}

// RevokeAPIKey implements auth.APIKeyStore.
func (s *APIKeyStore) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&apiKeyRow{}).Where("id = ? AND tenant_id = ?", id, tenantID).Count(&n).Error; err != nil {
		return fmt.Errorf("gormstore: revoke API key: %w", err)
	}
	if n == 0 {
		return auth.ErrNotFound
	}
	err := db.Model(&apiKeyRow{}).Where("id = ? AND tenant_id = ? AND revoked_at IS NULL", id, tenantID).Update("revoked_at", utc(at)).Error
	if err != nil {
		return fmt.Errorf("gormstore: revoke API key: %w", err)
	}
	return nil
}

// TouchAPIKey implements auth.APIKeyStore.
func (s *APIKeyStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	at = utc(at)
	res := s.db.WithContext(ctx).Model(&apiKeyRow{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, at).
		Update("last_used_at", at)
	if res.Error != nil {
		return fmt.Errorf("gormstore: touch API key: %w", res.Error)
	}
	return nil
}

package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

type sessionRow struct {
	ID        string     `gorm:"column:id;primaryKey;size:64"`
	UserID    string     `gorm:"column:user_id;size:64;not null;index:idx_auth_sessions_user"`
	CreatedAt time.Time  `gorm:"column:created_at;not null"`
	ExpiresAt time.Time  `gorm:"column:expires_at;not null;index:idx_auth_sessions_expires"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
}

func (sessionRow) TableName() string { return "auth_sessions" }

type refreshRow struct {
	Hash      string     `gorm:"column:hash;primaryKey;size:64"`
	SessionID string     `gorm:"column:session_id;size:64;not null;index:idx_auth_refresh_tokens_session"`
	ExpiresAt time.Time  `gorm:"column:expires_at;not null;index:idx_auth_refresh_tokens_expires"`
	SpentAt   *time.Time `gorm:"column:spent_at"`
}

func (refreshRow) TableName() string { return "auth_refresh_tokens" }

type deniedRow struct {
	TokenID   string    `gorm:"column:token_id;primaryKey;size:64"`
	ExpiresAt time.Time `gorm:"column:expires_at;not null;index:idx_auth_denied_tokens_expires"`
}

func (deniedRow) TableName() string { return "auth_denied_tokens" }

type apiKeyRow struct {
	ID         string     `gorm:"column:id;primaryKey;size:36"`
	TenantID   string     `gorm:"column:tenant_id;size:64;not null;index:idx_auth_api_keys_tenant_user,priority:1"`
	UserID     string     `gorm:"column:user_id;size:64;not null;index:idx_auth_api_keys_tenant_user,priority:2"`
	Name       string     `gorm:"column:name;size:200;not null"`
	Prefix     string     `gorm:"column:prefix;size:16;not null;index:idx_auth_api_keys_prefix"`
	Hash       string     `gorm:"column:hash;size:64;not null;uniqueIndex:idx_auth_api_keys_hash"`
	Role       string     `gorm:"column:role;size:16;not null"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	CreatedAt  time.Time  `gorm:"column:created_at;not null"`
}

func (apiKeyRow) TableName() string { return "auth_api_keys" }

func models() []any { return []any{&sessionRow{}, &refreshRow{}, &deniedRow{}, &apiKeyRow{}} }

// TableNames returns the names of the tables Migrate creates, for grants
// (an application role needs SELECT, INSERT, UPDATE and DELETE on them).
func TableNames() []string {
	return []string{"auth_sessions", "auth_refresh_tokens", "auth_denied_tokens", "auth_api_keys"}
}

// Migrate creates or updates the tables and indexes of both stores. It is
// idempotent.
func Migrate(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).AutoMigrate(models()...); err != nil {
		return fmt.Errorf("gormstore: migrate: %w", err)
	}
	return nil
}

// Drop removes the tables Migrate created, and their data: the down step
// of Migrate.
func Drop(ctx context.Context, db *gorm.DB) error {
	if err := db.WithContext(ctx).Migrator().DropTable(models()...); err != nil {
		return fmt.Errorf("gormstore: drop: %w", err)
	}
	return nil
}

// utc returns t in UTC, truncated to microseconds (PostgreSQL's precision)
// so values compare equally on every database.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func ptr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utc(t)
	return &u
}

func val(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

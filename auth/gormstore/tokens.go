package gormstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TokenStore is an auth.TokenStore in SQL tables (see Migrate). It is safe
// for concurrent use, across processes sharing the database.
type TokenStore struct {
	db *gorm.DB
}

var _ auth.TokenStore = (*TokenStore)(nil)

// NewTokenStore returns a TokenStore over db, whose tables Migrate has
// created.
func NewTokenStore(db *gorm.DB) *TokenStore { return &TokenStore{db: db} }

// CreateSession implements auth.TokenStore.
func (s *TokenStore) CreateSession(ctx context.Context, sess auth.Session, first auth.RefreshRecord) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&sessionRow{ID: sess.ID, UserID: sess.UserID, CreatedAt: utc(sess.CreatedAt), ExpiresAt: utc(sess.ExpiresAt)}).Error; err != nil {
			return err
		}
		return tx.Create(&refreshRow{Hash: first.Hash, SessionID: sess.ID, ExpiresAt: utc(first.ExpiresAt)}).Error
	})
}

// RotateRefresh implements auth.TokenStore.
func (s *TokenStore) RotateRefresh(ctx context.Context, old, next auth.RefreshRecord, now time.Time) error {
	now = utc(now)
	var reuse bool
	err := s.tx(ctx, func(tx *gorm.DB) error {
		reuse = false
		res := tx.Model(&refreshRow{}).
			Where("hash = ? AND session_id = ? AND spent_at IS NULL AND expires_at > ?", old.Hash, old.SessionID, now).
			Update("spent_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var r refreshRow
			err := tx.Where("hash = ? AND session_id = ? AND expires_at > ?", old.Hash, old.SessionID, now).Take(&r).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return auth.ErrNotFound
			}
			if err != nil {
				return err
			}
			// Spent before: reuse. Revoke the session and commit that.
			reuse = true
			return tx.Model(&sessionRow{}).Where("id = ? AND revoked_at IS NULL", r.SessionID).Update("revoked_at", now).Error
		}
		res = tx.Model(&sessionRow{}).
			Where("id = ? AND revoked_at IS NULL AND expires_at > ?", old.SessionID, now).
			Update("expires_at", utc(next.ExpiresAt))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return auth.ErrRevoked
		}
		return tx.Create(&refreshRow{Hash: next.Hash, SessionID: old.SessionID, ExpiresAt: utc(next.ExpiresAt)}).Error
	})
	if err != nil {
		return err
	}
	if reuse {
		return auth.ErrRefreshReuse
	}
	return nil
}

// CheckAccess implements auth.TokenStore.
func (s *TokenStore) CheckAccess(ctx context.Context, sessionID, userID, tokenID string, now time.Time) error {
	now = utc(now)
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&sessionRow{}).Where("id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?", sessionID, userID, now).Count(&n).Error; err != nil {
		return fmt.Errorf("gormstore: %w", err)
	}
	if n == 0 {
		return auth.ErrRevoked
	}
	if err := db.Model(&deniedRow{}).Where("token_id = ? AND expires_at > ?", tokenID, now).Count(&n).Error; err != nil {
		return fmt.Errorf("gormstore: %w", err)
	}
	if n > 0 {
		return auth.ErrRevoked
	}
	return nil
}

// RevokeSession implements auth.TokenStore.
func (s *TokenStore) RevokeSession(ctx context.Context, sessionID string, now time.Time) error {
	err := s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ? AND revoked_at IS NULL", sessionID).Update("revoked_at", utc(now)).Error
	if err != nil {
		return fmt.Errorf("gormstore: %w", err)
	}
	return nil
}

// RevokeUser implements auth.TokenStore.
func (s *TokenStore) RevokeUser(ctx context.Context, userID, exceptSessionID string, now time.Time) error {
	q := s.db.WithContext(ctx).Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", userID)
	if exceptSessionID != "" {
		q = q.Where("id <> ?", exceptSessionID)
	}
	if err := q.Update("revoked_at", utc(now)).Error; err != nil {
		return fmt.Errorf("gormstore: %w", err)
	}
	return nil
}

// DenyToken implements auth.TokenStore. A later expiry wins over an
// earlier one.
func (s *TokenStore) DenyToken(ctx context.Context, tokenID string, until, now time.Time) error {
	until = utc(until)
	db := s.db.WithContext(ctx)
	err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&deniedRow{TokenID: tokenID, ExpiresAt: until}).Error
	if err == nil {
		err = db.Model(&deniedRow{}).Where("token_id = ? AND expires_at < ?", tokenID, until).Update("expires_at", until).Error
	}
	if err != nil {
		return fmt.Errorf("gormstore: deny token: %w", err)
	}
	return nil
}

// Purge deletes sessions, refresh-token records and denylist entries that
// expired before now. Correctness never depends on it; it only reclaims
// space.
func (s *TokenStore) Purge(ctx context.Context, now time.Time) error {
	now = utc(now)
	db := s.db.WithContext(ctx)
	for _, m := range []any{&refreshRow{}, &deniedRow{}, &sessionRow{}} {
		if err := db.Where("expires_at <= ?", now).Delete(m).Error; err != nil {
			return fmt.Errorf("gormstore: purge: %w", err)
		}
	}
	return nil
}

// tx runs f in a transaction, retrying (on SQLite) when the database is
// locked by a concurrent writer.
func (s *TokenStore) tx(ctx context.Context, f func(tx *gorm.DB) error) error {
	return transaction(ctx, s.db, f)
}

func transaction(ctx context.Context, db *gorm.DB, f func(tx *gorm.DB) error) error {
	backoff := 2 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := db.WithContext(ctx).Transaction(f)
		if err == nil || errors.Is(err, auth.ErrNotFound) || errors.Is(err, auth.ErrRevoked) {
			return err
		}
		if !isBusy(err) || attempt >= 20 {
			return fmt.Errorf("gormstore: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// isBusy reports SQLite's "database is locked" family of errors, which a
// retry of the whole transaction resolves.
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

package auth

import (
	"context"
	"sync"
	"time"
)

// MemoryTokenStore is a TokenStore held in process memory, for tests and
// single-process deployments. State is lost on restart (every session ends).
// Expired entries are dropped as the store is written to, so memory stays
// proportional to live sessions. It is safe for concurrent use.
type MemoryTokenStore struct {
	mu        sync.RWMutex
	sessions  map[string]*memSession
	refresh   map[string]*memRefresh
	denied    map[string]time.Time
	byUser    map[string]map[string]struct{}
	lastSweep time.Time
}

type memSession struct {
	userID    string
	expiresAt time.Time
	revoked   bool
}

type memRefresh struct {
	sessionID string
	expiresAt time.Time
	spent     bool
}

var _ TokenStore = (*MemoryTokenStore)(nil)

// NewMemoryTokenStore returns an empty in-memory TokenStore.
func NewMemoryTokenStore() *MemoryTokenStore {
	return &MemoryTokenStore{
		sessions: map[string]*memSession{},
		refresh:  map[string]*memRefresh{},
		denied:   map[string]time.Time{},
		byUser:   map[string]map[string]struct{}{},
	}
}

// CreateSession implements TokenStore.
func (s *MemoryTokenStore) CreateSession(ctx context.Context, sess Session, first RefreshRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(sess.CreatedAt)
	s.sessions[sess.ID] = &memSession{userID: sess.UserID, expiresAt: sess.ExpiresAt}
	u := s.byUser[sess.UserID]
	if u == nil {
		u = map[string]struct{}{}
		s.byUser[sess.UserID] = u
	}
	u[sess.ID] = struct{}{}
	s.refresh[first.Hash] = &memRefresh{sessionID: sess.ID, expiresAt: first.ExpiresAt}
	return nil
}

// RotateRefresh implements TokenStore.
func (s *MemoryTokenStore) RotateRefresh(ctx context.Context, old, next RefreshRecord, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refresh[old.Hash]
	if !ok || r.sessionID != old.SessionID || !now.Before(r.expiresAt) {
		return ErrNotFound
	}
	sess, ok := s.sessions[r.sessionID]
	if r.spent {
		if ok {
			sess.revoked = true
		}
		return ErrRefreshReuse
	}
	if !ok || sess.revoked || !now.Before(sess.expiresAt) {
		return ErrRevoked
	}
	r.spent = true
	s.refresh[next.Hash] = &memRefresh{sessionID: r.sessionID, expiresAt: next.ExpiresAt}
	sess.expiresAt = next.ExpiresAt
	return nil
}

// CheckAccess implements TokenStore.
func (s *MemoryTokenStore) CheckAccess(ctx context.Context, sessionID, userID, tokenID string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessions[sessionID]
	if !ok || sess.revoked || !now.Before(sess.expiresAt) || sess.userID != userID {
		return ErrRevoked
	}
	if until, denied := s.denied[tokenID]; denied && now.Before(until) {
		return ErrRevoked
	}
	return nil
}

// RevokeSession implements TokenStore.
func (s *MemoryTokenStore) RevokeSession(ctx context.Context, sessionID string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[sessionID]; ok {
		sess.revoked = true
	}
	return nil
}

// RevokeUser implements TokenStore.
func (s *MemoryTokenStore) RevokeUser(ctx context.Context, userID, exceptSessionID string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sid := range s.byUser[userID] {
		if sid == exceptSessionID {
			continue
		}
		if sess, ok := s.sessions[sid]; ok {
			sess.revoked = true
		}
	}
	return nil
}

// DenyToken implements TokenStore.
func (s *MemoryTokenStore) DenyToken(ctx context.Context, tokenID string, until, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.denied[tokenID]; !ok || until.After(cur) {
		s.denied[tokenID] = until
	}
	return nil
}

// Purge drops every entry that expired before now. Writes call it at most
// once a minute on their own; call it directly to reclaim memory sooner.
func (s *MemoryTokenStore) Purge(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purgeLocked(now)
}

func (s *MemoryTokenStore) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute && !now.Before(s.lastSweep) {
		return
	}
	s.purgeLocked(now)
}

func (s *MemoryTokenStore) purgeLocked(now time.Time) {
	s.lastSweep = now
	for h, r := range s.refresh {
		if !now.Before(r.expiresAt) {
			delete(s.refresh, h)
		}
	}
	for id, sess := range s.sessions {
		if !now.Before(sess.expiresAt) {
			delete(s.sessions, id)
			if u := s.byUser[sess.userID]; u != nil {
				delete(u, id)
				if len(u) == 0 {
					delete(s.byUser, sess.userID)
				}
			}
		}
	}
	for id, until := range s.denied {
		if !now.Before(until) {
			delete(s.denied, id)
		}
	}
}

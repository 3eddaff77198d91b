package auth

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// APIKey is the stored record of an API key. It never holds the key, only
// its SHA-256 hash (see HashToken). Zero times mean "never".
type APIKey struct {
	ID         string    // UUID
	TenantID   string    // the tenant the key acts in
	UserID     string    // the user who created it and on whose behalf it acts
	Name       string    // a label chosen by the user
	Prefix     string    // public lookup prefix, e.g. "mst_AbC12345"
	Hash       string    // hex SHA-256 of the key
	Role       Role      // the key's role, at most its creator's at creation
	ExpiresAt  time.Time // zero: never expires
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: not revoked
	CreatedAt  time.Time
}

// Usable reports whether the key is neither revoked nor expired at now.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// APIKeyStore persists API key records. The table it uses is
// platform-level (not tenant-owned); methods that act on one key take the
// tenant id so a caller cannot reach another tenant's key by id.
// Implementations must be safe for concurrent use; NewMemoryAPIKeyStore
// and gormstore.NewAPIKeyStore are provided, and every implementation
// should pass authtest.RunAPIKeyStoreTests.
type APIKeyStore interface {
	// CreateAPIKey stores a new record.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// FindAPIKeys returns every record with the given lookup prefix
	// (usually one), revoked and expired ones included.
	FindAPIKeys(ctx context.Context, prefix string) ([]APIKey, error)
	// ListAPIKeys returns the tenant's records, all of them when userID is
	// "" or else those of that user, newest first.
	ListAPIKeys(ctx context.Context, tenantID, userID string) ([]APIKey, error)
	// RevokeAPIKey marks the key revoked at the given time; ErrNotFound
	// when no key with that id belongs to the tenant. Revoking twice keeps
	// the first time and is not an error.
	RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error
	// TouchAPIKey records a use of the key.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// APIKeys creates, verifies, lists and revokes API keys. It implements
// APIKeyVerifier for the Middleware. It is safe for concurrent use.
//
// A key keeps the role it was created with. When a user's role is lowered
// or their membership or account ends, the host should revoke their keys or
// refuse them in a Middleware principal check (WithPrincipalCheck), which
// sees Principal.Method == MethodAPIKey.
type APIKeys struct {
	store      APIKeyStore
	now        func() time.Time
	touchEvery time.Duration
	maxTTL     time.Duration
}

// APIKeyOption configures APIKeys. An option given an invalid value makes
// NewAPIKeys fail with an error wrapping ErrInvalid.
type APIKeyOption func(*APIKeys) error

// WithAPIKeyClock sets the time source (default time.Now); for tests. A
// nil clock is invalid.
func WithAPIKeyClock(now func() time.Time) APIKeyOption {
	return func(a *APIKeys) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		a.now = now
		return nil
	}
}

// WithLastUsedInterval sets how stale LastUsedAt may get before a
// verification writes it again (default one minute), so a busy key does not
// cost a database write per request. Zero writes on every use; a negative
// interval is invalid.
func WithLastUsedInterval(d time.Duration) APIKeyOption {
	return func(a *APIKeys) error {
		if d < 0 {
			return fmt.Errorf("%w: negative last-used interval %s", ErrInvalid, d)
		}
		a.touchEvery = d
		return nil
	}
}

// WithMaxAPIKeyTTL bounds the lifetime a new key may be given; with it set,
// keys without an expiry are refused (default: no bound). d must be
// positive.
func WithMaxAPIKeyTTL(d time.Duration) APIKeyOption {
	return func(a *APIKeys) error {
		if d <= 0 {
			return fmt.Errorf("%w: non-positive maximum API key TTL %s", ErrInvalid, d)
		}
		a.maxTTL = d
		return nil
	}
}

// NewAPIKeys returns an API key service over store.
func NewAPIKeys(store APIKeyStore, opts ...APIKeyOption) (*APIKeys, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil APIKeyStore", ErrInvalid)
	}
	a := &APIKeys{store: store, now: time.Now, touchEvery: time.Minute}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// NewAPIKey describes a key to create.
type NewAPIKey struct {
	Name string        // 1 to 100 characters
	Role Role          // RoleNone: the creator's role
	TTL  time.Duration // 0: no expiry
}

// Create makes a key for creator in creator's tenant and returns the key —
// show it to the user once; it cannot be recovered — and its record. The
// role defaults to the creator's and may not exceed it (ErrRoleTooHigh); a
// superadmin may grant up to RoleAdmin. Keys never carry the superadmin
// flag. A principal authenticated by an API key may not create keys
// (ErrForbidden), so a leaked key cannot mint successors that outlive its
// revocation.
func (a *APIKeys) Create(ctx context.Context, creator Principal, req NewAPIKey) (string, APIKey, error) {
	if creator.Method == MethodAPIKey {
		return "", APIKey{}, fmt.Errorf("%w: API keys cannot create API keys", ErrForbidden)
	}
	if creator.UserID == "" || creator.TenantID == "" {
		return "", APIKey{}, errors.New("auth: API key creator needs a user and a tenant")
	}
	if n := utf8.RuneCountInString(req.Name); n < 1 || n > 100 || !utf8.ValidString(req.Name) {
		return "", APIKey{}, errors.New("auth: API key name must have 1 to 100 characters")
	}
	ceiling := creator.Role
	if creator.Superadmin {
		ceiling = RoleAdmin
	}
	role := req.Role
	if role == RoleNone {
		role = creator.Role
	}
	switch {
	case !role.Valid():
		return "", APIKey{}, fmt.Errorf("auth: invalid API key role %d", int(role))
	case role > ceiling:
		return "", APIKey{}, ErrRoleTooHigh
	case req.TTL < 0:
		return "", APIKey{}, errors.New("auth: negative API key TTL")
	case a.maxTTL > 0 && (req.TTL == 0 || req.TTL > a.maxTTL):
		return "", APIKey{}, fmt.Errorf("auth: API key TTL must be set and at most %s", a.maxTTL)
	}
	key, prefix, err := GenerateAPIKey()
	if err != nil {
		return "", APIKey{}, err
	}
	now := a.now().UTC()
	rec := APIKey{
		ID:        uuid.NewString(),
		TenantID:  creator.TenantID,
		UserID:    creator.UserID,
		Name:      req.Name,
		Prefix:    prefix,
		Hash:      HashToken(key),
		Role:      role,
		CreatedAt: now,
	}
	if req.TTL > 0 {
		rec.ExpiresAt = now.Add(req.TTL)
	}
	if err := a.store.CreateAPIKey(ctx, rec); err != nil {
		return "", APIKey{}, fmt.Errorf("auth: store API key: %w", err)
	}
	return key, rec, nil
}

// VerifyAPIKey checks key's format and checksum, finds its record by
// prefix, compares hashes in constant time, and refuses revoked
// (ErrRevoked) and expired (ErrExpired) keys. It returns the principal the
// key acts as. Failing to record the last-used time does not fail the
// verification.
func (a *APIKeys) VerifyAPIKey(ctx context.Context, key string) (Principal, error) {
	prefix, err := ParseAPIKey(key)
	if err != nil {
		return Principal{}, err
	}
	recs, err := a.store.FindAPIKeys(ctx, prefix)
	if err != nil {
		return Principal{}, fmt.Errorf("auth: find API key: %w", err)
	}
	h := HashToken(key)
	var found *APIKey
	for i := range recs {
		if subtle.ConstantTimeCompare([]byte(recs[i].Hash), []byte(h)) == 1 {
			found = &recs[i]
		}
	}
	if found == nil {
		return Principal{}, ErrInvalidAPIKey
	}
	now := a.now()
	switch {
	case !found.RevokedAt.IsZero():
		return Principal{}, ErrRevoked
	case !found.ExpiresAt.IsZero() && !now.Before(found.ExpiresAt):
		return Principal{}, ErrExpired
	case !found.Role.Valid():
		return Principal{}, ErrInvalidAPIKey
	}
	if found.LastUsedAt.IsZero() || now.Sub(found.LastUsedAt) >= a.touchEvery {
		_ = a.store.TouchAPIKey(ctx, found.ID, now.UTC())
	}
	return Principal{
		UserID:   found.UserID,
		TenantID: found.TenantID,
		Role:     found.Role,
		APIKeyID: found.ID,
		Method:   MethodAPIKey,
	}, nil
}

// List returns the tenant's keys (all when userID is "", else that user's).
func (a *APIKeys) List(ctx context.Context, tenantID, userID string) ([]APIKey, error) {
	if tenantID == "" {
		return nil, errors.New("auth: empty tenant id")
	}
	return a.store.ListAPIKeys(ctx, tenantID, userID)
}

// Revoke revokes the tenant's key id; ErrNotFound when the tenant has no
// such key. A revoked key fails verification from the next request on.
func (a *APIKeys) Revoke(ctx context.Context, tenantID, id string) error {
	if tenantID == "" || id == "" {
		return ErrNotFound
	}
	return a.store.RevokeAPIKey(ctx, tenantID, id, a.now().UTC())
}

// MemoryAPIKeyStore is an APIKeyStore in process memory, for tests and
// single-process use. It is safe for concurrent use.
type MemoryAPIKeyStore struct {
	mu   sync.RWMutex
	keys map[string]APIKey // by id
}

var _ APIKeyStore = (*MemoryAPIKeyStore)(nil)

// NewMemoryAPIKeyStore returns an empty MemoryAPIKeyStore.
func NewMemoryAPIKeyStore() *MemoryAPIKeyStore {
	return &MemoryAPIKeyStore{keys: map[string]APIKey{}}
}

// CreateAPIKey implements APIKeyStore.
func (s *MemoryAPIKeyStore) CreateAPIKey(ctx context.Context, k APIKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if k.ID == "" || k.Hash == "" || k.Prefix == "" {
		return errors.New("auth: API key record needs an id, a prefix and a hash")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.keys[k.ID]; dup {
		return fmt.Errorf("auth: duplicate API key id %q", k.ID)
	}
	s.keys[k.ID] = k
	return nil
}

// FindAPIKeys implements APIKeyStore.
func (s *MemoryAPIKeyStore) FindAPIKeys(ctx context.Context, prefix string) ([]APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []APIKey
	for _, k := range s.keys {
		if k.Prefix == prefix {
			out = append(out, k)
		}
	}
	return out, nil
}

// ListAPIKeys implements APIKeyStore.
func (s *MemoryAPIKeyStore) ListAPIKeys(ctx context.Context, tenantID, userID string) ([]APIKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []APIKey{}
	for _, k := range s.keys {
		if k.TenantID == tenantID && (userID == "" || k.UserID == userID) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(x, y APIKey) int {
		if c := y.CreatedAt.Compare(x.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return out, nil
}

// RevokeAPIKey implements APIKeyStore.
func (s *MemoryAPIKeyStore) RevokeAPIKey(ctx context.Context, tenantID, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok || k.TenantID != tenantID {
		return ErrNotFound
	}
	if k.RevokedAt.IsZero() {
		k.RevokedAt = at
		s.keys[id] = k
	}
	return nil
}

// TouchAPIKey implements APIKeyStore.
func (s *MemoryAPIKeyStore) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return ErrNotFound
	}
	if at.After(k.LastUsedAt) {
		k.LastUsedAt = at
		s.keys[id] = k
	}
	return nil
}

package auth

import (
	"context"
	"time"
)

// Session is one login: the family of every access and refresh token issued
// from a single IssuePair call and its refreshes. Revoking the session
// revokes them all.
type Session struct {
	ID        string    // the "sid" claim
	UserID    string    // the user who logged in
	CreatedAt time.Time // when IssuePair ran
	ExpiresAt time.Time // expiry of the session's newest refresh token
}

// RefreshRecord is what a TokenStore keeps of one refresh token: never the
// token, only its hash (see HashToken).
type RefreshRecord struct {
	Hash      string    // hex SHA-256 of the token string
	SessionID string    // the session the token belongs to
	UserID    string    // the session's user
	ExpiresAt time.Time // the token's "exp"
}

// TokenStore holds the server-side state that makes JWTs revocable: login
// sessions, the hashes of refresh tokens with their spent state, a denylist
// of access-token ids, and per-user revocation.
//
// Implementations must be safe for concurrent use, and RotateRefresh must be
// atomic: of any number of concurrent calls with the same old hash, exactly
// one succeeds. The package provides NewMemoryTokenStore; packages
// auth/gormstore and auth/redisstore provide SQL and Redis stores. Every
// implementation should pass authtest.RunTokenStoreTests.
//
// Times passed in come from the JWTManager's clock; stores compare expiry
// against them rather than reading their own clock, except that Redis lets
// keys expire on its own clock.
type TokenStore interface {
	// CreateSession records a new, active session and its first refresh
	// token.
	CreateSession(ctx context.Context, s Session, first RefreshRecord) error

	// RotateRefresh spends the refresh token old (matched by Hash, and
	// belonging to old.SessionID) and records next in the same session,
	// setting the session's expiry to next.ExpiresAt — all atomically.
	// It fails with ErrRefreshReuse when old was already spent, after
	// revoking the session; with ErrRevoked when the session is revoked or
	// expired; with ErrNotFound when no unexpired record of old exists.
	RotateRefresh(ctx context.Context, old, next RefreshRecord, now time.Time) error

	// CheckAccess returns nil when the session is known, active and
	// unexpired at now, belongs to userID (the token's subject) and tokenID
	// is not denied; ErrRevoked otherwise. Binding the session to its user
	// means a token naming one user inside another user's live session is
	// refused even if it carries a valid signature.
	CheckAccess(ctx context.Context, sessionID, userID, tokenID string, now time.Time) error

	// RevokeSession revokes one session. Revoking an unknown or already
	// revoked session is not an error.
	RevokeSession(ctx context.Context, sessionID string, now time.Time) error

	// RevokeUser revokes every session of userID except the one named
	// exceptSessionID (pass "" to revoke all).
	RevokeUser(ctx context.Context, userID, exceptSessionID string, now time.Time) error

	// DenyToken denies the access-token id tokenID until the given time
	// (its expiry); afterwards the entry may be forgotten.
	DenyToken(ctx context.Context, tokenID string, until, now time.Time) error
}

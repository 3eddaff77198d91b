package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Defaults of a JWTManager.
const (
	DefaultIssuer     = "maestro"
	DefaultAudience   = "maestro"
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 7 * 24 * time.Hour
	DefaultLeeway     = 5 * time.Second
)

// maxTokenLen bounds the input a verifier parses; real tokens are a few
// hundred bytes.
const maxTokenLen = 4096

// JWTManager issues and verifies access and refresh tokens for login
// sessions. Access tokens are short-lived and verified mostly offline (one
// TokenStore lookup for revocation); refresh tokens are single-use and
// rotate on every refresh, with reuse detection that revokes the session.
//
// A JWTManager is safe for concurrent use, including key-ring changes
// (AddKey, UseKey, RemoveKey) while tokens are being verified.
type JWTManager struct {
	store      TokenStore
	issuer     string
	audience   string
	accessTTL  time.Duration
	refreshTTL time.Duration
	leeway     time.Duration
	now        func() time.Time
	refresher  func(context.Context, Subject) (Subject, error)
	popts      []jwt.ParserOption
	ring       atomic.Pointer[keyRing]

	initActive Key   // from WithKeys, consumed by NewJWTManager
	initOthers []Key // from WithKeys, consumed by NewJWTManager
}

// Option configures a JWTManager. An option given an invalid value makes
// NewJWTManager fail with an error wrapping ErrInvalid.
type Option func(*JWTManager) error

// WithKeys sets the key ring: active signs new tokens; active and every key
// in others verify tokens whose "kid" names them. At least one signing key is
// required; NewJWTManager fails without this option.
func WithKeys(active Key, others ...Key) Option {
	return func(m *JWTManager) error {
		m.initActive = active
		m.initOthers = append([]Key(nil), others...)
		return nil
	}
}

// WithIssuer sets the "iss" claim written and required (default "maestro").
func WithIssuer(iss string) Option {
	return func(m *JWTManager) error {
		if iss == "" {
			return fmt.Errorf("%w: empty issuer", ErrInvalid)
		}
		m.issuer = iss
		return nil
	}
}

// WithAudience sets the "aud" value written and required (default
// "maestro").
func WithAudience(aud string) Option {
	return func(m *JWTManager) error {
		if aud == "" {
			return fmt.Errorf("%w: empty audience", ErrInvalid)
		}
		m.audience = aud
		return nil
	}
}

// WithAccessTTL sets the access-token lifetime (default 15 minutes; at most
// one hour, since access tokens are revoked only through a store lookup).
func WithAccessTTL(d time.Duration) Option {
	return func(m *JWTManager) error {
		if d < time.Second || d > time.Hour {
			return fmt.Errorf("%w: access TTL %s out of range [1s, 1h]", ErrInvalid, d)
		}
		m.accessTTL = d
		return nil
	}
}

// WithRefreshTTL sets the refresh-token lifetime (default 7 days). Each
// refresh issues a new refresh token with a full lifetime, so an idle
// session ends after d.
func WithRefreshTTL(d time.Duration) Option {
	return func(m *JWTManager) error {
		if d < time.Minute || d > 90*24*time.Hour {
			return fmt.Errorf("%w: refresh TTL %s out of range [1m, 90d]", ErrInvalid, d)
		}
		m.refreshTTL = d
		return nil
	}
}

// WithLeeway sets the clock-skew allowance applied to "exp", "nbf" and
// "iat" (default 5 seconds, at most one minute).
func WithLeeway(d time.Duration) Option {
	return func(m *JWTManager) error {
		if d < 0 || d > time.Minute {
			return fmt.Errorf("%w: leeway %s out of range [0, 1m]", ErrInvalid, d)
		}
		m.leeway = d
		return nil
	}
}

// WithClock sets the time source (default time.Now); for tests. A nil
// clock is invalid.
func WithClock(now func() time.Time) Option {
	return func(m *JWTManager) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		m.now = now
		return nil
	}
}

// WithSubjectRefresher sets a function Refresh calls, before spending the
// refresh token, with the subject the token carries. It returns the subject
// the new pair is issued to — so a changed role takes effect at the next
// refresh — or an error, which Refresh returns unchanged (the token is not
// spent). Use it to refuse refreshes of deactivated users or removed
// memberships. A nil function is invalid.
func WithSubjectRefresher(f func(ctx context.Context, s Subject) (Subject, error)) Option {
	return func(m *JWTManager) error {
		if f == nil {
			return fmt.Errorf("%w: nil subject refresher", ErrInvalid)
		}
		m.refresher = f
		return nil
	}
}

// NewJWTManager returns a manager that keeps session state in store. The
// WithKeys option is required.
func NewJWTManager(store TokenStore, opts ...Option) (*JWTManager, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil TokenStore", ErrInvalid)
	}
	m := &JWTManager{
		store:      store,
		issuer:     DefaultIssuer,
		audience:   DefaultAudience,
		accessTTL:  DefaultAccessTTL,
		refreshTTL: DefaultRefreshTTL,
		leeway:     DefaultLeeway,
		now:        time.Now,
	}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(m); err != nil {
			return nil, err
		}
	}
	if m.accessTTL >= m.refreshTTL {
		return nil, fmt.Errorf("%w: access TTL %s must be shorter than refresh TTL %s", ErrInvalid, m.accessTTL, m.refreshTTL)
	}
	if !m.initActive.valid() {
		return nil, fmt.Errorf("%w: no signing key (use WithKeys)", ErrInvalidKey)
	}
	m.popts = []jwt.ParserOption{
		jwt.WithIssuer(m.issuer),
		jwt.WithAudience(m.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(m.leeway),
		jwt.WithTimeFunc(m.now),
		jwt.WithStrictDecoding(),
	}
	ring, err := newKeyRing(m.initActive, m.initOthers, m.popts)
	if err != nil {
		return nil, err
	}
	m.initActive, m.initOthers = Key{}, nil
	m.ring.Store(ring)
	return m, nil
}

// AccessTTL returns the lifetime of the access tokens the manager issues.
func (m *JWTManager) AccessTTL() time.Duration { return m.accessTTL }

// RefreshTTL returns the lifetime of the refresh tokens the manager issues.
func (m *JWTManager) RefreshTTL() time.Duration { return m.refreshTTL }

// ActiveKeyID returns the id of the key that signs new tokens.
func (m *JWTManager) ActiveKeyID() string { return m.ring.Load().active.id }

// AddKey adds a verification (or future signing) key to the ring. Tokens
// whose "kid" names it verify from now on.
func (m *JWTManager) AddKey(k Key) error {
	for {
		old := m.ring.Load()
		next, err := newKeyRing(old.active, append(old.others(), k), m.popts)
		if err != nil {
			return err
		}
		if m.ring.CompareAndSwap(old, next) {
			return nil
		}
	}
}

// UseKey makes the ring's key kid the active signing key. The previous
// active key stays in the ring and keeps verifying the tokens it signed
// until RemoveKey; remove it once they have expired (after the refresh TTL)
// to finish a rotation without logging anyone out.
func (m *JWTManager) UseKey(kid string) error {
	for {
		old := m.ring.Load()
		k, ok := old.byID[kid]
		if !ok {
			return fmt.Errorf("%w: no key %q in the ring", ErrInvalidKey, kid)
		}
		others := make([]Key, 0, len(old.byID))
		for id, o := range old.byID {
			if id != kid {
				others = append(others, o)
			}
		}
		next, err := newKeyRing(k, others, m.popts)
		if err != nil {
			return err
		}
		if m.ring.CompareAndSwap(old, next) {
			return nil
		}
	}
}

// RemoveKey removes a key from the ring; tokens it signed stop verifying.
// The active key cannot be removed.
func (m *JWTManager) RemoveKey(kid string) error {
	for {
		old := m.ring.Load()
		if kid == old.active.id {
			return fmt.Errorf("%w: cannot remove the active key %q", ErrInvalidKey, kid)
		}
		if _, ok := old.byID[kid]; !ok {
			return fmt.Errorf("%w: no key %q in the ring", ErrInvalidKey, kid)
		}
		others := old.others()
		for i, k := range others {
			if k.id == kid {
				others = append(others[:i], others[i+1:]...)
				break
			}
		}
		next, err := newKeyRing(old.active, others, m.popts)
		if err != nil {
			return err
		}
		if m.ring.CompareAndSwap(old, next) {
			return nil
		}
	}
}

// Pair is a freshly issued access and refresh token.
type Pair struct {
	AccessToken      string
	RefreshToken     string
	TokenType        string    // always "bearer"
	ExpiresIn        int       // access-token lifetime in seconds
	AccessExpiresAt  time.Time // the access token's "exp"
	RefreshExpiresAt time.Time // the refresh token's "exp"
	SessionID        string    // the session both belong to
}

// HashToken returns the hex SHA-256 of a token string, the only form in
// which stores keep refresh tokens (and API keys). A fast hash is right
// here: these tokens carry at least 122 bits of randomness, so guessing
// one from its hash is infeasible whatever the hash speed, while a slow,
// salted password hash (argon2id) would cost tens of milliseconds and
// megabytes per refresh and would rule out lookup by hash.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func validSubject(s Subject) error {
	switch {
	case s.UserID == "":
		return errors.New("auth: subject has no user id")
	case s.Role != RoleNone && !s.Role.Valid():
		return fmt.Errorf("auth: subject has invalid role %d", int(s.Role))
	case !s.Superadmin && (s.TenantID == "" || s.Role == RoleNone):
		return errors.New("auth: subject needs a tenant and a role unless superadmin")
	}
	return nil
}

// IssuePair starts a new login session for s and returns its first token
// pair. Call it after the user has been authenticated (password verified,
// throttling passed).
func (m *JWTManager) IssuePair(ctx context.Context, s Subject) (Pair, error) {
	if err := validSubject(s); err != nil {
		return Pair{}, err
	}
	now := m.now()
	sid := uuid.NewString()
	p, rec, err := m.mint(s, sid, now)
	if err != nil {
		return Pair{}, err
	}
	sess := Session{ID: sid, UserID: s.UserID, CreatedAt: now, ExpiresAt: rec.ExpiresAt}
	if err := m.store.CreateSession(ctx, sess, rec); err != nil {
		return Pair{}, fmt.Errorf("auth: create session: %w", err)
	}
	return p, nil
}

// mint signs an access and a refresh token for s in session sid.
func (m *JWTManager) mint(s Subject, sid string, now time.Time) (Pair, RefreshRecord, error) {
	ring := m.ring.Load()
	accessExp := now.Add(m.accessTTL)
	refreshExp := now.Add(m.refreshTTL)
	at, err := m.sign(ring, s, sid, TokenAccess, now, accessExp)
	if err != nil {
		return Pair{}, RefreshRecord{}, err
	}
	rt, err := m.sign(ring, s, sid, TokenRefresh, now, refreshExp)
	if err != nil {
		return Pair{}, RefreshRecord{}, err
	}
	// exp is truncated to whole seconds in the token; keep the record in step.
	refreshExp = jwt.NewNumericDate(refreshExp).Time
	accessExp = jwt.NewNumericDate(accessExp).Time
	p := Pair{
		AccessToken:      at,
		RefreshToken:     rt,
		TokenType:        "bearer",
		ExpiresIn:        int(m.accessTTL / time.Second),
		AccessExpiresAt:  accessExp,
		RefreshExpiresAt: refreshExp,
		SessionID:        sid,
	}
	return p, RefreshRecord{Hash: HashToken(rt), SessionID: sid, UserID: s.UserID, ExpiresAt: refreshExp}, nil
}

func (m *JWTManager) sign(ring *keyRing, s Subject, sid string, typ TokenType, now, exp time.Time) (string, error) {
	c := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    m.issuer,
			Subject:   s.UserID,
			Audience:  jwt.ClaimStrings{m.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Tenant:     s.TenantID,
		Superadmin: s.Superadmin,
		SessionID:  sid,
		Type:       string(typ),
	}
	if s.Role != RoleNone {
		c.Role = s.Role.String()
	}
	t := jwt.NewWithClaims(ring.active.method, c)
	t.Header["kid"] = ring.active.id
	if typ == TokenAccess {
		t.Header["typ"] = HeaderTypeAccess
	} else {
		t.Header["typ"] = HeaderTypeRefresh
	}
	out, err := t.SignedString(ring.active.sign)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return out, nil
}

// parse verifies token's signature, algorithm, issuer, audience, time
// claims and type, and returns its claims.
func (m *JWTManager) parse(token string, want TokenType) (Claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return Claims{}, ErrInvalidToken
	}
	ring := m.ring.Load()
	var wc wireClaims
	t, err := ring.parser.ParseWithClaims(token, &wc, ring.keyFunc)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) && !errors.Is(err, jwt.ErrTokenInvalidAudience) &&
			!errors.Is(err, jwt.ErrTokenInvalidIssuer) && !errors.Is(err, jwt.ErrTokenNotValidYet) &&
			!errors.Is(err, jwt.ErrTokenUsedBeforeIssued) {
			return Claims{}, ErrExpired
		}
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	wantHeader := HeaderTypeAccess
	if want == TokenRefresh {
		wantHeader = HeaderTypeRefresh
	}
	if h, _ := t.Header["typ"].(string); h != wantHeader || wc.Type != string(want) {
		return Claims{}, fmt.Errorf("%w: not a %s token", ErrInvalidToken, want)
	}
	c := Claims{
		Subject: Subject{
			UserID:     wc.Subject,
			TenantID:   wc.Tenant,
			Superadmin: wc.Superadmin,
		},
		SessionID: wc.SessionID,
		TokenID:   wc.ID,
		Type:      want,
	}
	if wc.Role != "" {
		r, err := ParseRole(wc.Role)
		if err != nil {
			return Claims{}, fmt.Errorf("%w: bad role", ErrInvalidToken)
		}
		c.Role = r
	}
	if c.SessionID == "" || c.TokenID == "" || wc.IssuedAt == nil || validSubject(c.Subject) != nil {
		return Claims{}, fmt.Errorf("%w: incomplete claims", ErrInvalidToken)
	}
	c.KeyID, _ = t.Header["kid"].(string)
	c.IssuedAt = wc.IssuedAt.Time
	c.ExpiresAt = wc.ExpiresAt.Time
	return c, nil
}

// VerifyAccess verifies an access token completely — signature with the
// key its "kid" names and the algorithm pinned to that key, issuer,
// audience, expiry (required), not-before, issued-at, token type — and
// checks with the store that its session is active, belongs to the token's
// subject and that its id is not denied.
// It fails with ErrInvalidToken, ErrExpired or ErrRevoked (wrapped), or
// with the store's error when the store cannot answer (fail closed).
func (m *JWTManager) VerifyAccess(ctx context.Context, token string) (Claims, error) {
	c, err := m.parse(token, TokenAccess)
	if err != nil {
		return Claims{}, err
	}
	if err := m.store.CheckAccess(ctx, c.SessionID, c.UserID, c.TokenID, m.now()); err != nil {
		if errors.Is(err, ErrRevoked) {
			return Claims{}, ErrRevoked
		}
		return Claims{}, fmt.Errorf("auth: check session: %w", err)
	}
	return c, nil
}

// Refresh spends refreshToken and issues a new pair in the same session
// (RFC 9700 §4.14.2 rotation). A refresh token is single-use: presenting it
// again — by an attacker who stole it or by the legitimate client after the
// attacker used it — fails with ErrRefreshReuse and revokes the whole
// session, so neither party keeps access. Of concurrent refreshes of one
// token exactly one succeeds; the others count as reuse. Other failures:
// ErrInvalidToken, ErrExpired, ErrRevoked, or the subject refresher's
// error.
func (m *JWTManager) Refresh(ctx context.Context, refreshToken string) (Pair, error) {
	c, err := m.parse(refreshToken, TokenRefresh)
	if err != nil {
		return Pair{}, err
	}
	s := c.Subject
	if m.refresher != nil {
		if s, err = m.refresher(ctx, c.Subject); err != nil {
			return Pair{}, err
		}
		if s.UserID != c.UserID {
			return Pair{}, errors.New("auth: subject refresher changed the user")
		}
		if err := validSubject(s); err != nil {
			return Pair{}, err
		}
	}
	now := m.now()
	p, next, err := m.mint(s, c.SessionID, now)
	if err != nil {
		return Pair{}, err
	}
	old := RefreshRecord{Hash: HashToken(refreshToken), SessionID: c.SessionID, UserID: c.UserID, ExpiresAt: c.ExpiresAt}
	switch err := m.store.RotateRefresh(ctx, old, next, now); {
	case err == nil:
		return p, nil
	case errors.Is(err, ErrRefreshReuse):
		return Pair{}, ErrRefreshReuse
	case errors.Is(err, ErrRevoked), errors.Is(err, ErrNotFound):
		return Pair{}, ErrRevoked
	default:
		return Pair{}, fmt.Errorf("auth: rotate refresh token: %w", err)
	}
}

// Logout ends the session of verified access-token claims: the session is
// revoked (its refresh token stops working) and the access token's id is
// denied until it expires.
func (m *JWTManager) Logout(ctx context.Context, c Claims) error {
	if c.SessionID == "" || c.TokenID == "" {
		return fmt.Errorf("%w: claims without session or token id", ErrInvalidToken)
	}
	now := m.now()
	if err := m.store.RevokeSession(ctx, c.SessionID, now); err != nil {
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	until := c.ExpiresAt.Add(m.leeway)
	if c.ExpiresAt.IsZero() {
		until = now.Add(m.accessTTL + m.leeway)
	}
	if err := m.store.DenyToken(ctx, c.TokenID, until, now); err != nil {
		return fmt.Errorf("auth: deny token: %w", err)
	}
	return nil
}

// RevokeSession revokes one login session by id.
func (m *JWTManager) RevokeSession(ctx context.Context, sessionID string) error {
	if err := m.store.RevokeSession(ctx, sessionID, m.now()); err != nil {
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	return nil
}

// RevokeUser revokes every session of a user: on deactivation, or when an
// administrator resets a password.
func (m *JWTManager) RevokeUser(ctx context.Context, userID string) error {
	return m.RevokeOtherSessions(ctx, userID, "")
}

// RevokeOtherSessions revokes every session of a user except keepSessionID
// — what a password change by the user does, keeping the session that made
// the change.
func (m *JWTManager) RevokeOtherSessions(ctx context.Context, userID, keepSessionID string) error {
	if userID == "" {
		return errors.New("auth: empty user id")
	}
	if err := m.store.RevokeUser(ctx, userID, keepSessionID, m.now()); err != nil {
		return fmt.Errorf("auth: revoke user sessions: %w", err)
	}
	return nil
}

package auth

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType distinguishes access tokens from refresh tokens. The two are
// mutually exclusive: each verification path accepts exactly one type, as
// written both in the "typ" claim and in the JOSE "typ" header.
type TokenType string

// The token types.
const (
	TokenAccess  TokenType = "access"
	TokenRefresh TokenType = "refresh"
)

// JOSE header "typ" values (explicit typing, RFC 8725 §3.11). "at+jwt" is
// the registered media type of RFC 9068 access tokens; refresh tokens use a
// distinct private value so no verifier can confuse the two.
const (
	HeaderTypeAccess  = "at+jwt"
	HeaderTypeRefresh = "rt+jwt"
)

// Subject is whom a token pair is issued to: a user acting in one tenant.
type Subject struct {
	UserID     string // required
	TenantID   string // required unless Superadmin
	Role       Role   // the user's role in TenantID; RoleNone only for a superadmin
	Superadmin bool   // platform operator flag
}

// Claims are the verified contents of a token.
type Claims struct {
	Subject
	SessionID string    // "sid": the login session
	TokenID   string    // "jti": unique per token
	Type      TokenType // "typ"
	KeyID     string    // the "kid" that verified the signature
	IssuedAt  time.Time // "iat"
	ExpiresAt time.Time // "exp"
}

// Principal returns the request identity these access-token claims carry.
func (c Claims) Principal() Principal {
	return Principal{
		UserID:     c.UserID,
		TenantID:   c.TenantID,
		Role:       c.Role,
		Superadmin: c.Superadmin,
		SessionID:  c.SessionID,
		TokenID:    c.TokenID,
		Method:     MethodAccessToken,
	}
}

// wireClaims is the JSON form of a token's claims.
type wireClaims struct {
	jwt.RegisteredClaims
	Tenant     string `json:"tid,omitempty"`
	Role       string `json:"role,omitempty"`
	Superadmin bool   `json:"sa,omitempty"`
	SessionID  string `json:"sid"`
	Type       string `json:"typ"`
}

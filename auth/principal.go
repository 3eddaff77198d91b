package auth

import (
	"context"
	"fmt"
	"strings"
)

// Role is a user's role within one tenant. Roles are ordered: a higher role
// may do everything a lower one may. The zero value, RoleNone, grants
// nothing.
type Role int

// The roles, in increasing order of privilege.
const (
	RoleNone   Role = iota // no access; the zero value
	RoleViewer             // read the tenant's resources
	RoleMember             // read and write the tenant's resources
	RoleAdmin              // manage members, API keys and settings
)

// String returns the role's name as used in tokens and over HTTP.
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	default:
		return "none"
	}
}

// AtLeast reports whether r grants at least the privileges of min.
func (r Role) AtLeast(min Role) bool { return r >= min && min > RoleNone }

// Valid reports whether r is one of the defined, non-zero roles.
func (r Role) Valid() bool { return r >= RoleViewer && r <= RoleAdmin }

// ParseRole parses a role name ("viewer", "member", "admin").
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "viewer":
		return RoleViewer, nil
	case "member":
		return RoleMember, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleNone, fmt.Errorf("auth: unknown role %q (want viewer, member or admin)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("auth: cannot marshal invalid role %d", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Method says how a principal was authenticated.
type Method string

// Authentication methods.
const (
	MethodAccessToken Method = "access_token"
	MethodAPIKey      Method = "api_key"
)

// Principal is the verified identity behind a request: who, in which
// tenant, with which role. It only ever comes from a verified credential
// (an access token or an API key); nothing else can put one in a context.
type Principal struct {
	UserID     string // the user's id
	TenantID   string // the tenant the credential is bound to
	Role       Role   // the user's role in TenantID
	Superadmin bool   // platform operator flag
	SessionID  string // login session (access tokens only)
	TokenID    string // the access token's jti (access tokens only)
	APIKeyID   string // the API key's id (API keys only)
	Method     Method // how the principal was authenticated
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p. Only code that has
// verified a credential (the Middleware, or a host's own verified path)
// should call it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

// A JWTManager issues a token pair per login, verifies access tokens,
// rotates refresh tokens and detects their reuse.
func ExampleJWTManager() {
	ctx := context.Background()
	// In production the secret comes from a secrets.Provider: 32 random bytes.
	key, err := auth.NewHS256Key("2026-11", []byte("an example secret of 32+ bytes!!"))
	if err != nil {
		panic(err)
	}
	m, err := auth.NewJWTManager(auth.NewMemoryTokenStore(), auth.WithKeys(key), auth.WithIssuer("https://ml.example.com"))
	if err != nil {
		panic(err)
	}

	pair, _ := m.IssuePair(ctx, auth.Subject{UserID: "u-42", TenantID: "t-acme", Role: auth.RoleMember})
	claims, err := m.VerifyAccess(ctx, pair.AccessToken)
	fmt.Println(claims.UserID, claims.TenantID, claims.Role, pair.ExpiresIn, err)

	// Refreshing spends the refresh token and returns a new pair.
	next, err := m.Refresh(ctx, pair.RefreshToken)
	fmt.Println(next.SessionID == pair.SessionID, err)

	// Presenting the spent token again revokes the whole session.
	_, err = m.Refresh(ctx, pair.RefreshToken)
	fmt.Println(errors.Is(err, auth.ErrRefreshReuse))
	_, err = m.VerifyAccess(ctx, next.AccessToken)
	fmt.Println(errors.Is(err, auth.ErrRevoked))
	// Output:
	// u-42 t-acme member 900 <nil>
	// true <nil>
	// true
	// true
}

// A PasswordHasher stores argon2id PHC strings, verifies them (and legacy
// bcrypt hashes), and evens out the cost of logins for unknown users.
func ExamplePasswordHasher() {
	ctx := context.Background()
	h, err := auth.NewPasswordHasher()
	if err != nil {
		panic(err)
	}
	if err := auth.CheckPasswordPolicy("correct horse battery staple", "alice"); err != nil {
		panic(err)
	}
	stored, _ := h.Hash(ctx, "correct horse battery staple")
	fmt.Println(strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$"))

	ok, _ := h.Verify(ctx, "correct horse battery staple", stored)
	fmt.Println(ok, h.NeedsRehash(stored))
	ok, _ = h.Verify(ctx, "wrong guess", stored)
	fmt.Println(ok)

	// No such user: spend the same time, then answer exactly as for a
	// wrong password.
	_ = h.VerifyDummy(ctx, "whatever was typed")
	// Output:
	// true
	// true false
	// false
}

// Middleware admits only bearer credentials and puts the principal in the
// request context; RequireRole guards routes by role.
func ExampleMiddleware() {
	ctx := context.Background()
	key, _ := auth.NewHS256Key("k1", []byte("an example secret of 32+ bytes!!"))
	m, _ := auth.NewJWTManager(auth.NewMemoryTokenStore(), auth.WithKeys(key))

	projects := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "projects of %s for %s", p.TenantID, p.UserID)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /projects", projects)
	mux.Handle("POST /projects", auth.RequireRole(auth.RoleMember)(projects))
	srv := httptest.NewServer(auth.Middleware(m)(mux))
	defer srv.Close()

	call := func(method, token string) {
		req, _ := http.NewRequest(method, srv.URL+"/projects", nil)
		req.Header.Set("X-User-ID", "admin") // ignored, always
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", resp.StatusCode, " ", resp.Header.Get("WWW-Authenticate"))))
	}
	viewer, _ := m.IssuePair(ctx, auth.Subject{UserID: "u-1", TenantID: "t-1", Role: auth.RoleViewer})
	call("GET", "")
	call("GET", "not-a-token")
	call("GET", viewer.AccessToken)
	call("POST", viewer.AccessToken)
	// Output:
	// GET 401 Bearer realm="maestro"
	// GET 401 Bearer realm="maestro", error="invalid_token"
	// GET 200
	// POST 403
}

// API keys are created with a role capped at the creator's, shown once,
// and stored only as a hash.
func ExampleAPIKeys() {
	ctx := context.Background()
	keys, _ := auth.NewAPIKeys(auth.NewMemoryAPIKeyStore())
	admin := auth.Principal{UserID: "u-1", TenantID: "t-1", Role: auth.RoleAdmin}

	key, rec, _ := keys.Create(ctx, admin, auth.NewAPIKey{Name: "ci", Role: auth.RoleViewer, TTL: 90 * 24 * time.Hour})
	fmt.Println(len(key), key[:4], rec.Prefix == key[:12], rec.Role)

	p, err := keys.VerifyAPIKey(ctx, key)
	fmt.Println(p.Method, p.Role, err)

	_, err = auth.ParseAPIKey(key[:20] + "X" + key[21:]) // a typo, caught offline
	fmt.Println(errors.Is(err, auth.ErrInvalidAPIKey))

	_ = keys.Revoke(ctx, "t-1", rec.ID)
	_, err = keys.VerifyAPIKey(ctx, key)
	fmt.Println(errors.Is(err, auth.ErrRevoked))
	// Output:
	// 53 mst_ true viewer
	// api_key viewer <nil>
	// true
	// true
}

// A LoginThrottler locks an account after repeated failures, whether or not
// it exists, and says when to retry.
func ExampleLoginThrottler() {
	ctx := context.Background()
	var t auth.LoginThrottler
	t, _ = auth.NewMemoryThrottler(auth.ThrottlePolicy{FreeFailures: 2, BaseLockout: time.Minute})
	for range 3 {
		if err := t.Fail(ctx, "nobody-by-this-name", "192.0.2.1"); err != nil {
			var te *auth.ThrottledError
			errors.As(err, &te)
			fmt.Println("locked; Retry-After:", te.RetryAfterSeconds())
		}
	}
	fmt.Println(errors.Is(t.Check(ctx, "nobody-by-this-name", "192.0.2.1"), auth.ErrThrottled))
	// Output:
	// locked; Retry-After: 60
	// true
}

// CheckPasswordPolicy explains why a new password is refused.
func ExampleCheckPasswordPolicy() {
	for _, pw := range []string{"hunter2", "Password2024!", "tangerine orbit velvet"} {
		fmt.Println(auth.CheckPasswordPolicy(pw))
	}
	// Output:
	// auth: weak password: password must have at least 12 characters
	// auth: weak password: password is too common
	// <nil>
}

// Command quickstart-auth shows the common paths of package auth in one
// short program: check and hash a password, issue a token pair at login,
// verify the access token, rotate the refresh token (and see a replayed
// one revoke the session), and protect an HTTP handler with the bearer
// middleware and a role gate. Everything runs in memory:
//
//	go run ./examples/quickstart-auth
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/secrets"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart-auth:", err)
		os.Exit(1)
	}
}

// run walks through the package and writes what happens to w.
func run(ctx context.Context, w io.Writer) error {
	// 1. Passwords. The policy refuses short and common passwords; the
	// hasher stores argon2id PHC strings and verifies in constant time.
	if err := auth.CheckPasswordPolicy("password123", "alice"); err != nil {
		fmt.Fprintln(w, "policy refuses a weak password:", err)
	}
	const password = "correct horse battery staple"
	if err := auth.CheckPasswordPolicy(password, "alice"); err != nil {
		return err
	}
	hasher, err := auth.NewPasswordHasher()
	if err != nil {
		return err
	}
	stored, err := hasher.Hash(ctx, password) // keep this in the users table
	if err != nil {
		return err
	}
	ok, err := hasher.Verify(ctx, password, stored)
	if err != nil {
		return err
	}
	wrong, _ := hasher.Verify(ctx, "not the password", stored)
	fmt.Fprintf(w, "password verifies: %v, a wrong one: %v\n", ok, wrong)

	// 2. Tokens. The signing key would come from a secrets.Provider; here
	// it is generated. The memory token store keeps sessions and refresh
	// records for one process (use auth/gormstore or auth/redisstore to
	// share them between processes).
	secret, err := secrets.Generate(secrets.KeyBytes)
	if err != nil {
		return err
	}
	key, err := auth.NewHS256Key("2026-11", []byte(secret))
	if err != nil {
		return err
	}
	tokens, err := auth.NewJWTManager(auth.NewMemoryTokenStore(), auth.WithKeys(key), auth.WithIssuer("https://ml.example.com"))
	if err != nil {
		return err
	}
	// After a successful login: a pair for this user acting in one tenant.
	alice := auth.Subject{UserID: "u-alice", TenantID: "t-acme", Role: auth.RoleMember}
	pair, err := tokens.IssuePair(ctx, alice)
	if err != nil {
		return err
	}
	claims, err := tokens.VerifyAccess(ctx, pair.AccessToken)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "access token for %s in %s as %s, valid %d s\n", claims.UserID, claims.TenantID, claims.Role, pair.ExpiresIn)

	// 3. Refresh rotation: each refresh token works once. Presenting a
	// spent one means it leaked, so the whole session is revoked.
	next, err := tokens.Refresh(ctx, pair.RefreshToken)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "refreshed, same session:", next.SessionID == pair.SessionID)
	_, err = tokens.Refresh(ctx, pair.RefreshToken)
	fmt.Fprintln(w, "replayed refresh token detected:", errors.Is(err, auth.ErrRefreshReuse))
	_, err = tokens.VerifyAccess(ctx, next.AccessToken)
	fmt.Fprintln(w, "session revoked, newest access token refused:", errors.Is(err, auth.ErrRevoked))

	// 4. HTTP. The middleware accepts only "Authorization: Bearer ..." and
	// puts the verified Principal in the request context; RequireRole
	// answers 403 below the role. Headers such as X-User-ID mean nothing.
	handler := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p, _ := auth.PrincipalFrom(r.Context())
		fmt.Fprintf(rw, "hello %s of %s", p.UserID, p.TenantID)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /projects", handler)
	mux.Handle("POST /projects", auth.RequireRole(auth.RoleMember)(handler))
	srv := httptest.NewServer(auth.Middleware(tokens)(mux))
	defer srv.Close()

	viewer, err := tokens.IssuePair(ctx, auth.Subject{UserID: "u-bob", TenantID: "t-acme", Role: auth.RoleViewer})
	if err != nil {
		return err
	}
	for _, c := range []struct{ method, token string }{
		{http.MethodGet, ""}, {http.MethodGet, viewer.AccessToken}, {http.MethodPost, viewer.AccessToken},
	} {
		status, err := call(ctx, srv.URL+"/projects", c.method, c.token)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s /projects as %s: %d\n", c.method, describe(c.token), status)
	}
	return nil
}

// call sends one request with an optional bearer token and returns the
// status.
func call(ctx context.Context, url, method, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-User-ID", "admin") // ignored: only the token names the caller
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func describe(token string) string {
	if token == "" {
		return "anonymous"
	}
	return "viewer"
}

package client

import (
	"context"
	"iter"
	"net/http"
)

// The routes of sign-in, the caller and API keys.

// Login signs in with a username and password (tenant is the tenant's
// slug; "" for a superadmin without one) and returns the token pair. A
// client made WithLogin keeps the pair it returns and uses it from then
// on; any other client only returns it.
func (c *Client) Login(ctx context.Context, username, password, tenant string) (*TokenPair, error) {
	var pair TokenPair
	if err := c.postPublic(ctx, "/api/v1/auth/login", loginRequest{Username: username, Password: password, Tenant: tenant}, &pair); err != nil {
		return nil, err
	}
	if c.sess != nil {
		c.sess.mu.Lock()
		c.sess.creds = loginRequest{Username: username, Password: password, Tenant: tenant}
		c.sess.set(pair)
		c.sess.mu.Unlock()
	}
	return &pair, nil
}

// Refresh spends a refresh token for a new pair. The server rotates
// refresh tokens: the one spent stops working, and presenting it again
// ends the session. A client made WithLogin refreshes by itself and
// needs no call to Refresh.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*TokenPair, error) {
	var pair TokenPair
	if err := c.postPublic(ctx, "/api/v1/auth/refresh", refreshRequest{RefreshToken: refreshToken}, &pair); err != nil {
		return nil, err
	}
	return &pair, nil
}

// Tokens returns the token pair of a client made WithLogin (zero before
// its first call, or after Logout).
func (c *Client) Tokens() TokenPair {
	if c.sess == nil {
		return TokenPair{}
	}
	return c.sess.tokens()
}

// Logout ends the caller's session; its refresh token stops working. A
// client made WithLogin forgets its pair, and would log in again on its
// next call.
func (c *Client) Logout(ctx context.Context) error {
	if err := exec(ctx, c, http.MethodPost, "/api/v1/auth/logout", nil); err != nil {
		return err
	}
	if c.sess != nil {
		c.sess.clear()
	}
	return nil
}

// Me returns the caller: user, tenant and role.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	return get[Me](ctx, c, "/api/v1/auth/me", nil)
}

// ChangePassword changes the caller's password; the caller's other
// sessions end. It needs a login session, not an API key. A client made
// WithLogin uses the new password when it next logs in.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	if err := exec(ctx, c, http.MethodPost, "/api/v1/auth/password", passwordRequest{CurrentPassword: current, NewPassword: next}); err != nil {
		return err
	}
	if c.sess != nil {
		c.sess.mu.Lock()
		c.sess.creds.Password = next
		c.sess.mu.Unlock()
	}
	return nil
}

// CreateAPIKey creates an API key for the caller; the answer's Key is the
// secret, shown this once. It needs a login session bound to a tenant.
func (c *Client) CreateAPIKey(ctx context.Context, in APIKeyInput) (*APIKey, error) {
	return send[APIKey](ctx, c, http.MethodPost, "/api/v1/auth/api-keys", in)
}

// ListAPIKeys lists a page of the caller's API keys (without secrets).
func (c *Client) ListAPIKeys(ctx context.Context, p PageRequest) (*Page[APIKey], error) {
	return list[APIKey](ctx, c, "/api/v1/auth/api-keys", p.values())
}

// ListAPIKeysAll iterates over all the caller's API keys.
func (c *Client) ListAPIKeysAll(ctx context.Context) iter.Seq2[APIKey, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[APIKey], error) {
		return c.ListAPIKeys(ctx, PageRequest{Cursor: cur})
	})
}

// DeleteAPIKey revokes one of the caller's API keys.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/auth/api-keys/"+seg(id), nil)
}

// Live reports that the server's process is up.
func (c *Client) Live(ctx context.Context) (*Liveness, error) {
	var v Liveness
	err := c.call(ctx, &request{method: http.MethodGet, path: "/health/live", public: true, out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Ready reports whether the server's dependencies answer; when one does
// not, the error is an *Error with status 503 (ErrUnavailable).
func (c *Client) Ready(ctx context.Context) (*Readiness, error) {
	var v Readiness
	err := c.call(ctx, &request{method: http.MethodGet, path: "/health/ready", public: true, out: &v})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// OpenAPI returns the API's OpenAPI 3.1 document, as JSON.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var b []byte
	err := c.call(ctx, &request{method: http.MethodGet, path: "/api/v1/openapi.json", public: true, out: &b})
	if err != nil {
		return nil, err
	}
	return b, nil
}

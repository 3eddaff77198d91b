package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/maestro-ml/maestro/auth"
)

// errBadCredentials is the one answer to every failed login, whatever
// failed: unknown user, wrong password, unknown tenant, no membership.
var errBadCredentials = errors.New("bad credentials")

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Tenant   string `json:"tenant,omitempty"` // slug; optional when the user has one tenant
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

func tokenBody(p auth.Pair) tokenResponse {
	return tokenResponse{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken, TokenType: p.TokenType, ExpiresIn: p.ExpiresIn}
}

// login verifies a username and password — throttled per account and per
// client address by the library — and issues a token pair for one of the
// user's tenants.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	v := &validator{}
	v.check(in.Username != "" && len(in.Username) <= 256, "username", "required, at most 256 bytes")
	v.check(in.Password != "", "password", "required")
	if err := v.err(); err != nil {
		return err
	}
	pair, err := s.signIn(r.Context(), clientIP(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenBody(pair))
	return nil
}

// signIn verifies a login — throttled per account and per client address
// ip by the library, audited — and issues a token pair for one of the
// user's tenants. The API's login and the dashboard's sign-in share it.
func (s *Server) signIn(ctx context.Context, ip string, in loginRequest) (auth.Pair, error) {
	account := slog.String("account", auth.AccountKey(in.Username))
	if err := s.identity.throttle.Check(ctx, in.Username, ip); err != nil {
		s.audit(ctx, auditLoginThrottled, account)
		return auth.Pair{}, err
	}
	sub, err := s.verifyLogin(ctx, in)
	if errors.Is(err, errBadCredentials) {
		s.audit(ctx, auditLoginFailure, account)
		if err := s.identity.throttle.Fail(ctx, in.Username, ip); err != nil {
			var te *auth.ThrottledError
			if !errors.As(err, &te) {
				return auth.Pair{}, err
			}
			s.audit(ctx, auditLoginLockout, account, slog.Duration("retry_after", te.RetryAfter))
		}
		return auth.Pair{}, unauthorized()
	}
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.code == "tenant_required" {
		// The password was right; only the tenant is missing. Settle the
		// attempt that Check reserved, as a success.
		if err := s.identity.throttle.Succeed(ctx, in.Username, ip); err != nil {
			s.logger(ctx).Warn("resetting login throttle failed", slog.String("error", err.Error()))
		}
		return auth.Pair{}, err
	}
	if err != nil {
		return auth.Pair{}, err
	}
	if err := s.identity.throttle.Succeed(ctx, in.Username, ip); err != nil {
		s.logger(ctx).Warn("resetting login throttle failed", slog.String("error", err.Error()))
	}
	pair, err := s.identity.tokens.IssuePair(ctx, sub)
	if err != nil {
		return auth.Pair{}, err
	}
	s.audit(ctx, auditLoginSuccess, slog.String("user_id", sub.UserID),
		slog.String("tenant_id", sub.TenantID), slog.String("session_id", pair.SessionID))
	return pair, nil
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh spends a refresh token for a new pair. A spent token presented
// again revokes its whole session (the library detects it); that is
// audited.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	pair, err := s.identity.tokens.Refresh(r.Context(), in.RefreshToken)
	switch {
	case errors.Is(err, auth.ErrRefreshReuse):
		s.audit(r.Context(), auditRefreshReuse)
		return unauthorized()
	case errors.Is(err, errBadCredentials):
		return unauthorized()
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, tokenBody(pair))
	return nil
}

// logout ends the caller's session: its refresh token and this access
// token stop working.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if p.Method != auth.MethodAccessToken {
		return badRequest("not_a_session", "logout ends a login session; revoke API keys with DELETE /api/v1/auth/api-keys/{id}")
	}
	claims := auth.Claims{Subject: auth.Subject{UserID: p.UserID}, SessionID: p.SessionID, TokenID: p.TokenID}
	if err := s.identity.tokens.Logout(r.Context(), claims); err != nil {
		return err
	}
	s.audit(r.Context(), auditLogout, slog.String("session_id", p.SessionID))
	noContent(w)
	return nil
}

type userBody struct {
	ID           string `json:"id"`
	Username     string `json:"username"`
	Email        string `json:"email"`
	IsSuperadmin bool   `json:"is_superadmin"`
}

type tenantRef struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type meResponse struct {
	User   userBody   `json:"user"`
	Tenant *tenantRef `json:"tenant"`
	Role   *string    `json:"role"`
}

// me describes the caller: user, tenant and role in it.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	u, err := s.user(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	out := meResponse{User: u}
	if p.TenantID != "" {
		t, err := s.tenant(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		out.Tenant = &tenantRef{ID: t.ID, Slug: t.Slug, Name: t.Name}
		role := p.Role.String()
		out.Role = &role
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword replaces the caller's password after checking the
// current one (throttled like a login) and the policy, then revokes every
// other session of the user. Only a login session may do it: an API key is
// for automation, and a leaked one must not become a password-guessing
// oracle or end its user's sessions (SECURITY.md, F-10).
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var in passwordRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.reauthenticate(r, in.CurrentPassword, auditPasswordFailure); err != nil {
		return err
	}
	v := &validator{}
	v.checkPassword("new_password", in.NewPassword, u.Username, u.Email)
	if err := v.err(); err != nil {
		return err
	}
	// The old credentials end first: should the change fail after this,
	// the user has lost keys and other sessions, never kept them.
	if err := s.revokeKeys(ctx, p.UserID, ""); err != nil {
		return err
	}
	if err := s.identity.tokens.RevokeOtherSessions(ctx, p.UserID, p.SessionID); err != nil {
		return err
	}
	if err := s.setPassword(ctx, p.UserID, in.NewPassword); err != nil {
		return err
	}
	s.audit(ctx, auditPasswordChanged, slog.String("user_id", p.UserID))
	noContent(w)
	return nil
}

package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

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
//
// The throttle's Check reserves the attempt until it is settled, and the
// reservation counts against the account's and the address's caps while
// the password is hashed, so every admitted attempt is settled exactly
// once, whatever happens: Fail for bad credentials, Succeed for a right
// password, Release when it ended without a verdict (the hasher's queue
// was full: 503 with Retry-After; a dependency failed; the client went
// away). Settling does not depend on the client staying connected.
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

// signIn verifies a login — the API's and the dashboard's — under the
// login throttle, and issues a token pair. Every admitted attempt is
// settled exactly once (see login).
func (s *Server) signIn(ctx context.Context, ip string, in loginRequest) (auth.Pair, error) {
	account := slog.String("account", auth.AccountKey(in.Username))
	if err := s.identity.throttle.Check(ctx, in.Username, ip); err != nil {
		s.audit(ctx, auditLoginThrottled, account)
		return auth.Pair{}, err
	}
	attempt := &loginAttempt{s: s, ctx: ctx, username: in.Username, ip: ip}
	defer attempt.release()
	sub, err := s.verifyLogin(ctx, in)
	if errors.Is(err, errBadCredentials) {
		s.audit(ctx, auditLoginFailure, account)
		if err := attempt.fail(); err != nil {
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
		attempt.succeed()
		return auth.Pair{}, err
	}
	if err != nil {
		return auth.Pair{}, err // released by the deferred call: no verdict
	}
	attempt.succeed()
	pair, err := s.identity.tokens.IssuePair(ctx, sub)
	if err != nil {
		return auth.Pair{}, err
	}
	s.audit(ctx, auditLoginSuccess, slog.String("user_id", sub.UserID),
		slog.String("tenant_id", sub.TenantID), slog.String("session_id", pair.SessionID))
	return pair, nil
}

// loginSettleTimeout bounds one settlement of a login's throttle
// reservation (a Redis round trip at most).
const loginSettleTimeout = 5 * time.Second

// loginAttempt settles the throttle reservation of one admitted login
// exactly once. Its calls run detached from the request's cancellation
// (a client that hangs up must not leave its reservation held, nor skip
// counting its failure), bounded by loginSettleTimeout.
type loginAttempt struct {
	s            *Server
	ctx          context.Context // the request's, for values and logging
	username, ip string
	settled      bool
}

// detached returns a context for one settlement.
func (a *loginAttempt) detached() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(a.ctx), loginSettleTimeout)
}

// fail counts a failed attempt; its error is the throttler's (a
// *auth.ThrottledError when this failure locked the account or address).
func (a *loginAttempt) fail() error {
	if a.settled {
		return nil
	}
	a.settled = true
	ctx, cancel := a.detached()
	defer cancel()
	return a.s.identity.throttle.Fail(ctx, a.username, a.ip)
}

// succeed settles the attempt as a success; a throttler error is logged
// (the login itself succeeded).
func (a *loginAttempt) succeed() {
	if a.settled {
		return
	}
	a.settled = true
	ctx, cancel := a.detached()
	defer cancel()
	if err := a.s.identity.throttle.Succeed(ctx, a.username, a.ip); err != nil {
		a.s.logger(a.ctx).Warn("resetting login throttle failed", slog.String("error", err.Error()))
	}
}

// release gives the reservation back without a verdict, unless the
// attempt was settled already; a throttler error is logged (the
// reservation then lapses after the policy's ReservationTTL).
func (a *loginAttempt) release() {
	if a.settled {
		return
	}
	a.settled = true
	ctx, cancel := a.detached()
	defer cancel()
	if err := a.s.identity.throttle.Release(ctx, a.username, a.ip); err != nil {
		a.s.logger(a.ctx).Warn("releasing a login throttle reservation failed", slog.String("error", err.Error()))
	}
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

package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/maestro-ml/maestro/auth"
)

// routesIdentity registers login, token refresh, logout, the caller's
// profile, password change and API keys (API.md, "Identity").
func (s *server) routesIdentity(rt *router) {
	rt.handle("POST /api/v1/auth/login", public, s.login)
	rt.handle("POST /api/v1/auth/refresh", public, s.refresh)
	rt.handle("POST /api/v1/auth/logout", viewer, s.logout)
	rt.handle("GET /api/v1/auth/me", viewer, s.me)
	rt.handle("POST /api/v1/auth/password", viewer, s.changePassword)
	rt.handle("POST /api/v1/auth/api-keys", viewer, s.createAPIKey)
	rt.handle("GET /api/v1/auth/api-keys", viewer, s.listAPIKeys)
	rt.handle("DELETE /api/v1/auth/api-keys/{id}", viewer, s.deleteAPIKey)

	for _, err := range []error{auth.ErrInvalidToken, auth.ErrExpired, auth.ErrRevoked, auth.ErrInvalidAPIKey} {
		s.mapError(err, http.StatusUnauthorized, "unauthorized", "missing or invalid credentials")
	}
	s.mapError(auth.ErrRoleTooHigh, http.StatusForbidden, "role_too_high", "the role exceeds your own")
	s.mapError(auth.ErrNotFound, http.StatusNotFound, "not_found", "not found")
}

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
func (s *server) login(w http.ResponseWriter, r *http.Request) error {
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
	ctx, ip := r.Context(), clientIP(r)
	account := slog.String("account", auth.AccountKey(in.Username))
	if err := s.identity.throttle.Check(ctx, in.Username, ip); err != nil {
		s.audit(ctx, auditLoginThrottled, account)
		return throttled(err)
	}
	sub, err := s.verifyLogin(ctx, in)
	if errors.Is(err, errBadCredentials) {
		s.audit(ctx, auditLoginFailure, account)
		if err := s.identity.throttle.Fail(ctx, in.Username, ip); err != nil {
			var te *auth.ThrottledError
			if !errors.As(err, &te) {
				return unavailable(err)
			}
			s.audit(ctx, auditLoginLockout, account, slog.Duration("retry_after", te.RetryAfter))
		}
		return unauthorized()
	}
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.code == "tenant_required" {
		// The password was right; only the tenant is missing. Settle the
		// attempt that Check reserved, as a success.
		if err := s.identity.throttle.Succeed(ctx, in.Username, ip); err != nil {
			s.logger(ctx).Warn("resetting login throttle failed", slog.String("error", err.Error()))
		}
		return err
	}
	if err != nil {
		return err
	}
	if err := s.identity.throttle.Succeed(ctx, in.Username, ip); err != nil {
		s.logger(ctx).Warn("resetting login throttle failed", slog.String("error", err.Error()))
	}
	pair, err := s.identity.tokens.IssuePair(ctx, sub)
	if err != nil {
		return err
	}
	s.audit(ctx, auditLoginSuccess, slog.String("user_id", sub.UserID),
		slog.String("tenant_id", sub.TenantID), slog.String("session_id", pair.SessionID))
	writeJSON(w, http.StatusOK, tokenBody(pair))
	return nil
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh spends a refresh token for a new pair. A spent token presented
// again revokes its whole session (the library detects it); that is
// audited.
func (s *server) refresh(w http.ResponseWriter, r *http.Request) error {
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
func (s *server) logout(w http.ResponseWriter, r *http.Request) error {
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
func (s *server) me(w http.ResponseWriter, r *http.Request) error {
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
func (s *server) changePassword(w http.ResponseWriter, r *http.Request) error {
	ctx, p, ip := r.Context(), principal(r), clientIP(r)
	if p.Method != auth.MethodAccessToken {
		return forbidden("the password is changed from a login session")
	}
	var in passwordRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := s.identity.throttle.Check(ctx, u.Username, ip); err != nil {
		return throttled(err)
	}
	if err := s.checkPassword(ctx, p.UserID, in.CurrentPassword); err != nil {
		if !errors.Is(err, errBadCredentials) {
			return err
		}
		s.audit(ctx, auditPasswordFailure)
		if err := s.identity.throttle.Fail(ctx, u.Username, ip); err != nil {
			return throttled(err)
		}
		return invalid(fieldError{Field: "current_password", Message: "does not match"})
	}
	// The current password was right: settle the attempt Check reserved.
	if err := s.identity.throttle.Succeed(ctx, u.Username, ip); err != nil {
		s.logger(ctx).Warn("resetting login throttle failed", slog.String("error", err.Error()))
	}
	if err := auth.CheckPasswordPolicy(in.NewPassword, u.Username, u.Email); err != nil {
		return passwordPolicyProblem("new_password", err)
	}
	if err := s.setPassword(ctx, p.UserID, in.NewPassword); err != nil {
		return err
	}
	if err := s.identity.tokens.RevokeOtherSessions(ctx, p.UserID, p.SessionID); err != nil {
		return err
	}
	s.audit(ctx, auditPasswordChanged, slog.String("user_id", p.UserID))
	noContent(w)
	return nil
}

type apiKeyRequest struct {
	Name          string `json:"name"`
	Role          string `json:"role,omitempty"` // default: the caller's role
	ExpiresInDays int    `json:"expires_in_days,omitempty"`
}

type apiKeyBody struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Key        string     `json:"key,omitempty"` // only in the answer to create
	Prefix     string     `json:"prefix"`
	Role       auth.Role  `json:"role"`
	UserID     string     `json:"user_id"`
	ExpiresAt  *time.Time `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func apiKeyJSON(k auth.APIKey) apiKeyBody {
	return apiKeyBody{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Role: k.Role, UserID: k.UserID,
		ExpiresAt: timePtr(k.ExpiresAt), CreatedAt: k.CreatedAt.UTC(),
		LastUsedAt: timePtr(k.LastUsedAt), RevokedAt: timePtr(k.RevokedAt)}
}

// timePtr is nil for the zero time, else t in UTC.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// maxAPIKeyDays bounds expires_in_days.
const maxAPIKeyDays = 3650

// createAPIKey makes a key acting as the caller in the caller's tenant
// with at most the caller's role. Only a login session may create keys, so
// a leaked key cannot mint more. The key is in this answer only.
func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in apiKeyRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p := principal(r)
	if p.Method != auth.MethodAccessToken {
		return forbidden("API keys are created from a login session")
	}
	if p.TenantID == "" {
		return forbidden("API keys belong to a tenant; log in to one")
	}
	req := auth.NewAPIKey{Name: in.Name, TTL: time.Duration(in.ExpiresInDays) * 24 * time.Hour}
	v := &validator{}
	v.check(in.Name != "" && len(in.Name) <= 100, "name", "required, at most 100 characters")
	v.check(in.ExpiresInDays >= 0 && in.ExpiresInDays <= maxAPIKeyDays, "expires_in_days", "must be between 1 and 3650, or omitted")
	if in.Role != "" {
		role, err := auth.ParseRole(in.Role)
		v.check(err == nil, "role", "must be viewer, member or admin")
		req.Role = role
	}
	if err := v.err(); err != nil {
		return err
	}
	key, rec, err := s.identity.apiKeys.Create(r.Context(), p, req)
	if err != nil {
		return err
	}
	s.audit(r.Context(), auditKeyCreated, slog.String("api_key_id", rec.ID), slog.String("prefix", rec.Prefix),
		slog.String("role", rec.Role.String()))
	body := apiKeyJSON(rec)
	body.Key = key
	writeJSON(w, http.StatusCreated, body)
	return nil
}

// listAPIKeys lists the caller's keys in its tenant — every key of the
// tenant for its admins — in pages ordered by id; the cursor is the last
// id of the previous page.
func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	if pg.Cursor != "" {
		if u, err := uuid.Parse(pg.Cursor); err != nil || u.String() != pg.Cursor {
			return badRequest("invalid_cursor", "the cursor is not one this server issued")
		}
	}
	p := principal(r)
	if p.TenantID == "" {
		writePage[apiKeyBody](w, nil, "")
		return nil
	}
	owner := p.UserID
	if p.Role.AtLeast(auth.RoleAdmin) {
		owner = ""
	}
	keys, err := s.identity.apiKeys.List(r.Context(), p.TenantID, owner)
	if err != nil {
		return err
	}
	items, next := pageByID(keys, pg, func(k auth.APIKey) string { return k.ID })
	out := make([]apiKeyBody, len(items))
	for i, k := range items {
		out[i] = apiKeyJSON(k)
	}
	writePage(w, out, next)
	return nil
}

// pageByID returns the page pg of items ordered by id (the items after
// the cursor id, at most pg.Limit of them) and the cursor of the next
// page, empty when this page is the last. items is not modified.
func pageByID[T any](items []T, pg pageRequest, id func(T) string) ([]T, string) {
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	start := 0
	if pg.Cursor != "" {
		start, _ = slices.BinarySearchFunc(sorted, pg.Cursor, func(x T, c string) int { return strings.Compare(id(x), c) })
		for start < len(sorted) && id(sorted[start]) <= pg.Cursor {
			start++
		}
	}
	end := min(start+pg.Limit, len(sorted))
	next := ""
	if end < len(sorted) {
		next = id(sorted[end-1])
	}
	return sorted[start:end], next
}

// deleteAPIKey revokes one of the caller's keys (any of the tenant's for
// its admins). Another tenant's key, or another user's for a non-admin, is
// 404 like an unknown id.
func (s *server) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	if p.TenantID == "" {
		return notFound("API key")
	}
	if !p.Role.AtLeast(auth.RoleAdmin) {
		ok, err := s.ownsAPIKey(r.Context(), p, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("API key")
		}
	}
	if err := s.identity.apiKeys.Revoke(r.Context(), p.TenantID, id); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return notFound("API key")
		}
		return err
	}
	s.audit(r.Context(), auditKeyRevoked, slog.String("api_key_id", id))
	noContent(w)
	return nil
}

// ownsAPIKey reports whether key id of p's tenant was created by p's user.
func (s *server) ownsAPIKey(ctx context.Context, p auth.Principal, id string) (bool, error) {
	keys, err := s.identity.apiKeys.List(ctx, p.TenantID, p.UserID)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.ID == id {
			return true, nil
		}
	}
	return false, nil
}

// throttled turns a login throttler's answer into a 429 with Retry-After,
// or a 503 when the throttler itself failed (fail closed).
func throttled(err error) error {
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		return tooManyRequests(te.RetryAfter)
	}
	return unavailable(err)
}

// passwordPolicyProblem is the 422 for a password the policy refuses; the
// policy's reason never repeats the password.
func passwordPolicyProblem(field string, err error) error {
	var pe *auth.PolicyError
	if errors.As(err, &pe) {
		return invalid(fieldError{Field: field, Message: pe.Reason})
	}
	return err
}

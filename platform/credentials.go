package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// reauthenticate checks password, the caller's current password, before a
// change that outlives the session (a new password, a new API key). It is
// throttled like a login, per account and client address, so a stolen
// session cannot become a password-guessing oracle. A wrong password is a
// 422 naming current_password, audited as failure.
func (s *Server) reauthenticate(r *http.Request, password, failure string) error {
	ctx, p, ip := r.Context(), principal(r), clientIP(r)
	u, err := s.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if password == "" {
		return invalid(fieldError{Field: "current_password", Message: "required"})
	}
	if err := s.identity.throttle.Check(ctx, u.Username, ip); err != nil {
		return err
	}
	// Settled exactly once, detached from the request: a failure counts,
	// a success resets, anything else (a busy hasher, a store error)
	// gives the reservation back.
	attempt := &loginAttempt{s: s, ctx: ctx, username: u.Username, ip: ip}
	defer attempt.release()
	if err := s.checkPassword(ctx, p.UserID, password); err != nil {
		if !errors.Is(err, errBadCredentials) {
			return err
		}
		s.audit(ctx, failure)
		if err := attempt.fail(); err != nil {
			return err
		}
		return invalid(fieldError{Field: "current_password", Message: "does not match"})
	}
	attempt.succeed()
	return nil
}

// revokeKeys revokes every API key of userID in tenantID, or in every
// tenant the user belongs to when tenantID is empty.
func (s *Server) revokeKeys(ctx context.Context, userID, tenantID string) error {
	tenants := []string{tenantID}
	if tenantID == "" {
		trs, err := s.tenants.UserTenants(ctx, userID)
		if err != nil {
			return err
		}
		tenants = tenants[:0]
		for _, tr := range trs {
			tenants = append(tenants, tr.Tenant.ID)
		}
	}
	for _, tid := range tenants {
		keys, err := s.identity.apiKeys.List(ctx, tid, userID)
		if err != nil {
			return fmt.Errorf("list API keys: %w", err)
		}
		for _, k := range keys {
			if !k.RevokedAt.IsZero() {
				continue
			}
			if err := s.identity.apiKeys.Revoke(ctx, tid, k.ID); err != nil {
				return fmt.Errorf("revoke API key: %w", err)
			}
			s.audit(ctx, auditKeyRevoked, slog.String("api_key_id", k.ID), slog.String("tenant_id", tid),
				slog.String("user_id", userID))
		}
	}
	return nil
}

// endAccess ends a member's credentials when their access to tenantID ends
// or shrinks (removal or demotion): their API keys in the tenant are
// revoked, and their sessions end — in every tenant, since a session is
// not bound to one in the token store; the user signs in again. Revoked
// credentials stay revoked, so adding the user back revives none of them.
// It runs before the membership changes: should it fail, the change is
// not made, and what was revoked stays revoked (the safe direction).
func (s *Server) endAccess(ctx context.Context, tenantID, userID string) error {
	if err := s.revokeKeys(ctx, userID, tenantID); err != nil {
		return err
	}
	return s.identity.tokens.RevokeUser(ctx, userID)
}

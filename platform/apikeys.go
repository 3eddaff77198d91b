package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

type apiKeyRequest struct {
	CurrentPassword string `json:"current_password"`
	Name            string `json:"name"`
	Role            string `json:"role,omitempty"` // default: the caller's role
	ExpiresInDays   int    `json:"expires_in_days,omitempty"`
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

// Lifetimes of API keys: every key expires, by default after
// defaultAPIKeyDays, at most after maxAPIKeyDays.
const (
	defaultAPIKeyDays = 90
	maxAPIKeyDays     = 365
)

// createAPIKey makes a key acting as the caller in the caller's tenant
// with at most the caller's role. Only a login session may create keys, so
// a leaked key cannot mint more. The key is in this answer only.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in apiKeyRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p := principal(r)
	days := in.ExpiresInDays
	if days == 0 {
		days = defaultAPIKeyDays
	}
	req := auth.NewAPIKey{Name: in.Name, TTL: time.Duration(days) * 24 * time.Hour}
	v := &validator{}
	v.check(in.CurrentPassword != "", "current_password", "required: creating a key needs the current password")
	v.check(in.Name != "" && len(in.Name) <= 100, "name", "required, at most 100 characters")
	v.check(in.ExpiresInDays >= 0 && in.ExpiresInDays <= maxAPIKeyDays, "expires_in_days",
		fmt.Sprintf("must be between 1 and %d, or omitted for %d", maxAPIKeyDays, defaultAPIKeyDays))
	if in.Role != "" {
		role, err := auth.ParseRole(in.Role)
		v.check(err == nil, "role", "must be viewer, member or admin")
		req.Role = role
	}
	if err := v.err(); err != nil {
		return err
	}
	if err := s.reauthenticate(r, in.CurrentPassword, auditKeyReauthFailure); err != nil {
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
func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	pg, err := idPageParams(r)
	if err != nil {
		return err
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
func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
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
		return err
	}
	s.audit(r.Context(), auditKeyRevoked, slog.String("api_key_id", id))
	noContent(w)
	return nil
}

// ownsAPIKey reports whether key id of p's tenant was created by p's user.
func (s *Server) ownsAPIKey(ctx context.Context, p auth.Principal, id string) (bool, error) {
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

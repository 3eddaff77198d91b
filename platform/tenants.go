package platform

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/maestro-ml/maestro/tenancy"
)

// tenantBody is a tenant as the API shows it.
type tenantBody struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func tenantJSON(t tenancy.Tenant) tenantBody {
	return tenantBody{ID: t.ID, Name: t.Name, Slug: t.Slug, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

type tenantRequest struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// createTenant creates a tenant (superadmin).
func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in tenantRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.tenants.CreateTenant(r.Context(), in.Name, in.Slug)
	if err != nil {
		return err
	}
	s.audit(r.Context(), auditTenantCreated, slog.String("tenant_id", t.ID), slog.String("slug", t.Slug))
	writeJSON(w, http.StatusCreated, tenantJSON(t))
	return nil
}

// listTenants lists every tenant for a superadmin, the caller's own
// otherwise.
func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) error {
	pg, err := idPageParams(r)
	if err != nil {
		return err
	}
	p := principal(r)
	if !p.Superadmin {
		t, err := s.tenants.Tenant(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		writePage(w, []tenantBody{tenantJSON(t)}, "")
		return nil
	}
	ts, err := s.tenants.ListTenants(r.Context(), tenancy.ListOptions{Limit: pg.Limit, After: pg.Cursor})
	if err != nil {
		return err
	}
	out := make([]tenantBody, len(ts))
	for i, t := range ts {
		out[i] = tenantJSON(t)
	}
	writePage(w, out, nextAfter(len(ts), pg, func() string { return ts[len(ts)-1].ID }))
	return nil
}

// pathTenant returns the {id} tenant. The route's access rule (OwnTenant,
// TenantAdmin or Superadmin) has admitted the caller for it.
func (s *Server) pathTenant(r *http.Request) (tenancy.Tenant, error) {
	id, err := pathID(r, "id", "tenant")
	if err != nil {
		return tenancy.Tenant{}, err
	}
	return s.tenants.Tenant(r.Context(), id)
}

// getTenant shows one tenant.
func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenantJSON(t))
	return nil
}

type tenantPatch struct {
	Name *string `json:"name,omitempty"`
	Slug *string `json:"slug,omitempty"`
}

// updateTenant renames a tenant or changes its slug (superadmin).
func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.pathTenant(r); err != nil {
		return err
	}
	var in tenantPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.tenants.UpdateTenant(r.Context(), r.PathValue("id"), tenancy.TenantUpdate{Name: in.Name, Slug: in.Slug})
	if err != nil {
		return err
	}
	s.audit(r.Context(), auditTenantUpdated, slog.String("tenant_id", t.ID))
	writeJSON(w, http.StatusOK, tenantJSON(t))
	return nil
}

// deleteTenant removes a tenant with all its data and blobs (superadmin).
// Its API keys are revoked first (the safe direction should the deletion
// fail); then the Manager deletes every row of the tenant in one
// transaction and calls the deletion hooks (the blob store). Members'
// tokens stop working with their memberships (see checkPrincipal).
func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	keys, err := s.identity.apiKeys.List(ctx, t.ID, "")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.identity.apiKeys.Revoke(ctx, t.ID, k.ID); err != nil {
			return err
		}
	}
	if err := s.tenants.DeleteTenant(ctx, t.ID); err != nil {
		return err
	}
	s.principals.invalidate()
	s.audit(ctx, auditTenantDeleted, slog.String("tenant_id", t.ID), slog.String("slug", t.Slug))
	noContent(w)
	return nil
}

// nextAfter is the cursor of the page after one of n items of a list the
// Manager pages by id ("after this id"): the last id when the page is
// full, else none.
func nextAfter(n int, pg pageRequest, last func() string) string {
	if n == 0 || n < pg.Limit {
		return ""
	}
	return last()
}

package platform

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/tenancy"
)

// routesTenants registers tenant administration (superadmin) and tenant
// membership administration (the tenant's admins, or a superadmin), API.md
// "Tenants".
func (s *server) routesTenants(rt *router) {
	rt.handle("POST /api/v1/tenants", superadmin, s.createTenant)
	rt.handle("GET /api/v1/tenants", viewer, s.listTenants)
	rt.handle("GET /api/v1/tenants/{id}", viewer, s.getTenant)
	rt.handle("PATCH /api/v1/tenants/{id}", viewer, s.updateTenant)  // superadmin, see operableTenant
	rt.handle("DELETE /api/v1/tenants/{id}", viewer, s.deleteTenant) // superadmin, see operableTenant
	rt.handle("POST /api/v1/tenants/{id}/members", viewer, s.addMember)
	rt.handle("GET /api/v1/tenants/{id}/members", viewer, s.listMembers)
	rt.handle("PATCH /api/v1/tenants/{id}/members/{user_id}", viewer, s.updateMember)
	rt.handle("DELETE /api/v1/tenants/{id}/members/{user_id}", viewer, s.removeMember)

	s.mapError(tenancy.ErrNotFound, http.StatusNotFound, "not_found", "not found")
	s.mapError(tenancy.ErrConflict, http.StatusConflict, "conflict", "already exists")
	s.mapError(tenancy.ErrQuotaExceeded, http.StatusConflict, "quota_exceeded", "the tenant's quota does not allow this")
	s.mapError(tenancy.ErrNoTenant, http.StatusForbidden, "tenant_required", "this needs a credential bound to a tenant")
}

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
func (s *server) createTenant(w http.ResponseWriter, r *http.Request) error {
	var in tenantRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.tenants.CreateTenant(r.Context(), in.Name, in.Slug)
	if err != nil {
		return tenancyError(err)
	}
	s.audit(r.Context(), auditTenantCreated, slog.String("tenant_id", t.ID), slog.String("slug", t.Slug))
	writeJSON(w, http.StatusCreated, tenantJSON(t))
	return nil
}

// listTenants lists every tenant for a superadmin, the caller's own
// otherwise.
func (s *server) listTenants(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	p := principal(r)
	if !p.Superadmin {
		t, err := s.tenants.Tenant(r.Context(), p.TenantID)
		if err != nil {
			return tenancyError(err)
		}
		writePage(w, []tenantBody{tenantJSON(t)}, "")
		return nil
	}
	ts, err := s.tenants.ListTenants(r.Context(), tenancy.ListOptions{Limit: pg.Limit, After: pg.Cursor})
	if err != nil {
		return tenancyError(err)
	}
	out := make([]tenantBody, len(ts))
	for i, t := range ts {
		out[i] = tenantJSON(t)
	}
	writePage(w, out, nextAfter(len(ts), pg, func() string { return ts[len(ts)-1].ID }))
	return nil
}

// visibleTenant returns the {id} tenant when the caller may see it: any
// for a superadmin, its own for everyone else. Another tenant is 404.
func (s *server) visibleTenant(r *http.Request) (tenancy.Tenant, error) {
	p := principal(r)
	id, err := pathID(r, "id", "tenant")
	if err != nil {
		return tenancy.Tenant{}, err
	}
	if !p.Superadmin && id != p.TenantID {
		return tenancy.Tenant{}, notFound("tenant")
	}
	t, err := s.tenants.Tenant(r.Context(), id)
	if err != nil {
		return tenancy.Tenant{}, tenancyError(err)
	}
	return t, nil
}

// getTenant shows one tenant.
func (s *server) getTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.visibleTenant(r)
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

// operableTenant authorises platform operations on the {id} tenant: only a
// superadmin passes. Everyone else gets 404 for another tenant, as for an
// unknown id, and 403 for their own.
func (s *server) operableTenant(r *http.Request) (tenancy.Tenant, error) {
	t, err := s.visibleTenant(r)
	if err != nil {
		return t, err
	}
	if !principal(r).Superadmin {
		return t, forbidden("this needs a superadmin")
	}
	return t, nil
}

// updateTenant renames a tenant or changes its slug (superadmin).
func (s *server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.operableTenant(r); err != nil {
		return err
	}
	var in tenantPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	t, err := s.tenants.UpdateTenant(r.Context(), r.PathValue("id"), tenancy.TenantUpdate{Name: in.Name, Slug: in.Slug})
	if err != nil {
		return tenancyError(err)
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
func (s *server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	t, err := s.operableTenant(r)
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
		return tenancyError(err)
	}
	s.audit(ctx, auditTenantDeleted, slog.String("tenant_id", t.ID), slog.String("slug", t.Slug))
	noContent(w)
	return nil
}

// memberBody is a membership as the API shows it. It carries no e-mail
// address: a member may also belong to other tenants (attached by a
// superadmin), whose admins must not learn its address this way.
type memberBody struct {
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	Role     auth.Role `json:"role"`
}

// adminOfTenant authorises membership administration of the {id} tenant:
// a superadmin, or an admin of that very tenant. A user of another tenant
// gets 404, as for an unknown tenant; a non-admin of the tenant 403.
func (s *server) adminOfTenant(r *http.Request) (tenancy.Tenant, error) {
	t, err := s.visibleTenant(r)
	if err != nil {
		return t, err
	}
	if p := principal(r); !p.Superadmin && !p.Role.AtLeast(auth.RoleAdmin) {
		return t, forbidden("managing members needs the admin role")
	}
	return t, nil
}

type memberRequest struct {
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role"`
}

// addMember adds a user to the tenant, creating the user when the name is
// new (a password that passes the policy is then required). Only a
// superadmin attaches a user who already exists; see findOrCreateUser.
func (s *server) addMember(w http.ResponseWriter, r *http.Request) error {
	t, err := s.adminOfTenant(r)
	if err != nil {
		return err
	}
	var in memberRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	role, err := parseRoleField(in.Role)
	if err != nil {
		return err
	}
	u, err := s.findOrCreateUser(r.Context(), t.ID, principal(r).Superadmin, in)
	if err != nil {
		return err
	}
	if _, err := s.tenants.AddMember(r.Context(), t.ID, u.ID, role); err != nil {
		return tenancyError(err)
	}
	s.audit(r.Context(), auditMemberAdded, slog.String("tenant_id", t.ID), slog.String("user_id", u.ID),
		slog.String("role", role.String()))
	writeJSON(w, http.StatusCreated, memberBody{UserID: u.ID, Username: u.Username, Role: role})
	return nil
}

// listMembers lists the tenant's members.
func (s *server) listMembers(w http.ResponseWriter, r *http.Request) error {
	t, err := s.adminOfTenant(r)
	if err != nil {
		return err
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ms, err := s.tenants.Members(r.Context(), t.ID, tenancy.ListOptions{Limit: pg.Limit, After: pg.Cursor})
	if err != nil {
		return tenancyError(err)
	}
	out := make([]memberBody, len(ms))
	for i, m := range ms {
		out[i] = memberBody{UserID: m.UserID, Username: m.Username, Role: m.Role}
	}
	writePage(w, out, nextAfter(len(ms), pg, func() string { return ms[len(ms)-1].UserID }))
	return nil
}

type memberPatch struct {
	Role string `json:"role"`
}

// updateMember changes a member's role. Existing tokens of the member with
// a higher role stop working at once (see checkPrincipal).
func (s *server) updateMember(w http.ResponseWriter, r *http.Request) error {
	t, err := s.adminOfTenant(r)
	if err != nil {
		return err
	}
	var in memberPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	role, err := parseRoleField(in.Role)
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id", "member")
	if err != nil {
		return err
	}
	m, err := s.tenants.SetMemberRole(r.Context(), t.ID, uid, role)
	if err != nil {
		return tenancyError(err)
	}
	u, err := s.tenants.User(r.Context(), uid)
	if err != nil {
		return err
	}
	s.audit(r.Context(), auditMemberUpdated, slog.String("tenant_id", t.ID), slog.String("user_id", uid),
		slog.String("role", role.String()))
	writeJSON(w, http.StatusOK, memberBody{UserID: m.UserID, Username: u.Username, Role: m.Role})
	return nil
}

// removeMember removes a user from the tenant; the user's credentials for
// the tenant stop working at once.
func (s *server) removeMember(w http.ResponseWriter, r *http.Request) error {
	t, err := s.adminOfTenant(r)
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id", "member")
	if err != nil {
		return err
	}
	if err := s.tenants.RemoveMember(r.Context(), t.ID, uid); err != nil {
		return tenancyError(err)
	}
	s.audit(r.Context(), auditMemberRemoved, slog.String("tenant_id", t.ID), slog.String("user_id", uid))
	noContent(w)
	return nil
}

// parseRoleField parses the "role" field of a request (422 when invalid).
func parseRoleField(s string) (auth.Role, error) {
	role, err := auth.ParseRole(s)
	if err != nil {
		return auth.RoleNone, invalid(fieldError{Field: "role", Message: "must be viewer, member or admin"})
	}
	return role, nil
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

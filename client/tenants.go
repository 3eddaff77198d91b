package client

import (
	"context"
	"iter"
	"net/http"
)

// The routes of tenants, their quota and their members.

// CreateTenant creates a tenant (superadmin).
func (c *Client) CreateTenant(ctx context.Context, in TenantInput) (*Tenant, error) {
	return send[Tenant](ctx, c, http.MethodPost, "/api/v1/tenants", in)
}

// ListTenants lists a page of tenants: all for a superadmin, the caller's
// own otherwise.
func (c *Client) ListTenants(ctx context.Context, p PageRequest) (*Page[Tenant], error) {
	return list[Tenant](ctx, c, "/api/v1/tenants", p.values())
}

// ListTenantsAll iterates over all the tenants ListTenants shows.
func (c *Client) ListTenantsAll(ctx context.Context) iter.Seq2[Tenant, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[Tenant], error) {
		return c.ListTenants(ctx, PageRequest{Cursor: cur})
	})
}

// GetTenant returns a tenant: the caller's own, or any for a superadmin.
func (c *Client) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	return get[Tenant](ctx, c, "/api/v1/tenants/"+seg(id), nil)
}

// UpdateTenant renames a tenant or changes its slug (superadmin).
func (c *Client) UpdateTenant(ctx context.Context, id string, in TenantPatch) (*Tenant, error) {
	return send[Tenant](ctx, c, http.MethodPatch, "/api/v1/tenants/"+seg(id), in)
}

// DeleteTenant deletes a tenant with all its data and blobs (superadmin).
func (c *Client) DeleteTenant(ctx context.Context, id string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/tenants/"+seg(id), nil)
}

// GetQuota returns the tenant's limits and its use of each (its admin, or
// a superadmin).
func (c *Client) GetQuota(ctx context.Context, tenantID string) (*Quota, error) {
	return get[Quota](ctx, c, "/api/v1/tenants/"+seg(tenantID)+"/quota", nil)
}

// SetQuota sets every limit of the tenant, 0 meaning unlimited
// (superadmin).
func (c *Client) SetQuota(ctx context.Context, tenantID string, limits QuotaLimits) (*Quota, error) {
	return send[Quota](ctx, c, http.MethodPut, "/api/v1/tenants/"+seg(tenantID)+"/quota", quotaRequest{Limits: &limits})
}

// AddMember adds a member to the tenant, creating the user when new (its
// admin, or a superadmin).
func (c *Client) AddMember(ctx context.Context, tenantID string, in MemberInput) (*Member, error) {
	return send[Member](ctx, c, http.MethodPost, "/api/v1/tenants/"+seg(tenantID)+"/members", in)
}

// ListMembers lists a page of the tenant's members.
func (c *Client) ListMembers(ctx context.Context, tenantID string, p PageRequest) (*Page[Member], error) {
	return list[Member](ctx, c, "/api/v1/tenants/"+seg(tenantID)+"/members", p.values())
}

// ListMembersAll iterates over all the tenant's members.
func (c *Client) ListMembersAll(ctx context.Context, tenantID string) iter.Seq2[Member, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[Member], error) {
		return c.ListMembers(ctx, tenantID, PageRequest{Cursor: cur})
	})
}

// UpdateMember changes a member's role ("viewer", "member" or "admin").
func (c *Client) UpdateMember(ctx context.Context, tenantID, userID, role string) (*Member, error) {
	return send[Member](ctx, c, http.MethodPatch, "/api/v1/tenants/"+seg(tenantID)+"/members/"+seg(userID), MemberPatch{Role: role})
}

// RemoveMember removes a member from the tenant.
func (c *Client) RemoveMember(ctx context.Context, tenantID, userID string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/tenants/"+seg(tenantID)+"/members/"+seg(userID), nil)
}

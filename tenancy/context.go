package tenancy

import (
	"context"
	"errors"
)

// ErrNoTenant is returned (wrapped) for work on a tenant-owned model when
// the context carries no tenant.
var ErrNoTenant = errors.New("tenancy: no tenant in context")

type tenantKey struct{}

// WithTenant returns a context whose database work is scoped to tenantID.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, tenantKey{}, tenantID)
}

// TenantFrom reports the tenant carried by ctx. An empty tenant id is
// reported as absent.
func TenantFrom(ctx context.Context) (tenantID string, ok bool) {
	if ctx == nil {
		return "", false
	}
	id, _ := ctx.Value(tenantKey{}).(string)
	return id, id != ""
}

// Model marks a GORM model as tenant-owned when embedded. Its column is
// tenant_id; the plugin sets and filters it from the context.
type Model struct {
	TenantID string `gorm:"column:tenant_id;type:varchar(64);not null;index" json:"-"`
}

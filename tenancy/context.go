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

type crossTenantKey struct{}

// crossTenant is the value stored under crossTenantKey. It is a pointer so
// that only this package can create one: a host cannot forge the marker
// with its own context value.
type crossTenant struct{ reason string }

// CrossTenant returns a context for platform work that spans tenants:
// listing tenants, deleting one, resolving a login before a tenant is
// known, maintenance jobs. On such a context the plugin lets statements on
// tenant-owned models through unscoped and reports each of them to the
// plugin's audit function (see WithAudit), together with reason.
//
// reason must say why the work crosses tenants ("delete tenant 42",
// "nightly usage report"); an empty reason yields a context that is not
// cross-tenant, so the work fails with ErrNoTenant as before.
//
// A tenant carried by ctx (WithTenant) always wins: CrossTenant never
// widens a context that is already scoped to a tenant, so request handlers
// running under Middleware cannot escape their tenant through it.
// Raw SQL on a cross-tenant context is allowed, as on any context without a
// tenant.
func CrossTenant(ctx context.Context, reason string) context.Context {
	if reason == "" {
		return ctx
	}
	return context.WithValue(ctx, crossTenantKey{}, &crossTenant{reason: reason})
}

// CrossTenantReason reports whether ctx was made by CrossTenant and, if so,
// the reason given. It reports false when ctx also carries a tenant, since
// the tenant then takes precedence.
func CrossTenantReason(ctx context.Context) (reason string, ok bool) {
	if ctx == nil {
		return "", false
	}
	if _, scoped := TenantFrom(ctx); scoped {
		return "", false
	}
	ct, _ := ctx.Value(crossTenantKey{}).(*crossTenant)
	if ct == nil {
		return "", false
	}
	return ct.reason, true
}

type rawSQLKey struct{}

// AllowRawSQL returns a context on which the plugin lets raw SQL through
// even though the context carries a tenant: db.Raw, db.Exec, Row and Rows
// on a raw statement, raw join strings (Joins("JOIN ...")) and raw table
// expressions. The plugin cannot see into raw SQL, so the caller takes on
// the duty of filtering by tenant_id itself. With row-level security
// enabled (WithRowLevelSecurity), the statement still runs with the tenant
// set, so PostgreSQL keeps enforcing isolation.
//
// Scope the returned context to the single statement that needs it.
func AllowRawSQL(ctx context.Context) context.Context {
	return context.WithValue(ctx, rawSQLKey{}, true)
}

// rawSQLAllowed reports whether ctx was made by AllowRawSQL.
func rawSQLAllowed(ctx context.Context) bool {
	if ctx == nil {
		return false
	}
	v, _ := ctx.Value(rawSQLKey{}).(bool)
	return v
}

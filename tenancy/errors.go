package tenancy

import (
	"errors"
	"fmt"
)

// Errors reported by the plugin, the row-level security helpers and the
// Manager. They are returned wrapped; test them with errors.Is.
var (
	// ErrForeignTenant is returned when a write names a tenant other than
	// the context's: a tenant_id set by the caller on a created value, or
	// assigned by an update. Nothing is written.
	ErrForeignTenant = errors.New("tenancy: tenant_id names another tenant")

	// ErrRawSQL is returned for raw SQL (Raw, Exec, raw joins and table
	// expressions) on a context that carries a tenant, unless the context
	// was made by AllowRawSQL.
	ErrRawSQL = errors.New("tenancy: raw SQL on a tenant context needs tenancy.AllowRawSQL")

	// ErrTransactionRequired is returned, with row-level security enabled,
	// for Row, Rows and Scan outside a transaction: their rows outlive the
	// statement, so the plugin cannot wrap them in a transaction of its own.
	ErrTransactionRequired = errors.New("tenancy: Row, Rows and Scan under row-level security must run inside a transaction")

	// ErrNoTenantColumn is returned when a statement on a tenant-owned
	// table uses a model that has no tenant_id column, so the plugin cannot
	// set or check the tenant.
	ErrNoTenantColumn = errors.New("tenancy: model for a tenant-owned table has no tenant_id column")

	// ErrUnknownTable is returned when a statement on a context that
	// carries a tenant names a table (through db.Table, a FROM, JOIN,
	// INSERT or UPDATE clause) that the database does not know, so the
	// plugin cannot tell whether it is tenant-owned.
	ErrUnknownTable = errors.New("tenancy: table not found; cannot tell whether it is tenant-owned")

	// ErrUnsupportedDialect is returned by PostgreSQL-only features (row
	// level security, role checks) on another database.
	ErrUnsupportedDialect = errors.New("tenancy: feature needs PostgreSQL")

	// ErrUnsafeRole is returned (wrapped in a *RoleError) by CheckRole when
	// the connected role would bypass row-level security.
	ErrUnsafeRole = errors.New("tenancy: database role bypasses row-level security")

	// ErrNotFound is returned by the Manager for an unknown tenant, user or
	// membership.
	ErrNotFound = errors.New("tenancy: not found")

	// ErrConflict is returned by the Manager when a unique value (tenant
	// slug, username, membership) is already taken.
	ErrConflict = errors.New("tenancy: already exists")

	// ErrInvalid is returned (wrapped in a *ValidationError) for malformed
	// input such as a bad slug, username or role.
	ErrInvalid = errors.New("tenancy: invalid input")

	// ErrQuotaExceeded is returned (wrapped in a *QuotaError) when a
	// tenant's quota does not allow the requested amount.
	ErrQuotaExceeded = errors.New("tenancy: quota exceeded")
)

// ScopeError describes a statement the plugin refused. It wraps one of
// ErrNoTenant, ErrForeignTenant, ErrRawSQL, ErrTransactionRequired or
// ErrNoTenantColumn.
type ScopeError struct {
	Op    string // create, query, update, delete, row or raw
	Table string // the table concerned, when known
	Err   error  // the sentinel
}

// Error implements error.
func (e *ScopeError) Error() string {
	if e.Table == "" {
		return fmt.Sprintf("%v (%s)", e.Err, e.Op)
	}
	return fmt.Sprintf("%v (%s on %s)", e.Err, e.Op, e.Table)
}

// Unwrap returns the sentinel.
func (e *ScopeError) Unwrap() error { return e.Err }

// ValidationError reports which input field was rejected and why. It
// wraps ErrInvalid.
type ValidationError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("tenancy: invalid %s: %s", e.Field, e.Message)
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// QuotaError reports a refused quota check. It wraps ErrQuotaExceeded.
type QuotaError struct {
	TenantID  string
	Resource  Resource
	Limit     int64 // the tenant's limit
	Used      int64 // the usage counted before the request
	Requested int64 // the amount asked for
}

// Error implements error.
func (e *QuotaError) Error() string {
	return fmt.Sprintf("tenancy: quota exceeded for %s: %d used + %d requested > limit %d",
		e.Resource, e.Used, e.Requested, e.Limit)
}

// Unwrap returns ErrQuotaExceeded.
func (e *QuotaError) Unwrap() error { return ErrQuotaExceeded }

// Package tenancy confines a GORM application's data to tenants: one
// tenant can never see or touch another's rows, even when a query in the
// host forgets its filter.
//
// It has two walls. The first is a GORM plugin that scopes every statement
// on a tenant-owned model to the tenant carried by the statement's
// context. The second, on PostgreSQL, is row-level security: a policy on
// every tenant-owned table that admits only the rows of the tenant the
// plugin sets in each transaction, enforced by the database for a role
// that cannot bypass it.
//
// # Tenants travel in the context
//
// WithTenant puts a tenant id in a context.Context and TenantFrom reads it.
// Middleware does this for HTTP requests from the authenticated
// auth.Principal. The tenant is read from db.Statement.Context only —
// never from db.Set, which GORM drops on NewDB sessions, preloads and
// association saves — so pass it with db.WithContext(ctx):
//
//	db.Use(tenancy.NewPlugin())
//	ctx := tenancy.WithTenant(r.Context(), tenantID)
//	db.WithContext(ctx).Find(&projects) // ... WHERE "projects"."tenant_id" = $1
//
// # Tenant-owned models
//
// A model is tenant-owned when it embeds Model, which adds the tenant_id
// column:
//
//	type Project struct {
//		ID string `gorm:"primaryKey"`
//		tenancy.Model
//		Name string
//	}
//
// A model that does not embed Model is platform-level (users, tenants,
// memberships, an auth store's rows) and passes through untouched — unless
// it maps a table known to be tenant-owned (the table of a model that
// embeds Model, or one declared with WithTables or WithModels), as a read
// model might; then it is scoped too. A model that maps no tenant_id column
// of its own is also scoped when its table has one, even before a model
// embedding Model has been seen. A table named through db.Table is
// tenant-owned when it is known so or has a tenant_id column.
//
// # What the plugin does
//
// On a context with a tenant, for every way GORM reaches a tenant-owned
// table:
//
//   - Queries (First, Take, Last, Find, Count, Pluck, Scan, Row, Rows,
//     FindInBatches, subqueries) get "(caller's conditions) AND
//     table.tenant_id = tenant"; the caller's conditions are always
//     parenthesised, so an OR cannot escape. Unscoped does not lift it.
//   - Preloads and associations are queries of their own and are scoped
//     the same way. Joins of a tenant-owned relation (Joins("Owner"),
//     nested "Owner.Company") get the tenant in their ON clause, so a row
//     that references another tenant's row joins nothing.
//   - Creates (one value, a slice, a map or a slice of maps, and
//     associations saved with them) get tenant_id set; a value that
//     already names another tenant is refused with ErrForeignTenant and
//     nothing is written. An upsert (Save of a value whose id exists,
//     OnConflict with DoUpdates or UpdateAll) only updates a conflicting
//     row of the same tenant; a conflict with another tenant's row fails
//     with ErrForeignTenant, and so does a DO UPDATE that assigns tenant_id.
//   - Updates and deletes are filtered like queries, so they never reach
//     another tenant's rows; tenant_id is never part of an update's SET
//     (assigning another tenant fails with ErrForeignTenant, under any
//     spelling the database resolves to the column, such as TENANT_ID or
//     "tenant_id"); and GORM's
//     refusal of updates and deletes without conditions
//     (gorm.ErrMissingWhereClause) is kept.
//   - Raw SQL (Raw, Exec, Row and Rows on Raw, raw join strings and table
//     expressions, raw FROM tables, nested Raw statements, INSERT and
//     UPDATE modifiers such as OR REPLACE) fails with ErrRawSQL: the
//     plugin cannot see into it. AllowRawSQL(ctx) opts a statement in; the
//     caller then filters by tenant itself (and PostgreSQL's policy still
//     applies).
//   - Join tables of many-to-many relations of tenant-owned models (which
//     have no tenant_id) are confined to join rows of the tenant's rows,
//     and join rows are only written between the tenant's rows.
//   - Every table a statement names (model, db.Table, FROM, joins, INSERT
//     and UPDATE targets) is resolved as the database resolves it (case,
//     quotes, schema, alias); an unknown one is ErrUnknownTable.
//   - A nested statement (a *gorm.DB used as a value) whose error is set,
//     or that the plugin refuses, fails the statement around it.
//
// Without a tenant in the context, any statement on a tenant-owned table
// fails with ErrNoTenant (wrapped in a *ScopeError naming the table);
// raw SQL and other tables pass.
//
// # Platform work across tenants
//
// Listing tenants, deleting one, resolving a login before a tenant is
// known, usage reports: CrossTenant(ctx, reason) returns a context on
// which the plugin lets statements on tenant-owned tables through
// unscoped and reports each to the audit function (WithAudit; by default
// logged with log/slog). It is never implied: a context with a tenant
// stays scoped even when wrapped by CrossTenant, and an empty reason
// yields no cross-tenant context. Creates on it must name their tenant.
// The Manager's operations on tenants, users and memberships need no
// cross-tenant context, since those tables are not tenant-owned.
//
// # PostgreSQL row-level security
//
// SetupRLS (or EnableRLS) enables and forces row-level security with the
// policy
//
//	tenant_id = NULLIF(current_setting('maestro.tenant_id', true), '')
//
// on every tenant-owned table, once as a permissive policy and once as a
// restrictive one, so that no other policy on the table can widen it; an
// unset or empty setting matches no row and admits no write. With WithRowLevelSecurity the plugin runs
//
//	SELECT set_config('maestro.tenant_id', $1, true), set_config('maestro.cross_tenant', $2, true)
//
// in the transaction of every statement on a tenant (or cross-tenant)
// context; the setting ends with the transaction, so pooled connections
// carry nothing over. Statements outside a transaction are wrapped in
// one the plugin begins and commits; Row, Rows and Scan, whose rows
// outlive the statement, must run inside db.Transaction and otherwise
// fail with ErrTransactionRequired. The cross-tenant flag is honoured by
// the policy only when RLSConfig.AllowCrossTenant is set; see there for
// the trade-off.
//
// The policies are only a wall for a role that is not a superuser, has no
// BYPASSRLS and owns no table: CheckRole reports a role that fails this,
// for hosts to call at start-up.
//
// # Tenants, users, memberships and quotas
//
// Manager keeps the platform-level tables — tenants, users, memberships
// with a role per tenant, and quotas — and deletes a tenant with every
// row of it in every registered tenant-owned table in one transaction,
// then calls hooks (blob stores remove their files). NewManager reports
// an option given an invalid value (a nil hook, a model that does not
// embed Model, ...) with an error wrapping ErrInvalid.
//
// A Quota limits a tenant's users, projects, artifacts, storage bytes and
// metric points (zero: unlimited). CheckQuotaTx checks one inside the
// transaction that writes, locking the tenant's quota row on PostgreSQL,
// so that concurrent writes cannot both pass a limit; the use is counted
// by Counters the owners of the resources register (the registry's are
// registry.Counters). WithDefaultQuota gives every new tenant limits, and
// tenants without a stored quota the same.
//
// # Schema
//
// Migrate creates the Manager's tables through versioned up and down steps
// recorded in schema_migrations (component "tenancy"), with explicit DDL
// that runs on SQLite and PostgreSQL; MigrateDown reverses them and
// CurrentSchemaVersion reports the applied version. A database whose
// tables an earlier release created with GORM's AutoMigrate is adopted as
// it is: the first step creates only what is missing.
//
// # Adopting tenancy on existing tables
//
// AddTenantColumn adds tenant_id to an existing table, backfills a default
// tenant, makes the column NOT NULL with a foreign key to tenants and an
// index leading with it; RemoveTenantColumn is the down step.
package tenancy

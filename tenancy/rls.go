package tenancy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// PolicyName is the name of the row-level security policy SetupRLS
// creates on every tenant-owned table.
const PolicyName = "maestro_tenant_isolation"

// GuardPolicyName is the name of the restrictive twin of PolicyName that
// SetupRLS also creates: PostgreSQL combines permissive policies with OR,
// so a permissive policy added to the table later (USING (true), say)
// would otherwise widen what every role sees; a restrictive policy is
// combined with AND and keeps the tenant condition in force.
const GuardPolicyName = "maestro_tenant_guard"

// The PostgreSQL settings the plugin sets in each transaction and the
// policies read.
const (
	SettingTenant      = "maestro.tenant_id"
	SettingCrossTenant = "maestro.cross_tenant"
)

// RLSConfig says which tables SetupRLS protects and how.
type RLSConfig struct {
	// Models are tenant-owned models (values or pointers of types that
	// embed Model); their tables are protected.
	Models []any
	// Tables are further tenant-owned tables, by name (optionally
	// schema-qualified). Each must have a tenant_id column.
	Tables []string
	// AllowCrossTenant makes the policies also admit every row when the
	// transaction's maestro.cross_tenant setting is "on", which the plugin
	// sets for contexts made by CrossTenant. Leave it false unless the host
	// must read or write tenant-owned rows across tenants through the
	// application role: any session of that role can set the flag itself
	// with set_config, so with it the policies still stop a query that
	// forgets its tenant, but no longer stop SQL injected into a session.
	// Platform work that only needs one tenant at a time (deleting a
	// tenant, counting its usage) runs with that tenant set and needs no
	// flag; wider maintenance is better run by a separate role with
	// BYPASSRLS over a separate connection.
	AllowCrossTenant bool
}

// EnableRLS enables and forces row-level security on the tables of the
// given tenant-owned models (or table names given as strings) with the
// policy described at SetupRLS, without the cross-tenant flag.
func EnableRLS(ctx context.Context, db *gorm.DB, models ...any) error {
	var cfg RLSConfig
	for _, m := range models {
		if t, ok := m.(string); ok {
			cfg.Tables = append(cfg.Tables, t)
		} else {
			cfg.Models = append(cfg.Models, m)
		}
	}
	return SetupRLS(ctx, db, cfg)
}

// SetupRLS enables and forces row-level security on every table cfg names
// and (re)creates on each, in one transaction, the policy
//
//	CREATE POLICY maestro_tenant_isolation ON t
//	  USING      (tenant_id = NULLIF(current_setting('maestro.tenant_id', true), ''))
//	  WITH CHECK (tenant_id = NULLIF(current_setting('maestro.tenant_id', true), ''))
//
// (with OR current_setting('maestro.cross_tenant', true) = 'on' in both
// when cfg.AllowCrossTenant is set), and its restrictive twin
// GuardPolicyName (CREATE POLICY ... AS RESTRICTIVE) with the same
// expressions, so that another permissive policy on the table cannot widen
// it: any other role that must see every tenant's rows needs BYPASSRLS. A missing setting reads as NULL and
// an empty one is turned into NULL, so a transaction that set no tenant
// sees no rows and can write none. FORCE makes the policy apply to the
// table's owner too; superusers and roles with BYPASSRLS still bypass it,
// which is why the application must connect as a role CheckRole accepts.
//
// db must connect as the tables' owner. SetupRLS is idempotent, and
// PostgreSQL only: on another database it returns ErrUnsupportedDialect.
func SetupRLS(ctx context.Context, db *gorm.DB, cfg RLSConfig) error {
	if db.Dialector.Name() != "postgres" {
		return fmt.Errorf("%w: row-level security on %s", ErrUnsupportedDialect, db.Dialector.Name())
	}
	tables, err := tenantTables(db, cfg.Models, cfg.Tables)
	if err != nil {
		return err
	}
	return platformDB(ctx, db).Transaction(func(tx *gorm.DB) error {
		for _, table := range tables {
			if err := enableTable(tx, table, cfg.AllowCrossTenant); err != nil {
				return fmt.Errorf("tenancy: enable row-level security on %s: %w", table, err)
			}
		}
		return nil
	})
}

// DisableRLS drops the policy and disables row-level security on the
// tables of models (or table names given as strings): the down step of
// EnableRLS.
func DisableRLS(ctx context.Context, db *gorm.DB, models ...any) error {
	if db.Dialector.Name() != "postgres" {
		return fmt.Errorf("%w: row-level security on %s", ErrUnsupportedDialect, db.Dialector.Name())
	}
	var ms []any
	var ts []string
	for _, m := range models {
		if t, ok := m.(string); ok {
			ts = append(ts, t)
		} else {
			ms = append(ms, m)
		}
	}
	tables, err := tenantTables(db, ms, ts)
	if err != nil {
		return err
	}
	return platformDB(ctx, db).Transaction(func(tx *gorm.DB) error {
		for _, table := range tables {
			q := quoteIdent(table)
			for _, stmt := range []string{
				"DROP POLICY IF EXISTS " + PolicyName + " ON " + q,
				"DROP POLICY IF EXISTS " + GuardPolicyName + " ON " + q,
				"ALTER TABLE " + q + " NO FORCE ROW LEVEL SECURITY",
				"ALTER TABLE " + q + " DISABLE ROW LEVEL SECURITY",
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return fmt.Errorf("tenancy: disable row-level security on %s: %w", table, err)
				}
			}
		}
		return nil
	})
}

func enableTable(tx *gorm.DB, table string, cross bool) error {
	q := quoteIdent(table)
	var colType string
	err := tx.Raw(`SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		WHERE a.attrelid = to_regclass(?) AND a.attname = ? AND a.attnum > 0 AND NOT a.attisdropped`,
		q, TenantColumn).Scan(&colType).Error
	if err != nil {
		return err
	}
	if colType == "" {
		return ErrNoTenantColumn
	}
	setting := "NULLIF(current_setting('" + SettingTenant + "', true), '')"
	if colType != "text" && !strings.HasPrefix(colType, "character varying") {
		setting += "::" + colType
	}
	expr := TenantColumn + " = " + setting
	if cross {
		expr = "(" + expr + " OR current_setting('" + SettingCrossTenant + "', true) = 'on')"
	}
	for _, stmt := range []string{
		"ALTER TABLE " + q + " ENABLE ROW LEVEL SECURITY",
		"ALTER TABLE " + q + " FORCE ROW LEVEL SECURITY",
		"DROP POLICY IF EXISTS " + PolicyName + " ON " + q,
		"CREATE POLICY " + PolicyName + " ON " + q + " USING (" + expr + ") WITH CHECK (" + expr + ")",
		"DROP POLICY IF EXISTS " + GuardPolicyName + " ON " + q,
		"CREATE POLICY " + GuardPolicyName + " ON " + q + " AS RESTRICTIVE USING (" + expr + ") WITH CHECK (" + expr + ")",
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// tenantTables resolves models and table names to the distinct tables of
// tenant-owned models.
func tenantTables(db *gorm.DB, models []any, tables []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, m := range models {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(m); err != nil {
			return nil, fmt.Errorf("tenancy: parse model %T: %w", m, err)
		}
		if embeddedTenantField(stmt.Schema) == nil {
			return nil, fmt.Errorf("tenancy: model %T does not embed tenancy.Model", m)
		}
		add(stmt.Schema.Table)
	}
	for _, t := range tables {
		if t == "" {
			return nil, errors.New("tenancy: empty table name")
		}
		add(t)
	}
	return out, nil
}

// quoteIdent quotes a possibly schema-qualified PostgreSQL identifier.
func quoteIdent(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

// platformDB returns db for the package's own catalogue and DDL work: on
// ctx with any tenant, cross-tenant marker or raw-SQL permission masked,
// so the plugin neither refuses nor scopes it.
func platformDB(ctx context.Context, db *gorm.DB) *gorm.DB {
	if ctx == nil {
		ctx = context.Background()
	}
	return db.WithContext(withoutTenant(ctx))
}

// RoleError reports why the connected role would bypass row-level
// security. It wraps ErrUnsafeRole.
type RoleError struct {
	Role        string   // the connected role (current_user)
	Superuser   bool     // the role is a superuser
	BypassRLS   bool     // the role has BYPASSRLS
	MemberOf    []string // superuser, BYPASSRLS or server-access roles it belongs to
	OwnedTables []string // tables it owns (or can own through membership)
}

// Error implements error.
func (e *RoleError) Error() string {
	var why []string
	if e.Superuser {
		why = append(why, "is a superuser")
	}
	if e.BypassRLS {
		why = append(why, "has BYPASSRLS")
	}
	if len(e.MemberOf) > 0 {
		why = append(why, "can become "+strings.Join(e.MemberOf, ", "))
	}
	if len(e.OwnedTables) > 0 {
		why = append(why, "owns "+strings.Join(e.OwnedTables, ", "))
	}
	return fmt.Sprintf("%v: role %q %s", ErrUnsafeRole, e.Role, strings.Join(why, "; "))
}

// Unwrap returns ErrUnsafeRole.
func (e *RoleError) Unwrap() error { return ErrUnsafeRole }

// CheckRole reports, as a *RoleError wrapping ErrUnsafeRole, whether the
// role db connects as could bypass row-level security: it is a superuser,
// has BYPASSRLS, can SET ROLE to a role that is or has either, is a member
// of a predefined role with access to the server's files or programs
// (pg_read_server_files, pg_write_server_files,
// pg_execute_server_program), or owns a table (an owner can switch the
// policies off). Hosts call it at start-up
// and refuse to serve, or at least warn, when it fails. It returns nil for
// a safe role, ErrUnsupportedDialect on a database other than PostgreSQL,
// and other errors when the catalogue cannot be read.
func CheckRole(ctx context.Context, db *gorm.DB) error {
	if db.Dialector.Name() != "postgres" {
		return fmt.Errorf("%w: role check on %s", ErrUnsupportedDialect, db.Dialector.Name())
	}
	pdb := platformDB(ctx, db)
	// Besides superusers and BYPASSRLS roles, membership counts in the
	// predefined roles that reach the server's files or programs as the
	// operating-system user running PostgreSQL: reading the data files
	// directly, or rewriting the configuration or running a program to
	// become a superuser, gets around every policy.
	var r struct {
		Role      string
		Superuser bool
		BypassRLS bool `gorm:"column:bypassrls"`
	}
	if err := pdb.Raw(`SELECT current_user AS role, rolsuper AS superuser, rolbypassrls AS bypassrls
		FROM pg_roles WHERE rolname = current_user`).Scan(&r).Error; err != nil {
		return fmt.Errorf("tenancy: read role: %w", err)
	}
	re := &RoleError{Role: r.Role, Superuser: r.Superuser, BypassRLS: r.BypassRLS}
	if err := pdb.Raw(`SELECT rolname FROM pg_roles
		WHERE (rolsuper OR rolbypassrls OR rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files'))
		AND rolname <> current_user AND pg_has_role(current_user, oid, 'MEMBER') ORDER BY rolname`).Scan(&re.MemberOf).Error; err != nil {
		return fmt.Errorf("tenancy: read role memberships: %w", err)
	}
	if err := pdb.Raw(`SELECT n.nspname || '.' || c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p')
		AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
		AND pg_has_role(current_user, c.relowner, 'MEMBER')
		ORDER BY 1`).Scan(&re.OwnedTables).Error; err != nil {
		return fmt.Errorf("tenancy: read table owners: %w", err)
	}
	if re.Superuser || re.BypassRLS || len(re.MemberOf) > 0 || len(re.OwnedTables) > 0 {
		return re
	}
	return nil
}

package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"gorm.io/gorm"
)

// PluginName is the name under which the plugin registers with GORM
// (db.Config.Plugins[PluginName]).
const PluginName = "maestro:tenancy"

// TenantColumn is the column that holds a row's tenant on every
// tenant-owned table.
const TenantColumn = "tenant_id"

// Statement kinds, as reported in ScopeError.Op and AuditEvent.Op.
const (
	OpCreate = "create"
	OpQuery  = "query"
	OpUpdate = "update"
	OpDelete = "delete"
	OpRow    = "row"
	OpRaw    = "raw"
)

// AuditEvent describes one statement that ran on a cross-tenant context
// (see CrossTenant) and touched a tenant-owned table without scoping.
type AuditEvent struct {
	Op     string // OpCreate, OpQuery, OpUpdate, OpDelete, OpRow or OpRaw
	Table  string // the tenant-owned table, or "" for raw SQL
	Reason string // the reason given to CrossTenant
}

// AuditFunc receives AuditEvents. It is called synchronously on the
// goroutine running the statement and must be safe for concurrent use.
type AuditFunc func(ctx context.Context, e AuditEvent)

// Option configures a Plugin. An invalid option (a nil Option, a nil
// function or logger, an empty or malformed table name, a model that does
// not embed Model) makes the plugin's installation (db.Use) fail.
type Option func(*Plugin)

// WithRowLevelSecurity makes the plugin set the context's tenant in
// PostgreSQL for every statement run on a context that carries a tenant or
// is cross-tenant, with
//
//	SELECT set_config('maestro.tenant_id', $1, true), set_config('maestro.cross_tenant', $2, true)
//
// inside the statement's transaction, so that the policies installed by
// EnableRLS see it. The setting is local to the transaction, so pooled
// connections never carry one tenant's setting into another's work. A
// statement outside a transaction is wrapped in one that the plugin begins
// and commits (GORM already does so for writes unless
// SkipDefaultTransaction is set). Row, Rows and Scan hand rows back to
// the caller after the statement, so outside a transaction they fail with
// ErrTransactionRequired; run them inside db.Transaction.
//
// Installing a plugin with this option on a database other than
// PostgreSQL fails with ErrUnsupportedDialect.
func WithRowLevelSecurity() Option { return func(p *Plugin) { p.rls = true } }

// optionError records an invalid option; Initialize reports it.
func (p *Plugin) optionError(format string, args ...any) {
	p.optErrs = append(p.optErrs, fmt.Errorf("tenancy: invalid option: "+format, args...))
}

// WithAudit sets the function told about every statement that crosses
// tenants. The default logs each one at level INFO with the plugin's
// logger.
func WithAudit(f AuditFunc) Option {
	return func(p *Plugin) {
		if f == nil {
			p.optionError("WithAudit(nil)")
			return
		}
		p.audit = f
	}
}

// WithLogger sets the logger of the default audit function. The default is
// slog.Default() at the time NewPlugin is called.
func WithLogger(l *slog.Logger) Option {
	return func(p *Plugin) {
		if l == nil {
			p.optionError("WithLogger(nil)")
			return
		}
		p.logger = l
	}
}

// WithTables declares tables as tenant-owned even before a model of them
// has been seen, so that statements naming them through db.Table are
// scoped. The plugin also learns the tables of tenant-owned models as they
// are used, and asks the database whether an unknown table named through
// db.Table has a tenant_id column.
//
// Each name is a table name as a model's TableName would give it,
// optionally schema-qualified ("projects", "app.projects"), taken exactly
// (GORM quotes it); an empty name or one that is not a plain,
// dot-separated name is an error at installation.
func WithTables(tables ...string) Option {
	return func(p *Plugin) {
		for _, t := range tables {
			if !validTableName(t) {
				p.optionError("WithTables(%q): not a table name", t)
				continue
			}
			p.declared = append(p.declared, t)
		}
	}
}

// validTableName accepts dot-separated names of at most three parts with
// no blank part, whitespace, quote or control character.
func validTableName(t string) bool {
	parts := strings.Split(t, ".")
	if len(parts) > 3 {
		return false
	}
	for _, part := range parts {
		if part == "" {
			return false
		}
		for _, r := range part {
			if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("\"`[];'()", r) {
				return false
			}
		}
	}
	return true
}

// WithModels declares the tables of models as tenant-owned when the
// plugin is installed (see WithTables). Models that do not embed Model are
// an error at installation.
func WithModels(models ...any) Option {
	return func(p *Plugin) {
		for _, m := range models {
			if m == nil {
				p.optionError("WithModels(nil)")
				continue
			}
			p.models = append(p.models, m)
		}
	}
}

// Plugin is the gorm.Plugin that confines every statement on tenant-owned
// models to the tenant carried by the statement's context. Create one with
// NewPlugin and install it with db.Use; install one Plugin per *gorm.DB.
// A Plugin is safe for concurrent use.
//
// A model is tenant-owned when it embeds Model (its tenant_id column);
// a table named through db.Table is tenant-owned when it is the table of
// such a model, was declared with WithTables or WithModels, or has a
// tenant_id column. Every other model and table passes through untouched.
// See the package documentation for what the plugin does on each path.
type Plugin struct {
	rls      bool
	audit    AuditFunc
	logger   *slog.Logger
	models   []any
	declared []string // WithTables
	optErrs  []error  // invalid options, reported by Initialize

	installed atomic.Bool
	dialect   string   // the database's dialect name, set by Initialize
	schemas   sync.Map // *schema.Schema -> *schema.Field (nil when not tenant-owned)
	tables    sync.Map // tableName.key() -> ownership
	joins     sync.Map // tableName.key() of a join table -> *joinInfo
	joinMu    sync.Mutex
}

var _ gorm.Plugin = (*Plugin)(nil)

// NewPlugin returns the gorm.Plugin that scopes every operation on
// tenant-owned models.
func NewPlugin(opts ...Option) *Plugin {
	p := &Plugin{}
	for i, o := range opts {
		if o == nil {
			p.optionError("option %d is nil", i)
			continue
		}
		o(p)
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	if p.audit == nil {
		logger := p.logger
		p.audit = func(ctx context.Context, e AuditEvent) {
			logger.LogAttrs(ctx, slog.LevelInfo, "tenancy: cross-tenant statement",
				slog.String("op", e.Op), slog.String("table", e.Table), slog.String("reason", e.Reason))
		}
	}
	return p
}

// Name implements gorm.Plugin.
func (p *Plugin) Name() string { return PluginName }

// RowLevelSecurity reports whether the plugin sets the tenant for
// PostgreSQL row-level security (WithRowLevelSecurity).
func (p *Plugin) RowLevelSecurity() bool { return p.rls }

// Initialize implements gorm.Plugin: it registers the plugin's callbacks.
func (p *Plugin) Initialize(db *gorm.DB) error {
	if len(p.optErrs) > 0 {
		return errors.Join(p.optErrs...)
	}
	if !p.installed.CompareAndSwap(false, true) {
		return errors.New("tenancy: plugin already installed; create one Plugin per *gorm.DB")
	}
	p.dialect = db.Dialector.Name()
	if p.rls && p.dialect != "postgres" {
		return fmt.Errorf("%w: row-level security on %s", ErrUnsupportedDialect, p.dialect)
	}
	for _, t := range p.declared {
		p.tables.Store(p.exactName(t).key(), declaredOwned)
	}
	for _, m := range p.models {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(m); err != nil {
			return fmt.Errorf("tenancy: parse model %T: %w", m, err)
		}
		if p.tenantField(stmt.Schema) == nil {
			return fmt.Errorf("tenancy: model %T does not embed tenancy.Model", m)
		}
	}

	// The plugin's checks run after the caller's Before hooks and before
	// GORM writes or deletes associations, so that a refused statement
	// touches no associated rows either.
	cb := db.Callback()
	steps := []struct {
		err error
	}{
		{cb.Create().After("gorm:before_create").Before("gorm:save_before_associations").Register("maestro:tenancy:create", p.before(OpCreate))},
		{cb.Create().After("gorm:create").Before("gorm:after_create").Register("maestro:tenancy:create_check", p.checkUpsert)},
		{cb.Create().After("gorm:after_create").Before("gorm:commit_or_rollback_transaction").Register("maestro:tenancy:create_end", p.end)},
		{cb.Query().Before("gorm:query").Register("maestro:tenancy:query", p.before(OpQuery))},
		{cb.Query().After("gorm:after_query").Register("maestro:tenancy:query_end", p.queryEnd)},
		{cb.Update().After("gorm:before_update").Before("gorm:save_before_associations").Register("maestro:tenancy:update", p.before(OpUpdate))},
		{cb.Update().After("gorm:after_update").Before("gorm:commit_or_rollback_transaction").Register("maestro:tenancy:update_end", p.end)},
		{cb.Delete().After("gorm:before_delete").Before("gorm:delete_before_associations").Register("maestro:tenancy:delete", p.before(OpDelete))},
		{cb.Delete().After("gorm:after_delete").Before("gorm:commit_or_rollback_transaction").Register("maestro:tenancy:delete_end", p.end)},
		{cb.Row().Before("gorm:row").Register("maestro:tenancy:row", p.before(OpRow))},
		{cb.Raw().Before("gorm:raw").Register("maestro:tenancy:raw", p.before(OpRaw))},
		{cb.Raw().After("gorm:raw").Register("maestro:tenancy:raw_end", p.end)},
	}
	for _, s := range steps {
		if s.err != nil {
			return fmt.Errorf("tenancy: register callbacks: %w", s.err)
		}
	}
	return nil
}

// forgetTable drops what the plugin knows about table, so that the next
// statement naming it through db.Table asks the database again. The
// migration helpers call it after adding or removing tenant_id.
func (p *Plugin) forgetTable(table string) {
	p.tables.Delete(p.exactName(table).key())
	p.tables.Delete(table)
}

// installedPlugin returns the Plugin installed on db, if any.
func installedPlugin(db *gorm.DB) *Plugin {
	if db == nil || db.Config == nil {
		return nil
	}
	p, _ := db.Config.Plugins[PluginName].(*Plugin)
	return p
}

package tenancy

import (
	"context"
	"fmt"
	"reflect"
	"regexp"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

var modelType = reflect.TypeOf(Model{})

// noField marks, in the schema cache, a schema that is not tenant-owned.
var noField = &schema.Field{}

// tenantField returns the tenant_id field of s when s embeds Model (at any
// depth), or nil. Results are cached per schema.
func (p *Plugin) tenantField(s *schema.Schema) *schema.Field {
	if s == nil {
		return nil
	}
	if v, ok := p.schemas.Load(s); ok {
		if f := v.(*schema.Field); f != noField {
			return f
		}
		return nil
	}
	f := embeddedTenantField(s)
	if f == nil {
		p.schemas.Store(s, noField)
		return nil
	}
	p.schemas.Store(s, f)
	p.tables.Store(s.Table, declaredOwned)
	return f
}

// embeddedTenantField finds the tenant_id field that s inherits from an
// embedded Model.
func embeddedTenantField(s *schema.Schema) *schema.Field {
	f := s.LookUpField(TenantColumn)
	if f == nil || f.DBName != TenantColumn || len(f.StructField.Index) < 2 {
		return nil
	}
	t := s.ModelType
	idx := f.StructField.Index
	for _, i := range idx[:len(idx)-1] {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		if i < 0 { // embedded through a pointer
			i = -i - 1
		}
		if i >= t.NumField() {
			return nil
		}
		t = t.Field(i).Type
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != modelType {
		return nil
	}
	return f
}

// tableExprRe matches a table expression that names one table, optionally
// schema-qualified and aliased: projects, "public"."projects" p,
// `projects` AS p.
var tableExprRe = regexp.MustCompile("^\\s*(?:[\"`]?\\w+[\"`]?\\.)?[\"`]?(\\w+)[\"`]?(?:\\s+(?i:as\\s+)?[\"`]?\\w+[\"`]?)?\\s*$")

// subqueryExprRe matches a table expression made of a subquery given as a
// *gorm.DB argument: (?) AS alias.
var subqueryExprRe = regexp.MustCompile(`^\s*\(\?\)\s*(?i:as\s+)?\w*\s*$`)

// baseTable returns the table a statement reads or writes. raw is true
// when the statement names its table through an expression the plugin
// cannot read (db.Table("projects p, users u") and the like); the
// subquery form db.Table("(?) AS t", subDB) is not raw, because the
// subquery goes through the plugin on its own.
func baseTable(st *gorm.Statement) (table string, raw bool) {
	if st.TableExpr == nil {
		return st.Table, false
	}
	sql := st.TableExpr.SQL
	if len(st.TableExpr.Vars) == 0 {
		if m := tableExprRe.FindStringSubmatch(sql); m != nil {
			return m[1], false
		}
		return "", true
	}
	if subqueryExprRe.MatchString(sql) {
		for _, v := range st.TableExpr.Vars {
			if _, ok := v.(*gorm.DB); !ok {
				return "", true
			}
		}
		return "", false
	}
	return "", true
}

// tableOwned reports whether table is tenant-owned: known from a model or
// option, or else found by asking the database whether it has a tenant_id
// column. Answers are cached until forgetTable. When the database cannot
// answer, the statement fails and the table counts as tenant-owned (fail
// closed); nothing is cached.
func (p *Plugin) tableOwned(db *gorm.DB, table string) bool {
	if table == "" {
		return false
	}
	if v, ok := p.tables.Load(table); ok {
		return v.(ownership) != notOwned
	}
	var query string
	var args []any
	switch db.Dialector.Name() {
	case "postgres":
		query = "SELECT count(*), count(*) FILTER (WHERE column_name = $2) FROM information_schema.columns WHERE table_schema = ANY (current_schemas(false)) AND table_name = $1"
		args = []any{table, TenantColumn}
	case "sqlite":
		query = "SELECT count(*), coalesce(sum(name = ?), 0) FROM pragma_table_info(?)"
		args = []any{TenantColumn, table}
	default:
		_ = db.AddError(fmt.Errorf("%w: cannot tell whether table %s is tenant-owned on %s; declare it with WithTables", ErrUnsupportedDialect, table, db.Dialector.Name()))
		return true
	}
	// Ask on the statement's own connection: it may be inside a
	// transaction (SQLite would otherwise wait on its own lock).
	var columns, n int64
	ctx := context.WithoutCancel(db.Statement.Context)
	if err := db.Statement.ConnPool.QueryRowContext(ctx, query, args...).Scan(&columns, &n); err != nil {
		_ = db.AddError(fmt.Errorf("tenancy: cannot tell whether table %s is tenant-owned: %w", table, err))
		return true
	}
	if columns == 0 {
		// No such table (yet), or none this role may see: the statement
		// fails on its own. Remember nothing, so that a table created
		// later with a tenant_id column is scoped.
		return false
	}
	if n == 0 {
		p.tables.Store(table, notOwned)
		return false
	}
	p.tables.LoadOrStore(table, probedOwned)
	return true
}

// knownOwned reports whether table is the table of a model that embeds
// Model or was declared tenant-owned (WithTables, WithModels), without
// asking the database. A model that does not embed Model but names such a
// table (a read model, a DTO with TableName) is scoped on this ground.
func (p *Plugin) knownOwned(table string) bool {
	v, ok := p.tables.Load(table)
	return ok && v.(ownership) == declaredOwned
}

// ownership is what the plugin knows about a table.
type ownership int8

const (
	notOwned      ownership = iota // no tenant_id column
	probedOwned                    // has a tenant_id column, found by asking the database
	declaredOwned                  // table of a Model-embedding model, or declared by an option
)

// withoutTenant returns a context whose tenant, cross-tenant marker and
// raw-SQL permission are masked. It is used for the plugin's own catalogue
// lookups.
func withoutTenant(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, tenantKey{}, "")
	ctx = context.WithValue(ctx, crossTenantKey{}, (*crossTenant)(nil))
	return context.WithValue(ctx, rawSQLKey{}, false)
}

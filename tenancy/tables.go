package tenancy

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// tableName is a table as the database resolves it: each part folded to
// lower case where the SQL left it unquoted (PostgreSQL folds unquoted
// identifiers; SQLite compares every identifier without regard to case),
// exact where it was quoted.
type tableName struct {
	schema string // "" when unqualified
	name   string
	sql    string // the identifier as written, for the catalogue lookup
	exact  bool   // a name GORM quotes part by part (sql is then derived)
}

// key is the name under which the plugin remembers the table.
func (t tableName) key() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
}

// bare is t without its schema.
func (t tableName) bare() tableName {
	return tableName{name: t.name, sql: t.sql, exact: t.exact}
}

// fold is the case folding of dialect's unquoted identifiers (and, on
// SQLite, of quoted ones too).
func (p *Plugin) fold(s string, quoted bool) string {
	if p.dialect == "postgres" && quoted {
		return s
	}
	return strings.ToLower(s)
}

// exactName is a table name GORM writes quoted (a model's table, a name
// given to db.Table, WithTables, clause.Table): each dot-separated part is
// taken as it is.
func (p *Plugin) exactName(s string) tableName {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return tableName{name: p.fold(s, true), exact: true}
	}
	return tableName{schema: p.fold(s[:i], true), name: p.fold(s[i+1:], true), exact: true}
}

// sqlName is the identifier to look t up by in the catalogue.
func (t tableName) sqlName(dialect string) string {
	if !t.exact || dialect != "postgres" {
		return t.sql
	}
	if t.schema == "" {
		return quoteIdent(t.name)
	}
	return quoteIdent(t.schema + "." + t.name)
}

// ident is one identifier of a table expression, as scanned.
type ident struct {
	text   string
	quoted bool
}

// scanIdent reads one identifier at the start of s: a word, or a name in
// double quotes, backquotes or brackets. It returns the rest of s.
func scanIdent(s string) (id ident, rest string, ok bool) {
	if s == "" {
		return ident{}, s, false
	}
	switch c := s[0]; c {
	case '"', '`', '[':
		end := c
		if c == '[' {
			end = ']'
		}
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == end {
				if end != ']' && i+1 < len(s) && s[i+1] == end {
					b.WriteByte(end)
					i++
					continue
				}
				if b.Len() == 0 {
					return ident{}, s, false
				}
				return ident{text: b.String(), quoted: true}, s[i+1:], true
			}
			b.WriteByte(s[i])
		}
		return ident{}, s, false
	}
	i := 0
	for i < len(s) {
		r := rune(s[i])
		if r == '_' || r == '$' || r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r >= 0x80 {
			i++
			continue
		}
		break
	}
	if i == 0 || s[0] >= '0' && s[0] <= '9' || s[0] == '$' {
		return ident{}, s, false
	}
	return ident{text: s[:i]}, s[i:], true
}

// parseTableExpr reads a table expression that names one table,
// optionally schema-qualified and aliased ("PROJECTS p", `"public"."projects"
// AS p`), as the database resolves it. ok is false for anything else.
func (p *Plugin) parseTableExpr(sql string) (t tableName, alias string, ok bool) {
	s := strings.TrimSpace(sql)
	var parts []ident
	for {
		id, rest, good := scanIdent(s)
		if !good {
			return tableName{}, "", false
		}
		parts = append(parts, id)
		s = rest
		if strings.HasPrefix(s, ".") && len(parts) < 3 {
			s = s[1:]
			continue
		}
		break
	}
	trimmed := strings.TrimSpace(sql)
	t.sql = strings.TrimSpace(trimmed[:len(trimmed)-len(s)])
	last := parts[len(parts)-1]
	t.name = p.fold(last.text, last.quoted)
	if len(parts) > 1 {
		qs := make([]string, len(parts)-1)
		for i, part := range parts[:len(parts)-1] {
			qs[i] = p.fold(part.text, part.quoted)
		}
		t.schema = strings.Join(qs, ".")
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return t, "", true
	}
	if len(s) > 3 && strings.EqualFold(s[:2], "as") && unicode.IsSpace(rune(s[2])) {
		s = strings.TrimSpace(s[2:])
	}
	id, rest, good := scanIdent(s)
	if !good || strings.TrimSpace(rest) != "" {
		return tableName{}, "", false
	}
	if !id.quoted && isReservedAfterTable(id.text) {
		return tableName{}, "", false
	}
	return t, p.fold(id.text, id.quoted), true
}

// isReservedAfterTable reports words that, after a table name, begin a
// clause rather than name an alias.
func isReservedAfterTable(w string) bool {
	switch strings.ToLower(w) {
	case "where", "join", "inner", "left", "right", "full", "cross", "natural", "on", "using",
		"group", "order", "limit", "offset", "union", "except", "intersect", "window", "having",
		"set", "values", "returning", "for", "tablesample", "only", "lateral", "select", "from":
		return true
	}
	return false
}

// kind is what a table is to the plugin.
type kind int8

const (
	kindNotOwned kind = iota // no tenant_id column, not a join table of tenant-owned models
	kindOwned                // has a tenant_id column (or is declared tenant-owned)
	kindJoin                 // join table of a many-to-many relation of a tenant-owned model
	kindUnknown              // not found in the database
)

// resolve says what table t is. Known tables are answered from the
// plugin's memory; others from the database's catalogue, which resolves t
// exactly as the statement will (search path, case folding, quoting). A
// table found in another schema than the known one of the same name
// counts as tenant-owned when that one is (fail closed). When the
// catalogue cannot be read, the statement fails and the table counts as
// tenant-owned.
func (p *Plugin) resolve(db *gorm.DB, t tableName) kind {
	if t.name == "" {
		return kindNotOwned
	}
	if k, ok := p.known(t); ok {
		return k
	}
	if t.schema != "" {
		if k, ok := p.known(t.bare()); ok && k != kindNotOwned {
			return k
		}
	}
	var query string
	var args []any
	switch p.dialect {
	case "postgres":
		query = `SELECT to_regclass($1) IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attname = $2 AND attnum > 0 AND NOT attisdropped)`
		args = []any{t.sqlName(p.dialect), TenantColumn}
	case "sqlite":
		if t.schema != "" {
			query = "SELECT count(*) > 0, coalesce(sum(name = ?), 0) > 0 FROM pragma_table_info(?, ?)"
			args = []any{TenantColumn, t.name, t.schema}
		} else {
			query = "SELECT count(*) > 0, coalesce(sum(name = ?), 0) > 0 FROM pragma_table_info(?)"
			args = []any{TenantColumn, t.name}
		}
	default:
		_ = db.AddError(fmt.Errorf("%w: cannot tell whether table %s is tenant-owned on %s; declare it with WithTables", ErrUnsupportedDialect, t.key(), p.dialect))
		return kindOwned
	}
	// Ask on the statement's own connection: it may be inside a
	// transaction (SQLite would otherwise wait on its own lock).
	var found, owned bool
	ctx := context.WithoutCancel(db.Statement.Context)
	if err := db.Statement.ConnPool.QueryRowContext(ctx, query, args...).Scan(&found, &owned); err != nil {
		_ = db.AddError(fmt.Errorf("tenancy: cannot tell whether table %s is tenant-owned: %w", t.key(), err))
		return kindOwned
	}
	switch {
	case !found:
		// Remember nothing: a table created later with a tenant_id
		// column must be scoped.
		return kindUnknown
	case owned:
		p.tables.LoadOrStore(t.key(), probedOwned)
		return kindOwned
	}
	if _, isJoin := p.joins.Load(t.bare().key()); isJoin {
		return kindJoin
	}
	p.tables.Store(t.key(), notOwned)
	return kindNotOwned
}

// known answers from the plugin's memory.
func (p *Plugin) known(t tableName) (kind, bool) {
	if v, ok := p.tables.Load(t.key()); ok {
		if v.(ownership) != notOwned {
			return kindOwned, true
		}
		if _, isJoin := p.joins.Load(t.key()); isJoin {
			return kindJoin, true
		}
		return kindNotOwned, true
	}
	if _, isJoin := p.joins.Load(t.key()); isJoin {
		return kindJoin, true
	}
	return 0, false
}

// joinSide is one tenant-owned side of a join table: the join table's
// columns that hold the primary key of a row of the owner table.
type joinSide struct {
	owner     tableName
	ownerCols []string
	joinCols  []string
}

// joinInfo lists the tenant-owned sides of a join table.
type joinInfo struct {
	table string
	sides []joinSide
}

// learnJoinTables records the join tables of the many-to-many relations
// of s whose sides include a tenant-owned model.
func (p *Plugin) learnJoinTables(s *schema.Schema) {
	if s == nil {
		return
	}
	if s.ModelType != nil && s.ModelType.Name() == "" && embeddedTenantField(s) == nil {
		// GORM's own join model (an unnamed struct): its relations point
		// at the two sides.
		p.learnJoinSchema(s)
	}
	for _, rel := range s.Relationships.Relations {
		if rel.JoinTable == nil || rel.Type != schema.Many2Many {
			continue
		}
		if embeddedTenantField(rel.JoinTable) != nil {
			continue // a join model that embeds Model is tenant-owned itself
		}
		info := &joinInfo{table: rel.JoinTable.Table}
		for _, own := range []bool{true, false} {
			side := joinSide{}
			var sch *schema.Schema
			for _, ref := range rel.References {
				if ref.PrimaryValue != "" || ref.OwnPrimaryKey != own || ref.PrimaryKey == nil || ref.ForeignKey == nil {
					continue
				}
				sch = ref.PrimaryKey.Schema
				side.ownerCols = append(side.ownerCols, ref.PrimaryKey.DBName)
				side.joinCols = append(side.joinCols, ref.ForeignKey.DBName)
			}
			if sch == nil || embeddedTenantField(sch) == nil {
				continue
			}
			side.owner = p.exactName(sch.Table)
			info.sides = append(info.sides, side)
		}
		if len(info.sides) == 0 {
			continue
		}
		key := p.exactName(rel.JoinTable.Table).key()
		p.joinMu.Lock()
		if old, ok := p.joins.Load(key); ok {
			merged := &joinInfo{table: info.table, sides: append([]joinSide(nil), old.(*joinInfo).sides...)}
			for _, sd := range info.sides {
				if !hasSide(merged.sides, sd) {
					merged.sides = append(merged.sides, sd)
				}
			}
			info = merged
		}
		p.joins.Store(key, info)
		p.joinMu.Unlock()
	}
}

// learnJoinSchema records the join table GORM built the unnamed join
// model s for, from the belongs-to relations GORM gives it.
func (p *Plugin) learnJoinSchema(s *schema.Schema) {
	info := &joinInfo{table: s.Table}
	for _, rel := range s.Relationships.Relations {
		if rel.Type != schema.BelongsTo || rel.FieldSchema == nil || embeddedTenantField(rel.FieldSchema) == nil {
			continue
		}
		side := joinSide{owner: p.exactName(rel.FieldSchema.Table)}
		for _, ref := range rel.References {
			if ref.PrimaryKey == nil || ref.ForeignKey == nil {
				continue
			}
			side.ownerCols = append(side.ownerCols, ref.PrimaryKey.DBName)
			side.joinCols = append(side.joinCols, ref.ForeignKey.DBName)
		}
		if len(side.joinCols) > 0 && !hasSide(info.sides, side) {
			info.sides = append(info.sides, side)
		}
	}
	if len(info.sides) == 0 || s.Table == "" {
		return
	}
	key := p.exactName(s.Table).key()
	p.joinMu.Lock()
	defer p.joinMu.Unlock()
	if _, ok := p.joins.Load(key); !ok {
		p.joins.Store(key, info)
	}
}

func hasSide(sides []joinSide, s joinSide) bool {
	for _, o := range sides {
		if o.owner.key() == s.owner.key() && strings.Join(o.joinCols, ",") == strings.Join(s.joinCols, ",") {
			return true
		}
	}
	return false
}

func (p *Plugin) joinOf(t tableName) *joinInfo {
	if v, ok := p.joins.Load(t.key()); ok {
		return v.(*joinInfo)
	}
	if v, ok := p.joins.Load(t.bare().key()); ok {
		return v.(*joinInfo)
	}
	return nil
}

// joinCond is the condition that confines a join table's rows, referred
// to as ref, to those whose every tenant-owned side is a row of tenant:
//
//	EXISTS (SELECT 1 FROM owner maestro_owner WHERE maestro_owner.pk = ref.fk AND maestro_owner.tenant_id = tenant) AND ...
//
// or, with any, to those with at least one such side (OR): a tenant may
// delete the join rows that link one of its rows, whatever the other side
// (a link to another tenant's row can only come from platform work or
// legacy data, and must not keep the tenant's row from being deleted).
type joinCond struct {
	ref    string // clause.CurrentTable, an alias or the table's name
	info   *joinInfo
	tenant string
	any    bool
}

// Build implements clause.Expression.
func (c joinCond) Build(b clause.Builder) {
	const alias = "maestro_owner"
	if c.any && len(c.info.sides) > 1 {
		_ = b.WriteByte('(')
		defer b.WriteByte(')')
	}
	for i, side := range c.info.sides {
		if i > 0 {
			if c.any {
				_, _ = b.WriteString(" OR ")
			} else {
				_, _ = b.WriteString(" AND ")
			}
		}
		_, _ = b.WriteString("EXISTS (SELECT 1 FROM ")
		b.WriteQuoted(clause.Table{Name: side.owner.key()})
		_ = b.WriteByte(' ')
		b.WriteQuoted(alias)
		_, _ = b.WriteString(" WHERE ")
		for j := range side.ownerCols {
			b.WriteQuoted(clause.Column{Table: alias, Name: side.ownerCols[j]})
			_, _ = b.WriteString(" = ")
			b.WriteQuoted(clause.Column{Table: c.ref, Name: side.joinCols[j]})
			_, _ = b.WriteString(" AND ")
		}
		b.WriteQuoted(clause.Column{Table: alias, Name: TenantColumn})
		_, _ = b.WriteString(" = ")
		b.AddVar(b, c.tenant)
		_ = b.WriteByte(')')
	}
}

// scopeCond is the caller's conditions, parenthesised, AND cond.
type scopeCond struct {
	inner []clause.Expression
	cond  clause.Expression
}

// Build implements clause.Expression.
func (c scopeCond) Build(b clause.Builder) {
	if len(c.inner) > 0 {
		_ = b.WriteByte('(')
		clause.Where{Exprs: append([]clause.Expression(nil), c.inner...)}.Build(b)
		_, _ = b.WriteString(") AND ")
	}
	c.cond.Build(b)
}

// addScopeWhere rewrites the statement's WHERE clause into
// (existing) AND cond.
func addScopeWhere(st *gorm.Statement, cond clause.Expression) {
	var inner []clause.Expression
	c, ok := st.Clauses["WHERE"]
	if ok {
		if w, isWhere := c.Expression.(clause.Where); isWhere {
			if len(w.Exprs) == 1 {
				if sc, mine := w.Exprs[0].(scopeCond); mine && reflect.DeepEqual(sc.cond, cond) {
					return // already scoped (a statement executed twice)
				}
			}
			inner = w.Exprs
		}
	}
	c.Name = "WHERE"
	c.Expression = clause.Where{Exprs: []clause.Expression{scopeCond{inner: inner, cond: cond}}}
	st.Clauses["WHERE"] = c
}

// checkJoinOwners verifies that every value of the join rows being
// written names rows of the tenant on each tenant-owned side. rows are the
// column values of each join row.
func (p *Plugin) checkJoinOwners(db *gorm.DB, info *joinInfo, tenant string, rows []map[string]any) error {
	for _, side := range info.sides {
		seen := map[string]bool{}
		var values []any
		for _, r := range rows {
			tuple := make([]any, len(side.joinCols))
			present := 0
			for i, col := range side.joinCols {
				v, ok := r[col]
				if ok {
					present++
				}
				tuple[i] = v
			}
			if present == 0 {
				continue // the column is not written (an update of others)
			}
			if present != len(side.joinCols) {
				return ErrForeignTenant
			}
			for _, v := range tuple {
				if v == nil || !isPlainValue(v) {
					return ErrForeignTenant
				}
			}
			k := fmt.Sprintf("%#v", tuple)
			if seen[k] {
				continue
			}
			seen[k] = true
			if len(tuple) == 1 {
				values = append(values, tuple[0])
			} else {
				values = append(values, tuple)
			}
		}
		if len(values) == 0 {
			continue
		}
		var col any
		cols := make([]clause.Column, len(side.ownerCols))
		marks := make([]string, len(side.ownerCols))
		vars := make([]any, 0, len(side.ownerCols)+4)
		for i, c := range side.ownerCols {
			cols[i] = clause.Column{Name: c}
			marks[i] = "?"
			vars = append(vars, cols[i])
		}
		if len(cols) == 1 {
			col = cols[0]
		} else {
			col = cols
		}
		// Count the distinct owner keys of the tenant among those named:
		// every one must be there.
		vars = append(vars, clause.Table{Name: side.owner.key()}, clause.Column{Name: TenantColumn}, tenant, clause.IN{Column: col, Values: values})
		stmt := &gorm.Statement{DB: db, ConnPool: db.Statement.ConnPool, Context: db.Statement.Context, Clauses: map[string]clause.Clause{}}
		clause.Expr{SQL: "SELECT count(*) FROM (SELECT DISTINCT " + strings.Join(marks, ", ") + " FROM ? WHERE ? = ? AND ?) maestro_owners", Vars: vars}.Build(stmt)
		var n int64
		ctx := context.WithoutCancel(db.Statement.Context)
		if err := db.Statement.ConnPool.QueryRowContext(ctx, stmt.SQL.String(), stmt.Vars...).Scan(&n); err != nil {
			return fmt.Errorf("tenancy: check owners of %s rows: %w", info.table, err)
		}
		if n != int64(len(values)) {
			return ErrForeignTenant
		}
	}
	return nil
}

// isPlainValue reports whether v is a value (not an SQL expression or a
// nested statement) the plugin can check.
func isPlainValue(v any) bool {
	switch v.(type) {
	case clause.Expression, *gorm.DB, clause.Column:
		return false
	}
	return true
}

// joinRowsOf reads the column values of the join rows a create or update
// writes: the statement's struct or map values, and an explicit SET.
func joinRowsOf(st *gorm.Statement, info *joinInfo, values reflect.Value, create bool) ([]map[string]any, error) {
	cols := map[string]bool{}
	for _, s := range info.sides {
		for _, c := range s.joinCols {
			cols[c] = true
		}
	}
	var rows []map[string]any
	var bad error
	eachValue(values, func(v reflect.Value) {
		row := map[string]any{}
		switch v.Kind() {
		case reflect.Struct:
			if st.Schema == nil {
				bad = ErrForeignTenant
				return
			}
			for c := range cols {
				f := st.Schema.LookUpField(c)
				if f == nil {
					continue
				}
				if fv, zero := f.ValueOf(st.Context, v); !zero {
					row[c] = fv
				} else if create {
					row[c] = nil
				}
			}
		case reflect.Map:
			m, ok := v.Interface().(map[string]interface{})
			if !ok {
				bad = ErrForeignTenant
				return
			}
			for k, val := range m {
				name := strings.Trim(k[strings.LastIndexByte(k, '.')+1:], "\"`[] ")
				if st.Schema != nil {
					if f := st.Schema.LookUpField(name); f != nil {
						name = f.DBName
					}
				}
				for c := range cols {
					if strings.EqualFold(name, c) {
						row[c] = val
					}
				}
			}
		default:
			bad = ErrForeignTenant
			return
		}
		rows = append(rows, row)
	})
	return rows, bad
}

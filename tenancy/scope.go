package tenancy

import (
	"reflect"
	"regexp"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// stmtScope is what the plugin learns about a statement's context.
type stmtScope struct {
	op     string
	tenant string // the context's tenant, when scoped
	scoped bool   // the context carries a tenant
	cross  bool   // the context is cross-tenant (and carries no tenant)
	reason string // the cross-tenant reason
	rawOK  bool   // the context allows raw SQL
	table  string // the statement's table, for errors

	// deferred are checks that query the database and must run after the
	// tenant is set for row-level security (the owners of join rows).
	deferred []func() error
}

func (p *Plugin) fail(db *gorm.DB, sc *stmtScope, table string, err error) {
	_ = db.AddError(&ScopeError{Op: sc.op, Table: table, Err: err})
	poison(db)
}

// refusedSQL is what a refused statement built in a dry run renders: it
// cannot parse on any database.
const refusedSQL = "SELECT maestro_tenancy_refused_statement FROM"

// poison makes a refused dry-run statement render refusedSQL. GORM builds
// a nested statement (a subquery in Raw or Exec, or one the plugin could
// not see ahead, inside a caller's own clause.Expression) as a dry run and
// drops its error: without this it would render as nothing ("IN ()") and
// the statement around it would run. With it, that statement fails at the
// database.
func poison(db *gorm.DB) {
	if db.DryRun && db.Statement.SQL.Len() == 0 {
		db.Statement.SQL.WriteString(refusedSQL)
	}
}

// before returns the callback that runs just before GORM builds and
// executes a statement of kind op.
func (p *Plugin) before(op string) func(*gorm.DB) {
	return func(db *gorm.DB) {
		if db.Error != nil {
			return
		}
		st := db.Statement
		sc := stmtScope{op: op}
		sc.tenant, sc.scoped = TenantFrom(st.Context)
		if !sc.scoped {
			sc.reason, sc.cross = CrossTenantReason(st.Context)
		}
		sc.rawOK = rawSQLAllowed(st.Context)

		if op == OpRaw || st.SQL.Len() > 0 {
			p.raw(db, &sc)
		} else {
			p.structured(db, &sc)
		}
		if db.Error != nil || db.DryRun {
			return
		}
		if p.rls && (sc.scoped || sc.cross) {
			p.setTenant(db, &sc)
			if db.Error != nil {
				return
			}
		}
		for _, check := range sc.deferred {
			if err := check(); err != nil {
				p.fail(db, &sc, sc.table, err)
				return
			}
		}
	}
}

// savepointRe matches the statements GORM issues for nested transactions.
var savepointRe = regexp.MustCompile(`^(?:SAVEPOINT|ROLLBACK TO SAVEPOINT|RELEASE SAVEPOINT) \w+$`)

// raw handles statements whose SQL was written by the caller.
func (p *Plugin) raw(db *gorm.DB, sc *stmtScope) {
	if sc.scoped && !sc.rawOK {
		if savepointRe.MatchString(db.Statement.SQL.String()) {
			return
		}
		p.fail(db, sc, "", ErrRawSQL)
		return
	}
	if sc.cross {
		p.audit(db.Statement.Context, AuditEvent{Op: sc.op, Reason: sc.reason})
	}
}

// target is the table a statement reads or writes.
type target struct {
	name      tableName
	qualifier string // how conditions refer to it: clause.CurrentTable, an alias or its name
	raw       bool   // named through an expression the plugin cannot read
	none      bool   // no table of its own (a subquery as table expression)
	override  bool   // named by an INSERT, UPDATE or DELETE ... FROM clause
}

// subqueryExprRe matches a table expression made of a subquery given as a
// *gorm.DB argument: (?) AS alias.
var subqueryExprRe = regexp.MustCompile(`^\s*\(\?\)\s*(?i:as\s+)?\w*\s*$`)

// targetOf returns the table a statement of kind op reads or writes: the
// table named by the statement's INSERT or UPDATE clause or a DELETE's
// FROM clause, else db.Table's, else the model's. A table expression is
// raw when it is not one table, optionally schema-qualified and aliased;
// the subquery form db.Table("(?) AS t", subDB) is not raw, because the
// subquery goes through the plugin on its own.
func (p *Plugin) targetOf(st *gorm.Statement, op string) target {
	switch op {
	case OpCreate:
		if ins, ok := st.Clauses["INSERT"].Expression.(clause.Insert); ok && ins.Table.Name != "" {
			return p.clauseTarget(st, ins.Table)
		}
	case OpUpdate:
		if up, ok := st.Clauses["UPDATE"].Expression.(clause.Update); ok && up.Table.Name != "" {
			return p.clauseTarget(st, up.Table)
		}
	case OpDelete:
		if from, ok := st.Clauses["FROM"].Expression.(clause.From); ok && len(from.Tables) > 0 {
			if len(from.Tables) > 1 {
				return target{raw: true, override: true}
			}
			return p.clauseTarget(st, from.Tables[0])
		}
	}
	if st.TableExpr == nil {
		return target{name: p.exactName(st.Table), qualifier: clause.CurrentTable}
	}
	sql := st.TableExpr.SQL
	if len(st.TableExpr.Vars) == 0 {
		if t, alias, ok := p.parseTableExpr(sql); ok {
			q := alias
			if q == "" {
				q = t.name
			}
			if q == st.Table {
				q = clause.CurrentTable
			}
			return target{name: t, qualifier: q}
		}
		return target{raw: true}
	}
	if subqueryExprRe.MatchString(sql) {
		for _, v := range st.TableExpr.Vars {
			if _, ok := v.(*gorm.DB); !ok {
				return target{raw: true}
			}
		}
		return target{none: true}
	}
	return target{raw: true}
}

func (p *Plugin) clauseTarget(st *gorm.Statement, t clause.Table) target {
	if t.Name == clause.CurrentTable {
		tg := p.targetOf(&gorm.Statement{Table: st.Table, TableExpr: st.TableExpr}, "")
		return tg
	}
	if t.Raw {
		return target{raw: true, override: true}
	}
	q := t.Alias
	if q == "" {
		q = t.Name
	}
	return target{name: p.exactName(t.Name), qualifier: q, override: true}
}

// structured handles statements GORM builds from a model or table.
func (p *Plugin) structured(db *gorm.DB, sc *stmtScope) {
	st := db.Statement
	if !p.checkNested(db, sc) {
		return
	}
	field := p.tenantField(st.Schema)
	tg := p.targetOf(st, sc.op)
	sc.table = st.Table
	if !tg.raw && !tg.none && tg.name.name != "" {
		sc.table = tg.name.key()
	}
	if tg.raw && sc.scoped && !sc.rawOK {
		p.fail(db, sc, st.Table, ErrRawSQL)
		return
	}
	k := kindNotOwned
	switch {
	case tg.raw || tg.none:
	case field != nil && !tg.override:
		k = kindOwned
	case st.Schema != nil && !tg.override && st.TableExpr == nil && st.Schema.Table == st.Table:
		// A model on its own table that does not embed Model is
		// platform-level when it maps the tenant column itself
		// (memberships, an auth store's rows) unless the table is known
		// to belong to a tenant-owned model. One that does not map the
		// column is a read model when its table has one, whether or not
		// a tenant-owned model of the table has been seen yet.
		switch {
		case p.knownOwned(st.Table):
			k = kindOwned
		case tenantColumnField(st.Schema) == nil:
			k = p.resolve(db, tg.name)
		}
	default:
		k = p.resolve(db, tg.name)
	}
	if db.Error != nil {
		return
	}
	if k == kindUnknown {
		if sc.scoped {
			p.fail(db, sc, sc.table, ErrUnknownTable)
			return
		}
		k = kindNotOwned // the database reports the missing table
	}
	if k == kindOwned && st.Schema != nil && (field == nil || tg.override) {
		// A model other than the table's own (a DTO): use its
		// tenant_id column if it has one.
		if f := tenantColumnField(st.Schema); f != nil || field == nil {
			field = f
		}
	}

	if sc.op != OpCreate && !p.scopeFrom(db, sc, tg) {
		return
	}
	if sc.op == OpQuery || sc.op == OpRow {
		if !p.scopeJoins(db, sc) {
			return
		}
	}
	switch k {
	case kindNotOwned:
		return
	case kindJoin:
		p.joinStatement(db, sc, tg)
		return
	}
	table := sc.table
	switch {
	case sc.scoped:
	case sc.cross:
		p.audit(st.Context, AuditEvent{Op: sc.op, Table: table, Reason: sc.reason})
		if sc.op == OpCreate {
			p.requireTenantOnCreate(db, sc, field, table)
		}
		return
	default:
		p.fail(db, sc, table, ErrNoTenant)
		return
	}
	if !sc.rawOK {
		if err := checkModifiers(st, sc.op); err != nil {
			p.fail(db, sc, table, err)
			return
		}
	}

	switch sc.op {
	case OpCreate:
		if err := selectTenantColumn(st, field); err != nil {
			p.fail(db, sc, table, err)
			return
		}
		if p.stampCreate(db, sc, field, table) {
			if err := guardUpsert(st, sc.tenant); err != nil {
				p.fail(db, sc, table, err)
			}
		}
		return
	case OpUpdate:
		if !p.checkUpdate(db, sc, field, table) || !checkWhere(db) {
			return
		}
	case OpDelete:
		if !checkWhere(db) {
			return
		}
	}
	addTenantWhere(st, tg.qualifier, sc.tenant)
}

// joinStatement confines a statement on a join table of tenant-owned
// models to the join rows whose every tenant-owned side is a row of the
// tenant, and checks, before join rows are written, that the rows they
// name are the tenant's.
func (p *Plugin) joinStatement(db *gorm.DB, sc *stmtScope, tg target) {
	st := db.Statement
	info := p.joinOf(tg.name)
	if info == nil {
		p.fail(db, sc, sc.table, ErrUnknownTable)
		return
	}
	switch {
	case sc.scoped:
	case sc.cross:
		p.audit(st.Context, AuditEvent{Op: sc.op, Table: sc.table, Reason: sc.reason})
		return
	default:
		p.fail(db, sc, sc.table, ErrNoTenant)
		return
	}
	if !sc.rawOK {
		if err := checkModifiers(st, sc.op); err != nil {
			p.fail(db, sc, sc.table, err)
			return
		}
	}
	tenant := sc.tenant
	switch sc.op {
	case OpCreate:
		if oc, ok := st.Clauses["ON CONFLICT"].Expression.(clause.OnConflict); ok && !oc.DoNothing && !sc.rawOK {
			// DO UPDATE would rewrite a conflicting join row, which may
			// be another tenant's.
			p.fail(db, sc, sc.table, ErrForeignTenant)
			return
		}
		if err := selectJoinColumns(st, info); err != nil {
			p.fail(db, sc, sc.table, err)
			return
		}
		rows, err := joinRowsOf(st, info, st.ReflectValue, true)
		if err != nil {
			p.fail(db, sc, sc.table, err)
			return
		}
		sc.deferred = append(sc.deferred, func() error { return p.checkJoinOwners(db, info, tenant, rows) })
		return
	case OpUpdate:
		rows, err := joinRowsOf(st, info, reflect.ValueOf(st.Dest), false)
		if err != nil {
			p.fail(db, sc, sc.table, err)
			return
		}
		if set, ok := st.Clauses["SET"].Expression.(clause.Set); ok {
			row := map[string]any{}
			for _, a := range set {
				row[a.Column.Name] = a.Value
			}
			rows = append(rows, row)
		}
		sc.deferred = append(sc.deferred, func() error { return p.checkJoinOwners(db, info, tenant, rows) })
		if !checkWhere(db) {
			return
		}
	case OpDelete:
		if !checkWhere(db) {
			return
		}
	}
	addScopeWhere(st, joinCond{ref: tg.qualifier, info: info, tenant: tenant, any: sc.op == OpDelete})
}

// tenantCond is the WHERE/ON expression the plugin adds: the caller's
// conditions, always parenthesised, AND table.tenant_id = tenant. The
// parentheses keep a caller's OR from escaping the tenant condition, which
// GORM's own heuristics do not guarantee for raw condition strings.
type tenantCond struct {
	inner  []clause.Expression
	table  string
	tenant string
}

// Build implements clause.Expression.
func (c tenantCond) Build(b clause.Builder) {
	if len(c.inner) > 0 {
		_ = b.WriteByte('(')
		clause.Where{Exprs: append([]clause.Expression(nil), c.inner...)}.Build(b)
		_, _ = b.WriteString(") AND ")
	}
	clause.Eq{Column: clause.Column{Table: c.table, Name: TenantColumn}, Value: c.tenant}.Build(b)
}

// addTenantWhere rewrites the statement's WHERE clause into
// (existing) AND table.tenant_id = tenant.
func addTenantWhere(st *gorm.Statement, table, tenant string) {
	var inner []clause.Expression
	c, ok := st.Clauses["WHERE"]
	if ok {
		if w, isWhere := c.Expression.(clause.Where); isWhere {
			if len(w.Exprs) == 1 {
				if tc, mine := w.Exprs[0].(tenantCond); mine && tc.tenant == tenant && tc.table == table {
					return // already scoped (a statement executed twice)
				}
			}
			inner = w.Exprs
		}
	}
	c.Name = "WHERE"
	c.Expression = clause.Where{Exprs: []clause.Expression{tenantCond{inner: inner, table: table, tenant: tenant}}}
	st.Clauses["WHERE"] = c
}

// queryEnd runs after a query. It ends the plugin's own transaction, if
// any, and turns the WHERE clause back into a flat list, the tenant
// condition first and then the caller's conditions, so that FirstOrInit
// and FirstOrCreate can read the caller's equality conditions (and the
// tenant) into the value they initialise.
func (p *Plugin) queryEnd(db *gorm.DB) {
	p.end(db)
	st := db.Statement
	c, ok := st.Clauses["WHERE"]
	if !ok {
		return
	}
	w, ok := c.Expression.(clause.Where)
	if !ok || len(w.Exprs) == 0 {
		return
	}
	tc, ok := w.Exprs[0].(tenantCond)
	if !ok || tc.table != clause.CurrentTable {
		return
	}
	// Conditions GORM appended after the plugin's (soft delete) follow.
	exprs := make([]clause.Expression, 0, len(tc.inner)+len(w.Exprs))
	exprs = append(exprs, clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: TenantColumn}, Value: tc.tenant})
	exprs = append(exprs, tc.inner...)
	exprs = append(exprs, w.Exprs[1:]...)
	c.Expression = clause.Where{Exprs: exprs}
	st.Clauses["WHERE"] = c
}

// scopeJoins adds the tenant condition to the ON clause of every join of
// a tenant-owned relation, and refuses raw join strings on a tenant
// context. It reports false when it failed the statement.
func (p *Plugin) scopeJoins(db *gorm.DB, sc *stmtScope) bool {
	st := db.Statement
	if len(st.Joins) > 0 {
		for i := 0; i < len(st.Joins); i++ {
			j := st.Joins[i]
			rels := relationPath(st.Schema, j.Name)
			if rels == nil || j.Expression != nil {
				if sc.scoped && !sc.rawOK {
					p.fail(db, sc, st.Table, ErrRawSQL)
					return false
				}
				continue
			}
			for k, rel := range rels {
				if p.tenantField(rel.FieldSchema) == nil {
					continue
				}
				if !sc.scoped {
					if sc.cross {
						p.audit(st.Context, AuditEvent{Op: sc.op, Table: rel.FieldSchema.Table, Reason: sc.reason})
						continue
					}
					p.fail(db, sc, rel.FieldSchema.Table, ErrNoTenant)
					return false
				}
				if k == len(rels)-1 {
					st.Joins[i].On = tenantOn(st.Joins[i].On, sc.tenant)
					continue
				}
				// An intermediate relation of a nested join ("A.B"): join
				// it explicitly first, with the tenant in its ON clause,
				// unless the statement already joins it.
				name := strings.Join(relNames(rels[:k+1]), ".")
				if joinIndex(st, name) >= 0 {
					continue
				}
				if j.JoinType == clause.InnerJoin {
					db.InnerJoins(name)
				} else {
					db.Joins(name)
				}
				last := len(st.Joins) - 1
				added := st.Joins[last]
				added.On = tenantOn(nil, sc.tenant)
				copy(st.Joins[i+1:], st.Joins[i:last])
				st.Joins[i] = added
				i++
			}
		}
	}
	return true
}

// scopeFrom confines every table of an explicit FROM clause (further
// tables of a query, UPDATE ... FROM, the joins of a FROM clause) to the
// tenant, and refuses raw tables and joins in it on a tenant context.
func (p *Plugin) scopeFrom(db *gorm.DB, sc *stmtScope, tg target) bool {
	st := db.Statement
	c, ok := st.Clauses["FROM"]
	if !ok {
		return true
	}
	from, _ := c.Expression.(clause.From)
	// check resolves one table of the clause; it reports the table's kind
	// and false when the statement failed or the table needs no scoping.
	check := func(t clause.Table, raw bool) (kind, tableName, bool) {
		if raw || t.Raw {
			if sc.scoped && !sc.rawOK {
				p.fail(db, sc, st.Table, ErrRawSQL)
			}
			return 0, tableName{}, false
		}
		if t.Name == "" || t.Name == clause.CurrentTable {
			return 0, tableName{}, false
		}
		name := p.exactName(t.Name)
		k := p.resolve(db, name)
		if db.Error != nil {
			return 0, name, false
		}
		switch k {
		case kindNotOwned:
			return k, name, false
		case kindUnknown:
			if sc.scoped {
				p.fail(db, sc, name.key(), ErrUnknownTable)
			}
			return k, name, false
		}
		if !sc.scoped {
			if sc.cross {
				p.audit(st.Context, AuditEvent{Op: sc.op, Table: name.key(), Reason: sc.reason})
			} else {
				p.fail(db, sc, name.key(), ErrNoTenant)
			}
			return k, name, false
		}
		return k, name, true
	}
	cond := func(k kind, name tableName, ref string) clause.Expression {
		if k == kindJoin {
			return joinCond{ref: ref, info: p.joinOf(name), tenant: sc.tenant}
		}
		return clause.Eq{Column: clause.Column{Table: ref, Name: TenantColumn}, Value: sc.tenant}
	}
	for i, tb := range from.Tables {
		if sc.op == OpDelete && i == 0 {
			continue // the statement's own table, scoped by structured
		}
		k, name, scope := check(tb, false)
		if db.Error != nil {
			return false
		}
		if !scope {
			continue
		}
		ref := tb.Alias
		if ref == "" {
			ref = tb.Name
		}
		if sc.op == OpQuery || sc.op == OpRow {
			if ref == st.Table && tg.qualifier == clause.CurrentTable {
				continue // the statement's own table, scoped by structured
			}
		}
		if k == kindJoin {
			addScopeWhere(st, cond(k, name, ref))
		} else {
			addTenantWhere(st, ref, sc.tenant)
		}
	}
	if len(from.Joins) > 0 {
		joins := make([]clause.Join, len(from.Joins))
		copy(joins, from.Joins)
		for i, j := range joins {
			k, name, scope := check(j.Table, j.Expression != nil)
			if db.Error != nil {
				return false
			}
			if !scope {
				continue
			}
			ref := j.Table.Alias
			if ref == "" {
				ref = j.Table.Name
			}
			if k == kindJoin {
				joins[i].ON = clause.Where{Exprs: []clause.Expression{scopeCond{inner: j.ON.Exprs, cond: cond(k, name, ref)}}}
			} else {
				joins[i].ON = clause.Where{Exprs: []clause.Expression{tenantCond{inner: j.ON.Exprs, table: ref, tenant: sc.tenant}}}
			}
		}
		from.Joins = joins
		c.Expression = from
		st.Clauses["FROM"] = c
	}
	return true
}

// tenantOn returns a join ON clause: on's conditions AND tenant_id, with
// the column qualified by the join's alias.
func tenantOn(on *clause.Where, tenant string) *clause.Where {
	var inner []clause.Expression
	if on != nil {
		if len(on.Exprs) == 1 {
			if tc, mine := on.Exprs[0].(tenantCond); mine && tc.tenant == tenant {
				return on
			}
		}
		inner = on.Exprs
	}
	return &clause.Where{Exprs: []clause.Expression{tenantCond{inner: inner, table: clause.CurrentTable, tenant: tenant}}}
}

// relationPath resolves a join name ("Author" or "Author.Company") to the
// relationships it follows, or nil when the name is raw SQL.
func relationPath(s *schema.Schema, name string) []*schema.Relationship {
	if s == nil {
		return nil
	}
	if rel, ok := s.Relationships.Relations[name]; ok {
		return []*schema.Relationship{rel}
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return nil
	}
	rels := make([]*schema.Relationship, 0, len(parts))
	cur := s.Relationships.Relations
	for _, part := range parts {
		rel, ok := cur[part]
		if !ok {
			return nil
		}
		rels = append(rels, rel)
		cur = rel.FieldSchema.Relationships.Relations
	}
	return rels
}

func relNames(rels []*schema.Relationship) []string {
	names := make([]string, len(rels))
	for i, r := range rels {
		names[i] = r.Name
	}
	return names
}

func joinIndex(st *gorm.Statement, name string) int {
	for i := range st.Joins {
		if st.Joins[i].Name == name {
			return i
		}
	}
	return -1
}

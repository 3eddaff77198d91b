package tenancy

import (
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
}

func (p *Plugin) fail(db *gorm.DB, sc *stmtScope, table string, err error) {
	_ = db.AddError(&ScopeError{Op: sc.op, Table: table, Err: err})
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
		if db.Error != nil || !p.rls || db.DryRun || !(sc.scoped || sc.cross) {
			return
		}
		p.setTenant(db, &sc)
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

// structured handles statements GORM builds from a model or table.
func (p *Plugin) structured(db *gorm.DB, sc *stmtScope) {
	st := db.Statement
	field := p.tenantField(st.Schema)
	table, rawTable := baseTable(st)
	owned := field != nil
	if !owned && table != "" {
		if st.Schema != nil && st.Schema.Table == table && st.TableExpr == nil {
			// A model on its own table that does not embed Model is
			// platform-level when it maps the tenant column itself
			// (memberships, an auth store's rows) unless the table is known
			// to belong to a tenant-owned model. One that does not map the
			// column is a read model when its table has one, whether or not
			// a tenant-owned model of the table has been seen yet.
			owned = p.knownOwned(table) || tenantColumnField(st.Schema) == nil && p.tableOwned(db, table)
		} else {
			owned = p.tableOwned(db, table)
		}
		if owned && st.Schema != nil {
			// A model other than the table's own (a DTO): use its
			// tenant_id column if it has one.
			field = tenantColumnField(st.Schema)
		}
	}
	if rawTable && sc.scoped && !sc.rawOK {
		p.fail(db, sc, st.Table, ErrRawSQL)
		return
	}

	if sc.op == OpQuery || sc.op == OpRow {
		if !p.scopeJoins(db, sc) {
			return
		}
	}
	if !owned {
		return
	}
	if table == "" {
		table = st.Table
	}
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

	switch sc.op {
	case OpCreate:
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
	addTenantWhere(st, clause.CurrentTable, sc.tenant)
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
		b.WriteByte('(')
		clause.Where{Exprs: append([]clause.Expression(nil), c.inner...)}.Build(b)
		b.WriteString(") AND ")
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
	if c, ok := st.Clauses["FROM"]; ok {
		from, _ := c.Expression.(clause.From)
		// Further tables listed in an explicit FROM clause.
		for _, tb := range from.Tables {
			if tb.Name == "" || tb.Name == clause.CurrentTable || tb.Raw || !p.tableOwned(db, tb.Name) {
				continue
			}
			ref := tb.Alias
			if ref == "" {
				ref = tb.Name
			}
			if ref == st.Table {
				continue // the statement's own table, scoped below
			}
			if !sc.scoped {
				if sc.cross {
					continue
				}
				p.fail(db, sc, tb.Name, ErrNoTenant)
				return false
			}
			addTenantWhere(st, ref, sc.tenant)
		}
		if len(from.Joins) > 0 {
			joins := make([]clause.Join, len(from.Joins))
			copy(joins, from.Joins)
			for i, j := range joins {
				if j.Expression != nil || j.Table.Name == "" || !p.tableOwned(db, j.Table.Name) {
					continue
				}
				if !sc.scoped {
					if sc.cross {
						continue
					}
					p.fail(db, sc, j.Table.Name, ErrNoTenant)
					return false
				}
				ref := j.Table.Alias
				if ref == "" {
					ref = j.Table.Name
				}
				joins[i].ON = clause.Where{Exprs: []clause.Expression{tenantCond{inner: j.ON.Exprs, table: ref, tenant: sc.tenant}}}
			}
			from.Joins = joins
			c.Expression = from
			st.Clauses["FROM"] = c
		}
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

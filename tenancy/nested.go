package tenancy

import (
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"
)

var (
	dbType         = reflect.TypeOf((*gorm.DB)(nil))
	tenantCondType = reflect.TypeOf(tenantCond{})
	scopeCondType  = reflect.TypeOf(scopeCond{})
)

// checkNested examines the statements nested in db's statement (subqueries
// given as *gorm.DB values in conditions, table expressions, joins, SET
// values and created values) before GORM renders them. GORM builds a
// nested statement on its own and drops its error, so a subquery refused
// by the plugin (no tenant, say) would render as nothing ("IN ()"), and
// it inlines a nested Raw statement without any callback. So here:
//
//   - a nested statement whose Error is set fails the statement;
//   - a nested Raw statement needs AllowRawSQL when the statement's
//     context, or the nested statement's, carries a tenant;
//   - every other nested statement is built once ahead (dry run) through
//     the plugin, and its error fails the statement.
//
// It reports false when it failed the statement.
func (p *Plugin) checkNested(db *gorm.DB, sc *stmtScope) bool {
	st := db.Statement
	c := nestedChecker{p: p, sc: sc}
	for _, cl := range st.Clauses {
		if !c.exprs(cl.Expression, cl.BeforeExpression, cl.AfterNameExpression, cl.AfterExpression) {
			break
		}
	}
	if c.failed == nil && st.TableExpr != nil {
		c.walk(reflect.ValueOf(st.TableExpr.Vars), 0)
	}
	if c.failed == nil {
	joins:
		for _, j := range st.Joins {
			// A relation join's *gorm.DB conditions are condition groups;
			// a raw join's are subqueries in its SQL.
			relation := relationPath(st.Schema, j.Name) != nil
			for _, cond := range j.Conds {
				if sub, ok := cond.(*gorm.DB); ok && relation && sub != nil && sub.Statement != nil {
					if sub.Error != nil {
						c.failed = sub.Error
						break joins
					}
					// GORM uses the nested statement's WHERE clause as the
					// join's conditions; look into it.
					if w, ok := sub.Statement.Clauses["WHERE"]; ok && !c.exprs(w.Expression) {
						break joins
					}
					continue
				}
				if !c.walk(reflect.ValueOf(cond), 0) {
					break joins
				}
			}
			if j.On != nil && !c.walk(reflect.ValueOf(j.On), 0) {
				break
			}
			if j.Expression != nil && !c.exprs(j.Expression) {
				break
			}
		}
	}
	if c.failed == nil && (sc.op == OpCreate || sc.op == OpUpdate) && st.Dest != nil {
		// Values assigned or created from a map may be subqueries.
		dv := deref(reflect.ValueOf(st.Dest))
		if dv.Kind() == reflect.Map || dv.Kind() == reflect.Slice && dv.Type().Elem().Kind() == reflect.Map {
			c.walk(dv, 0)
		}
	}
	if c.failed != nil {
		_ = db.AddError(c.failed)
		poison(db)
		return false
	}
	return true
}

// nestedChecker walks values for nested statements and checks each.
type nestedChecker struct {
	p      *Plugin
	sc     *stmtScope
	failed error
	seen   map[uintptr]bool
}

// visit checks one nested statement used as a value.
func (c *nestedChecker) visit(sub *gorm.DB) bool {
	if sub == nil || sub.Statement == nil {
		return true
	}
	if sub.Error != nil {
		c.failed = sub.Error
		return false
	}
	if sub.Statement.SQL.Len() > 0 {
		_, subScoped := TenantFrom(sub.Statement.Context)
		if c.sc.scoped && !c.sc.rawOK || subScoped && !rawSQLAllowed(sub.Statement.Context) {
			c.failed = &ScopeError{Op: c.sc.op, Err: ErrRawSQL}
			return false
		}
		return true
	}
	// Build it ahead, as GORM will: a dry run through the query callbacks,
	// the plugin's included.
	tx := sub.Session(&gorm.Session{DryRun: true, Logger: logger.Discard}).Clauses()
	tx = tx.Callback().Query().Execute(tx)
	if tx.Error != nil {
		c.failed = tx.Error
		return false
	}
	return true
}

// exprs walks clause expressions.
func (c *nestedChecker) exprs(exprs ...clause.Expression) bool {
	for _, e := range exprs {
		if e != nil && !c.walk(reflect.ValueOf(e), 0) {
			return false
		}
	}
	return true
}

// walk visits every *gorm.DB reachable from v through exported struct
// fields, pointers, interfaces, slices, arrays and maps, without
// descending into the *gorm.DB values themselves. It reports false when a
// check failed.
func (c *nestedChecker) walk(v reflect.Value, depth int) bool {
	if !v.IsValid() || depth > 12 {
		return true
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return c.walk(v.Elem(), depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			return true
		}
		if v.Type() == dbType {
			if !v.CanInterface() {
				return true
			}
			return c.visit(v.Interface().(*gorm.DB))
		}
		if leafKind(v.Type().Elem().Kind()) || skipType(v.Type().Elem()) {
			return true
		}
		if c.seen == nil {
			c.seen = map[uintptr]bool{}
		}
		if c.seen[v.Pointer()] {
			return true
		}
		c.seen[v.Pointer()] = true
		return c.walk(v.Elem(), depth+1)
	case reflect.Struct:
		if skipType(v.Type()) {
			return true
		}
		if t := v.Type(); (t == tenantCondType || t == scopeCondType) && v.CanInterface() {
			// The plugin's own wrappers keep the caller's conditions in
			// unexported fields (a statement executed twice).
			if w, ok := v.Interface().(interface{ innerExprs() []clause.Expression }); ok {
				return c.exprs(w.innerExprs()...)
			}
		}
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			if !c.walk(v.Field(i), depth+1) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if leafKind(v.Type().Elem().Kind()) {
			return true
		}
		for i := 0; i < v.Len(); i++ {
			if !c.walk(v.Index(i), depth+1) {
				return false
			}
		}
	case reflect.Map:
		if leafKind(v.Type().Elem().Kind()) {
			return true
		}
		iter := v.MapRange()
		for iter.Next() {
			if !c.walk(iter.Value(), depth+1) {
				return false
			}
		}
	}
	return true
}

// leafKind reports kinds that cannot hold a *gorm.DB.
func leafKind(k reflect.Kind) bool {
	switch k {
	case reflect.Interface, reflect.Pointer, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
		return false
	}
	return true
}

// skipType reports types not worth walking: GORM's own machinery (other
// than clauses), and standard library types that hold no statements.
func skipType(t reflect.Type) bool {
	switch t.PkgPath() {
	case "gorm.io/gorm", "gorm.io/gorm/schema", "reflect", "sync", "time", "context", "database/sql":
		return true
	}
	return false
}

func (c tenantCond) innerExprs() []clause.Expression { return c.inner }
func (c scopeCond) innerExprs() []clause.Expression  { return c.inner }

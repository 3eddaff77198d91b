package tenancy

import (
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

var dbType = reflect.TypeOf((*gorm.DB)(nil))

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
	var failed error
	visit := func(sub *gorm.DB, asCondition bool) bool {
		if sub == nil || sub.Statement == nil {
			return true
		}
		if sub.Error != nil {
			failed = sub.Error
			return false
		}
		if asCondition {
			// Joins("Rel", subDB): GORM uses the nested statement's WHERE
			// clause as the join's conditions; look into it.
			if c, ok := sub.Statement.Clauses["WHERE"]; ok {
				return walkDBs(reflect.ValueOf(c.Expression), visitOf(&failed, p, sc))
			}
			return true
		}
		return visitOf(&failed, p, sc)(sub)
	}
	v := func(sub *gorm.DB) bool { return visit(sub, false) }
	for _, c := range st.Clauses {
		if !walkDBs(reflect.ValueOf(c), v) {
			break
		}
	}
	if failed == nil && st.TableExpr != nil {
		walkDBs(reflect.ValueOf(st.TableExpr.Vars), v)
	}
	if failed == nil {
		for _, j := range st.Joins {
			// A relation join's *gorm.DB conditions are condition groups;
			// a raw join's are subqueries in its SQL.
			relation := relationPath(st.Schema, j.Name) != nil
			for _, c := range j.Conds {
				if sub, ok := c.(*gorm.DB); ok && relation {
					if !visit(sub, true) {
						break
					}
					continue
				}
				if !walkDBs(reflect.ValueOf(c), v) {
					break
				}
			}
			if failed != nil {
				break
			}
			if j.On != nil && !walkDBs(reflect.ValueOf(*j.On), v) {
				break
			}
			if j.Expression != nil && !walkDBs(reflect.ValueOf(j.Expression), v) {
				break
			}
		}
	}
	if failed == nil && (sc.op == OpCreate || sc.op == OpUpdate) && st.Dest != nil {
		// Values assigned or created from a map may be subqueries.
		dv := deref(reflect.ValueOf(st.Dest))
		if dv.Kind() == reflect.Map || dv.Kind() == reflect.Slice && dv.Type().Elem().Kind() == reflect.Map {
			walkDBs(dv, v)
		}
	}
	if failed != nil {
		_ = db.AddError(failed)
		return false
	}
	return true
}

// visitOf returns the check of one nested statement used as a value.
func visitOf(failed *error, p *Plugin, sc *stmtScope) func(*gorm.DB) bool {
	return func(sub *gorm.DB) bool {
		if sub.Error != nil {
			*failed = sub.Error
			return false
		}
		if sub.Statement.SQL.Len() > 0 {
			_, subScoped := TenantFrom(sub.Statement.Context)
			if sc.scoped && !sc.rawOK || subScoped && !rawSQLAllowed(sub.Statement.Context) {
				*failed = &ScopeError{Op: sc.op, Err: ErrRawSQL}
				return false
			}
			return true
		}
		// Build it ahead, as GORM will: a dry run through the query
		// callbacks, the plugin's included.
		tx := sub.Session(&gorm.Session{DryRun: true, Logger: logger.Discard}).Clauses()
		tx = tx.Callback().Query().Execute(tx)
		if tx.Error != nil {
			*failed = tx.Error
			return false
		}
		return true
	}
}

// walkDBs calls fn for every *gorm.DB reachable from v through exported
// struct fields, pointers, interfaces, slices, arrays and maps, without
// descending into the *gorm.DB values themselves. It stops, reporting
// false, when fn does.
func walkDBs(v reflect.Value, fn func(*gorm.DB) bool) bool {
	return walk(v, fn, 0, map[uintptr]bool{})
}

func walk(v reflect.Value, fn func(*gorm.DB) bool, depth int, seen map[uintptr]bool) bool {
	if !v.IsValid() || depth > 12 {
		return true
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return walk(v.Elem(), fn, depth+1, seen)
	case reflect.Pointer:
		if v.IsNil() {
			return true
		}
		if v.Type() == dbType {
			if !v.CanInterface() {
				return true
			}
			return fn(v.Interface().(*gorm.DB))
		}
		if skipType(v.Type().Elem()) {
			return true
		}
		if seen[v.Pointer()] {
			return true
		}
		seen[v.Pointer()] = true
		return walk(v.Elem(), fn, depth+1, seen)
	case reflect.Struct:
		if skipType(v.Type()) {
			return true
		}
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			if !walk(v.Field(i), fn, depth+1, seen) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		if leafKind(v.Type().Elem().Kind()) {
			return true
		}
		for i := 0; i < v.Len(); i++ {
			if !walk(v.Index(i), fn, depth+1, seen) {
				return false
			}
		}
	case reflect.Map:
		if leafKind(v.Type().Elem().Kind()) {
			return true
		}
		iter := v.MapRange()
		for iter.Next() {
			if !walk(iter.Value(), fn, depth+1, seen) {
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

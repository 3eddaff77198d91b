package tenancy

import (
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

const upsertGuardKey = "maestro:tenancy:upsert_guard"

// stampCreate sets tenant_id to the context's tenant on every value being
// created, and refuses values that name another tenant. It reports whether
// the statement may proceed.
func (p *Plugin) stampCreate(db *gorm.DB, sc *stmtScope, field *schema.Field, table string) bool {
	st := db.Statement
	ok := true
	visit := func(v reflect.Value) {
		if !ok {
			return
		}
		if err := stampValue(db, v, field, sc.tenant); err != nil {
			p.fail(db, sc, table, err)
			ok = false
		}
	}
	eachValue(st.ReflectValue, visit)
	return ok
}

// requireTenantOnCreate checks, on a cross-tenant context, that every
// value being created names its tenant.
func (p *Plugin) requireTenantOnCreate(db *gorm.DB, sc *stmtScope, field *schema.Field, table string) {
	failed := false
	eachValue(db.Statement.ReflectValue, func(v reflect.Value) {
		if failed {
			return
		}
		id, present, err := tenantOf(db, v, field)
		if err != nil || !present || id == "" {
			failed = true
			if err == nil {
				err = ErrNoTenant
			}
			p.fail(db, sc, table, err)
		}
	})
}

// eachValue calls fn for the struct or map behind v, or for each element
// of a slice or array of them.
func eachValue(v reflect.Value, fn func(reflect.Value)) {
	v = deref(v)
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fn(deref(v.Index(i)))
		}
	case reflect.Struct, reflect.Map:
		fn(v)
	}
}

func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// tenantOf reads the tenant named by a struct or map value.
func tenantOf(db *gorm.DB, v reflect.Value, field *schema.Field) (id string, present bool, err error) {
	switch v.Kind() {
	case reflect.Struct:
		if field == nil {
			return "", false, ErrNoTenantColumn
		}
		val, zero := field.ValueOf(db.Statement.Context, v)
		if zero {
			return "", false, nil
		}
		s, isString := val.(string)
		if !isString {
			return "", true, ErrForeignTenant
		}
		return s, true, nil
	case reflect.Map:
		m, isMap := v.Interface().(map[string]interface{})
		if !isMap {
			return "", false, ErrNoTenantColumn
		}
		k, found := tenantKeyOf(db.Statement.Schema, m)
		if !found {
			return "", false, nil
		}
		s, isString := m[k].(string)
		if !isString {
			return "", true, ErrForeignTenant
		}
		return s, true, nil
	}
	return "", false, ErrNoTenantColumn
}

// tenantKeyOf finds the key of m that names the tenant_id column.
func tenantKeyOf(s *schema.Schema, m map[string]interface{}) (string, bool) {
	if _, ok := m[TenantColumn]; ok {
		return TenantColumn, true
	}
	if s != nil {
		for k := range m {
			if f := s.LookUpField(k); f != nil && f.DBName == TenantColumn {
				return k, true
			}
		}
	}
	return "", false
}

// stampValue sets the tenant on one struct or map, or refuses it.
func stampValue(db *gorm.DB, v reflect.Value, field *schema.Field, tenant string) error {
	id, present, err := tenantOf(db, v, field)
	if err != nil {
		return err
	}
	if present {
		if id != tenant {
			return ErrForeignTenant
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		if !v.CanAddr() {
			return ErrNoTenantColumn
		}
		return field.Set(db.Statement.Context, v, tenant)
	case reflect.Map:
		v.Interface().(map[string]interface{})[TenantColumn] = tenant
	}
	return nil
}

// guardUpsert confines an ON CONFLICT ... DO UPDATE (Save's fallback,
// FirstOrCreate with Assign, explicit upserts) to rows of the tenant: a
// conflicting row of another tenant is left untouched instead of being
// overwritten and taken over.
func guardUpsert(st *gorm.Statement, tenant string) {
	c, ok := st.Clauses["ON CONFLICT"]
	if !ok {
		return
	}
	oc, ok := c.Expression.(clause.OnConflict)
	if !ok || oc.DoNothing {
		return
	}
	callerWhere := len(oc.Where.Exprs) > 0
	exprs := make([]clause.Expression, 0, len(oc.Where.Exprs)+1)
	exprs = append(exprs, oc.Where.Exprs...)
	exprs = append(exprs, clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: TenantColumn}, Value: tenant})
	oc.Where = clause.Where{Exprs: exprs}
	c.Expression = oc
	st.Clauses["ON CONFLICT"] = c
	if callerWhere {
		// The caller's own condition may legitimately skip rows, so a
		// short count proves nothing; the tenant condition still holds.
		return
	}
	n := 0
	eachValue(st.ReflectValue, func(reflect.Value) { n++ })
	st.DB.InstanceSet(upsertGuardKey, int64(n))
}

// checkUpsert runs after a guarded upsert: when fewer rows were written
// than given, a conflicting row belonged to another tenant, and the
// statement fails (rolling back GORM's transaction) rather than reporting
// a write that did not happen.
func (p *Plugin) checkUpsert(db *gorm.DB) {
	if db.Error != nil || db.DryRun {
		return
	}
	v, ok := db.InstanceGet(upsertGuardKey)
	if !ok {
		return
	}
	if n, _ := v.(int64); db.RowsAffected < n {
		_ = db.AddError(&ScopeError{Op: OpCreate, Table: db.Statement.Table, Err: ErrForeignTenant})
	}
}

// checkUpdate refuses updates that assign another tenant and keeps
// tenant_id out of every SET clause. It reports whether the statement may
// proceed.
func (p *Plugin) checkUpdate(db *gorm.DB, sc *stmtScope, field *schema.Field, table string) bool {
	st := db.Statement
	// Values being assigned.
	dest := deref(reflect.ValueOf(st.Dest))
	switch dest.Kind() {
	case reflect.Map:
		if id, present, err := tenantOf(db, dest, field); err != nil && err != ErrNoTenantColumn || present && id != sc.tenant {
			p.fail(db, sc, table, ErrForeignTenant)
			return false
		}
	case reflect.Struct:
		f := field
		if st.Schema == nil || dest.Type() != st.Schema.ModelType {
			f = nil
			ds := &gorm.Statement{DB: db}
			if ds.Parse(st.Dest) == nil {
				if lf := ds.Schema.LookUpField(TenantColumn); lf != nil && lf.DBName == TenantColumn {
					f = lf
				}
			}
		}
		if f != nil {
			if id, present, err := tenantOf(db, dest, f); err != nil || present && id != sc.tenant {
				p.fail(db, sc, table, ErrForeignTenant)
				return false
			}
		}
	}
	// An explicit SET clause.
	if c, ok := st.Clauses["SET"]; ok {
		if set, isSet := c.Expression.(clause.Set); isSet {
			for _, a := range set {
				if a.Column.Name != TenantColumn {
					continue
				}
				if s, isString := a.Value.(string); !isString || s != sc.tenant {
					p.fail(db, sc, table, ErrForeignTenant)
					return false
				}
			}
		}
	}
	// The model being saved keeps (or gets) the context's tenant.
	if field != nil {
		rv := deref(st.ReflectValue)
		if rv.Kind() == reflect.Struct && rv.CanAddr() {
			if _, zero := field.ValueOf(st.Context, rv); zero {
				_ = field.Set(st.Context, rv, sc.tenant)
			}
		}
	}
	st.Omits = append(st.Omits[:len(st.Omits):len(st.Omits)], TenantColumn)
	return true
}

// checkWhere preserves GORM's refusal of global updates and deletes: the
// plugin's own tenant condition must not turn "update every row" into
// "update every row of the tenant" silently.
func checkWhere(db *gorm.DB) bool {
	st := db.Statement
	if db.AllowGlobalUpdate {
		return true
	}
	if _, ok := st.Clauses["WHERE"]; ok {
		return true
	}
	if st.Schema != nil {
		if hasPrimaryKey(st, st.ReflectValue) {
			return true
		}
		if st.Model != nil && hasPrimaryKey(st, reflect.ValueOf(st.Model)) {
			return true
		}
	}
	_ = db.AddError(gorm.ErrMissingWhereClause)
	return false
}

func hasPrimaryKey(st *gorm.Statement, v reflect.Value) bool {
	found := false
	eachValue(v, func(e reflect.Value) {
		if found || e.Kind() != reflect.Struct || e.Type() != st.Schema.ModelType {
			return
		}
		for _, f := range st.Schema.PrimaryFields {
			if _, zero := f.ValueOf(st.Context, e); !zero {
				found = true
				return
			}
		}
	})
	return found
}

package tenancy

import (
	"reflect"
	"sort"
	"strings"

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
		// Every key that names the tenant column counts: "tenant_id",
		// "TenantID", but also "TENANT_ID" or `"tenant_id"`, which the
		// database resolves to the same column.
		for _, k := range tenantKeysOf(db.Statement.Schema, m) {
			s, isString := m[k].(string)
			if !isString || present && s != id {
				return "", true, ErrForeignTenant
			}
			id, present = s, true
		}
		return id, present, nil
	}
	return "", false, ErrNoTenantColumn
}

// tenantKeysOf returns the keys of m that name the tenant_id column, in a
// stable order.
func tenantKeysOf(s *schema.Schema, m map[string]interface{}) []string {
	var keys []string
	for k := range m {
		if isTenantColumn(k) {
			keys = append(keys, k)
			continue
		}
		if s != nil {
			if f := s.LookUpField(k); f != nil && isTenantColumn(f.DBName) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// isTenantColumn reports whether name, as a column name in a map key, a
// SET clause or a field's column tag, designates the tenant_id column to
// the database: identifiers are case-insensitive on SQLite (and unquoted
// ones on PostgreSQL), GORM passes quotes through, and a table qualifier
// does not change the column.
func isTenantColumn(name string) bool {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Trim(name, "\"`[] ")
	return strings.EqualFold(name, TenantColumn)
}

// tenantColumnField returns the field of s that maps the tenant column,
// whatever the case or quoting of its column name, or nil.
func tenantColumnField(s *schema.Schema) *schema.Field {
	if s == nil {
		return nil
	}
	if f := s.LookUpField(TenantColumn); f != nil && f.DBName == TenantColumn {
		return f
	}
	for _, f := range s.Fields {
		if f.DBName != "" && isTenantColumn(f.DBName) {
			return f
		}
	}
	return nil
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
//
// It returns ErrForeignTenant when the DO UPDATE assigns tenant_id anything
// but the tenant (or the stamped value being inserted, EXCLUDED.tenant_id):
// that would move the tenant's conflicting row into another tenant.
func guardUpsert(st *gorm.Statement, tenant string) error {
	c, ok := st.Clauses["ON CONFLICT"]
	if !ok {
		return nil
	}
	oc, ok := c.Expression.(clause.OnConflict)
	if !ok || oc.DoNothing {
		return nil
	}
	for _, a := range oc.DoUpdates {
		if !isTenantColumn(a.Column.Name) {
			continue
		}
		switch v := a.Value.(type) {
		case string:
			if v == tenant {
				continue
			}
		case clause.Column:
			if strings.EqualFold(v.Table, "excluded") && isTenantColumn(v.Name) && !v.Raw {
				continue
			}
		}
		return ErrForeignTenant
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
		return nil
	}
	n := 0
	eachValue(st.ReflectValue, func(reflect.Value) { n++ })
	st.DB.InstanceSet(upsertGuardKey, int64(n))
	return nil
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
				f = tenantColumnField(ds.Schema)
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
				if !isTenantColumn(a.Column.Name) {
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
	if field != nil && field.DBName != TenantColumn {
		st.Omits = append(st.Omits, field.DBName)
	}
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

// safeModifiers are the INSERT and UPDATE modifiers that never overwrite
// or delete a row other than the statement's own: they abort, fail, roll
// back or skip on a conflict. OR REPLACE (SQLite) deletes the conflicting
// row, which may be another tenant's, and any other text is raw SQL.
var safeModifiers = map[string]bool{
	"": true, "OR ABORT": true, "OR FAIL": true, "OR IGNORE": true, "OR ROLLBACK": true, "IGNORE": true,
}

// checkModifiers refuses, on a tenant context, INSERT and UPDATE
// modifiers that may replace another tenant's row, and any DELETE
// modifier (raw SQL).
func checkModifiers(st *gorm.Statement, op string) error {
	norm := func(m string) string { return strings.ToUpper(strings.Join(strings.Fields(m), " ")) }
	switch op {
	case OpCreate:
		if ins, ok := st.Clauses["INSERT"].Expression.(clause.Insert); ok && !safeModifiers[norm(ins.Modifier)] {
			return ErrRawSQL
		}
	case OpUpdate:
		if up, ok := st.Clauses["UPDATE"].Expression.(clause.Update); ok && !safeModifiers[norm(up.Modifier)] {
			return ErrRawSQL
		}
	case OpDelete:
		if del, ok := st.Clauses["DELETE"].Expression.(clause.Delete); ok && strings.TrimSpace(del.Modifier) != "" {
			return ErrRawSQL
		}
	}
	return nil
}

// selectTenantColumn makes sure a create writes the tenant column: a
// caller's Omit of it is dropped and a Select without it gets it added,
// so that the column's default (which may name another tenant) never
// applies. It fails when the column still would not be written (a field
// that is not creatable).
func selectTenantColumn(st *gorm.Statement, field *schema.Field) error {
	names := func(n string) bool { return isTenantColumn(n) || field != nil && n == field.Name }
	if len(st.Omits) > 0 {
		omits := make([]string, 0, len(st.Omits))
		for _, o := range st.Omits {
			if !names(o) {
				omits = append(omits, o)
			}
		}
		st.Omits = omits
	}
	if len(st.Selects) > 0 {
		has := false
		for _, s := range st.Selects {
			if s == "*" || names(s) {
				has = true
			}
		}
		if !has {
			col := TenantColumn
			if field != nil {
				col = field.DBName
			}
			st.Selects = append(st.Selects[:len(st.Selects):len(st.Selects)], col)
		}
	}
	col := TenantColumn
	if field != nil {
		col = field.DBName
		if !field.Creatable {
			return ErrNoTenantColumn
		}
	}
	sel, restricted := st.SelectAndOmitColumns(true, false)
	if v, ok := sel[col]; ok && !v || !ok && restricted {
		return ErrNoTenantColumn
	}
	return nil
}

// selectJoinColumns makes sure a create of join rows writes every column
// that names a tenant-owned row, so that no column default applies.
func selectJoinColumns(st *gorm.Statement, info *joinInfo) error {
	sel, restricted := st.SelectAndOmitColumns(true, false)
	for _, s := range info.sides {
		for _, c := range s.joinCols {
			if v, ok := sel[c]; ok && !v || !ok && restricted {
				return ErrForeignTenant
			}
		}
	}
	return nil
}

package tenancy

import (
	"context"
	"reflect"

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
	p.learnJoinTables(s)
	f := embeddedTenantField(s)
	if f == nil {
		p.schemas.Store(s, noField)
		return nil
	}
	p.schemas.Store(s, f)
	p.tables.Store(p.exactName(s.Table).key(), declaredOwned)
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

// knownOwned reports whether table (a name GORM quotes) is the table of
// a model that embeds Model or was declared tenant-owned (WithTables,
// WithModels), without asking the database. A model that does not embed
// Model but names such a table (a read model, a DTO with TableName) is
// scoped on this ground.
func (p *Plugin) knownOwned(table string) bool {
	v, ok := p.tables.Load(p.exactName(table).key())
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

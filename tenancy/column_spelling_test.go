package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// spelledDTO maps the tenant column under another spelling, which SQLite
// (case-insensitive identifiers) resolves to tenant_id.
type spelledDTO struct {
	ID   string
	TID  string `gorm:"column:TENANT_ID"`
	Name string
}

// TestTenantColumnSpellings checks that no spelling of the tenant column —
// other case, quoted, qualified — and no upsert assignment lets tenant A
// move its rows into tenant B or create rows in B. Before the fix, on
// SQLite Table("projects").Updates(map{"TENANT_ID": b}) and a map create
// with "TENANT_ID" wrote into B, on PostgreSQL Update(`"tenant_id"`, b)
// did, and on both an upsert with DoUpdates tenant_id = b did.
func TestTenantColumnSpellings(t *testing.T) {
	t.Parallel()
	for dbName, open := range testenv.Databases(t) {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			db := openWithPlugin(t, open)
			cases := map[string]func(w *world) error{
				"Updates map upper case": func(w *world) error {
					return w.db.WithContext(w.ctxA).Model(&project{ID: w.projA.ID}).Updates(map[string]interface{}{"TENANT_ID": w.b}).Error
				},
				"Table Updates map upper case": func(w *world) error {
					return w.db.WithContext(w.ctxA).Table("projects").Where("id = ?", w.projA.ID).Updates(map[string]interface{}{"TENANT_ID": w.b}).Error
				},
				"Update quoted column": func(w *world) error {
					return w.db.WithContext(w.ctxA).Model(&project{ID: w.projA.ID}).Update(`"tenant_id"`, w.b).Error
				},
				"Update qualified column": func(w *world) error {
					return w.db.WithContext(w.ctxA).Model(&project{ID: w.projA.ID}).Update("projects.tenant_id", w.b).Error
				},
				"SET clause upper case": func(w *world) error {
					return w.db.WithContext(w.ctxA).Model(&project{ID: w.projA.ID}).
						Clauses(clause.Set{{Column: clause.Column{Name: "TENANT_ID"}, Value: w.b}}).
						Updates(map[string]interface{}{"name": "n"}).Error
				},
				"Updates DTO with upper-case column": func(w *world) error {
					return w.db.WithContext(w.ctxA).Table("projects").Where("id = ?", w.projA.ID).Updates(&spelledDTO{TID: w.b, Name: "y"}).Error
				},
				"Create map upper case": func(w *world) error {
					return w.db.WithContext(w.ctxA).Table("projects").Create(map[string]interface{}{"id": uuid.NewString(), "name": "m", "TENANT_ID": w.b}).Error
				},
				"Create map two spellings": func(w *world) error {
					return w.db.WithContext(w.ctxA).Model(&project{}).Create(map[string]interface{}{"id": uuid.NewString(), "tenant_id": w.a, "Tenant_Id": w.b}).Error
				},
				"Upsert assigns tenant": func(w *world) error {
					return w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{
						Columns:   []clause.Column{{Name: "id"}},
						DoUpdates: clause.Assignments(map[string]interface{}{"tenant_id": w.b}),
					}).Create(&project{ID: w.projA.ID, Name: "x"}).Error
				},
				"Upsert assigns tenant by expression": func(w *world) error {
					return w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{
						Columns:   []clause.Column{{Name: "id"}},
						DoUpdates: clause.Set{{Column: clause.Column{Name: "tenant_id"}, Value: gorm.Expr("?", w.b)}},
					}).Create(&project{ID: w.projA.ID, Name: "x"}).Error
				},
			}
			for name, run := range cases {
				t.Run(name, func(t *testing.T) {
					w := newWorld(t, db)
					if err := run(w); !errors.Is(err, tenancy.ErrForeignTenant) {
						t.Errorf("error = %v, want ErrForeignTenant", err)
					}
					if a, b := w.rawCount(t, "projects", w.a), w.rawCount(t, "projects", w.b); a != 1 || b != 1 {
						t.Fatalf("after the attempt tenant A has %d projects and B %d, want 1 and 1", a, b)
					}
					bUntouched(t, w)
				})
			}
			t.Run("legitimate upserts still work", func(t *testing.T) {
				w := newWorld(t, db)
				mustNoErr(t, w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{
					Columns:   []clause.Column{{Name: "id"}},
					DoUpdates: clause.AssignmentColumns([]string{"name", "tenant_id"}),
				}).Create(&project{ID: w.projA.ID, Name: "renamed"}).Error)
				mustNoErr(t, w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{
					Columns:   []clause.Column{{Name: "id"}},
					DoUpdates: clause.Assignments(map[string]interface{}{"name": "again", "tenant_id": w.a}),
				}).Create(&project{ID: w.projA.ID, Name: "x"}).Error)
				mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{ID: w.projA.ID}).Updates(map[string]interface{}{"TENANT_ID": w.a, "name": "same tenant"}).Error)
				var p project
				mustNoErr(t, w.db.WithContext(w.ctxA).First(&p, "id = ?", w.projA.ID).Error)
				if p.Name != "same tenant" || p.TenantID != w.a {
					t.Fatalf("project after upserts: %+v", p)
				}
			})
		})
	}
}

// readFirstModel maps the projects table without embedding tenancy.Model
// and is used before any tenant-owned model of that table.
type readFirstModel struct {
	ID   string
	Name string
}

func (readFirstModel) TableName() string { return "projects" }

// TestReadModelBeforeOwningModel checks that a read model on a tenant
// table is scoped even when it is the first statement the plugin sees on
// that table. Before the fix it read every tenant's rows until a model
// embedding tenancy.Model had been used.
func TestReadModelBeforeOwningModel(t *testing.T) {
	t.Parallel()
	for dbName, open := range testenv.Databases(t) {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			mustNoErr(t, db.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}))
			a, b := uuid.NewString(), uuid.NewString()
			mustNoErr(t, db.Create(&[]project{
				{ID: uuid.NewString(), Model: tenancy.Model{TenantID: a}, Name: "project-A"},
				{ID: uuid.NewString(), Model: tenancy.Model{TenantID: b}, Name: "project-B"},
			}).Error)
			mustNoErr(t, db.Use(tenancy.NewPlugin(tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {}))))

			var rows []readFirstModel
			mustNoErr(t, db.WithContext(tenancy.WithTenant(context.Background(), a)).Find(&rows).Error)
			if len(rows) != 1 || rows[0].Name != "project-A" {
				t.Fatalf("read model rows = %+v, want only tenant A's", rows)
			}
			wantErr(t, db.Find(&rows).Error, tenancy.ErrNoTenant)

			// A platform model without a tenant column on a table without
			// one is left alone.
			var s []setting
			mustNoErr(t, db.AutoMigrate(&setting{}))
			mustNoErr(t, db.Find(&s).Error)
		})
	}
}

package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// legacyNote is a host table that predates tenancy.
type legacyNote struct {
	ID   uint `gorm:"primaryKey"`
	Body string
}

func (legacyNote) TableName() string { return "notes" }

// adoptedNote is the same table after adoption.
type adoptedNote struct {
	ID uint `gorm:"primaryKey"`
	tenancy.Model
	Body string
}

func (adoptedNote) TableName() string { return "notes" }

func TestAddAndRemoveTenantColumn(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, db := newManager(t, open)
			ctx := context.Background()
			if err := db.AutoMigrate(&legacyNote{}); err != nil {
				t.Fatal(err)
			}
			mustNoErr(t, db.Create(&[]legacyNote{{Body: "one"}, {Body: "two"}}).Error)
			def, err := m.CreateTenant(ctx, "Default", "default")
			mustNoErr(t, err)

			wantErr(t, tenancy.AddTenantColumn(ctx, db, "notes", uuid.NewString()), tenancy.ErrNotFound)
			wantErr(t, tenancy.AddTenantColumn(ctx, db, "notes; DROP TABLE users", def.ID), tenancy.ErrInvalid)
			wantErr(t, tenancy.AddTenantColumn(ctx, db, "notes", "x'y"), tenancy.ErrInvalid)

			// Before adoption the table is not tenant-owned.
			var n int64
			mustNoErr(t, db.WithContext(tenancy.WithTenant(ctx, def.ID)).Table("notes").Count(&n).Error)
			if n != 2 {
				t.Fatalf("legacy count = %d", n)
			}

			mustNoErr(t, tenancy.AddTenantColumn(ctx, db, "notes", def.ID))
			if db.Dialector.Name() == "postgres" {
				mustNoErr(t, tenancy.AddTenantColumn(ctx, db, "notes", def.ID)) // idempotent
			} else {
				wantErr(t, tenancy.AddTenantColumn(ctx, db, "notes", def.ID), tenancy.ErrConflict)
			}
			mig := db.Migrator()
			if !mig.HasColumn("notes", "tenant_id") || !mig.HasIndex("notes", tenancy.TenantIndexName("notes")) {
				t.Fatal("column or index missing after adoption")
			}
			// The rows were backfilled and are now scoped.
			var notes []adoptedNote
			mustNoErr(t, db.WithContext(tenancy.WithTenant(ctx, def.ID)).Find(&notes).Error)
			if len(notes) != 2 || notes[0].TenantID != def.ID {
				t.Fatalf("adopted rows = %+v", notes)
			}
			mustNoErr(t, db.WithContext(tenancy.WithTenant(ctx, uuid.NewString())).Table("notes").Count(&n).Error)
			if n != 0 {
				t.Fatalf("another tenant sees %d notes", n)
			}
			// NOT NULL and the foreign key hold.
			err = db.Exec("INSERT INTO notes (body, tenant_id) VALUES ('x', NULL)").Error
			if err == nil {
				t.Fatal("NULL tenant_id accepted")
			}
			err = db.Exec("INSERT INTO notes (body, tenant_id) VALUES ('x', ?)", uuid.NewString()).Error
			if err == nil {
				t.Fatal("unknown tenant accepted")
			}
			other, err := m.CreateTenant(ctx, "Other", "other")
			mustNoErr(t, err)
			mustNoErr(t, db.WithContext(tenancy.WithTenant(ctx, other.ID)).Create(&adoptedNote{Body: "three"}).Error)

			// Down: the column, index and key go; the data stays.
			mustNoErr(t, tenancy.RemoveTenantColumn(ctx, db, "notes"))
			if mig.HasColumn("notes", "tenant_id") || mig.HasIndex("notes", tenancy.TenantIndexName("notes")) {
				t.Fatal("column or index left after the down step")
			}
			var legacy []legacyNote
			mustNoErr(t, db.Order("id").Find(&legacy).Error)
			if len(legacy) != 3 || legacy[2].Body != "three" {
				t.Fatalf("rows after down = %+v", legacy)
			}
			// The plugin forgot the table's ownership.
			mustNoErr(t, db.WithContext(tenancy.WithTenant(ctx, other.ID)).Table("notes").Count(&n).Error)
			if n != 3 {
				t.Fatalf("count after down = %d", n)
			}
			// The tenant row is deletable again: no foreign key remains.
			mustNoErr(t, m.DeleteTenant(ctx, other.ID))
		})
	}
}

func TestMigrationUnsupported(t *testing.T) {
	t.Parallel()
	db := testenv.SQLite(t)
	for _, err := range []error{
		tenancy.EnableRLS(context.Background(), db, &project{}),
		tenancy.DisableRLS(context.Background(), db, "projects"),
		db.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity())),
	} {
		if !errors.Is(err, tenancy.ErrUnsupportedDialect) {
			t.Errorf("error = %v, want ErrUnsupportedDialect", err)
		}
	}
	_ = gorm.ErrRecordNotFound
}

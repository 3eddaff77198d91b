package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/tenancy"
)

// Note is a tenant-owned model: it embeds tenancy.Model.
type Note struct {
	ID uint `gorm:"primaryKey"`
	tenancy.Model
	Text string
}

// Example scopes GORM to a tenant: each tenant sees only its own notes,
// creates are stamped with the context's tenant, and work without a
// tenant fails closed.
func Example() {
	dir, _ := os.MkdirTemp("", "tenancy-example")
	defer os.RemoveAll(dir)
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = db.AutoMigrate(&Note{})
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		fmt.Println(err)
		return
	}

	acme := tenancy.WithTenant(context.Background(), "acme")
	globex := tenancy.WithTenant(context.Background(), "globex")
	db.WithContext(acme).Create(&Note{Text: "acme's plan"})
	db.WithContext(globex).Create(&Note{Text: "globex's plan"})

	var notes []Note
	db.WithContext(acme).Find(&notes)
	for _, n := range notes {
		fmt.Printf("%s: %s\n", n.TenantID, n.Text)
	}

	// Forgetting the tenant is an error, not a leak.
	err = db.WithContext(context.Background()).Find(&notes).Error
	fmt.Println(errors.Is(err, tenancy.ErrNoTenant))

	// So is writing into another tenant.
	err = db.WithContext(acme).Create(&Note{Model: tenancy.Model{TenantID: "globex"}, Text: "x"}).Error
	fmt.Println(errors.Is(err, tenancy.ErrForeignTenant))
	// Output:
	// acme: acme's plan
	// true
	// true
}

// ExampleCrossTenant shows the explicit path for platform work that spans
// tenants; every statement on it is reported to the audit function.
func ExampleCrossTenant() {
	dir, _ := os.MkdirTemp("", "tenancy-example")
	defer os.RemoveAll(dir)
	db, _ := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	_ = db.AutoMigrate(&Note{})
	_ = db.Use(tenancy.NewPlugin(tenancy.WithAudit(func(_ context.Context, e tenancy.AuditEvent) {
		fmt.Printf("audit: %s on %s because %q\n", e.Op, e.Table, e.Reason)
	})))
	db.WithContext(tenancy.WithTenant(context.Background(), "acme")).Create(&Note{Text: "a"})
	db.WithContext(tenancy.WithTenant(context.Background(), "globex")).Create(&Note{Text: "b"})

	ctx := tenancy.CrossTenant(context.Background(), "usage report")
	var n int64
	db.WithContext(ctx).Model(&Note{}).Count(&n)
	fmt.Println(n, "notes in all tenants")
	// Output:
	// audit: query on notes because "usage report"
	// 2 notes in all tenants
}

// ExampleAllowRawSQL shows the explicit opt-in raw SQL needs on a tenant
// context; the caller filters by tenant itself.
func ExampleAllowRawSQL() {
	dir, _ := os.MkdirTemp("", "tenancy-example")
	defer os.RemoveAll(dir)
	db, _ := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	_ = db.AutoMigrate(&Note{})
	_ = db.Use(tenancy.NewPlugin())
	ctx := tenancy.WithTenant(context.Background(), "acme")
	db.WithContext(ctx).Create(&Note{Text: "a"})

	var n int64
	err := db.WithContext(ctx).Raw("SELECT count(*) FROM notes").Scan(&n).Error
	fmt.Println(errors.Is(err, tenancy.ErrRawSQL))

	err = db.WithContext(tenancy.AllowRawSQL(ctx)).Raw("SELECT count(*) FROM notes WHERE tenant_id = ?", "acme").Scan(&n).Error
	fmt.Println(n, err)
	// Output:
	// true
	// 1 <nil>
}

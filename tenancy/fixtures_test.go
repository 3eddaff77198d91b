package tenancy_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// Test models: a small tenant-owned graph with every relationship kind.
type owner struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
	Name      string
	CompanyID *string `gorm:"type:varchar(36)"`
	Company   *company
}

type company struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
	Name string
}

type project struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
	Name      string
	Score     int
	OwnerID   *string `gorm:"type:varchar(36)"`
	Owner     *owner
	Tasks     []task `gorm:"foreignKey:ProjectID"`
	Tags      []tag  `gorm:"many2many:project_tags"`
	CreatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

type task struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
	ProjectID string `gorm:"type:varchar(36);index"`
	Title     string
}

type tag struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
	Label string
}

// gadget is tenant-owned; its table (created by createGadgets, not
// AutoMigrate) gives tenant_id a column default naming a victim tenant, so
// an insert that leaves the column out lands in that tenant.
type gadget struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
	Name string
}

// victimTenant is the default of gadgets.tenant_id.
const victimTenant = "tenant-victim"

func createGadgets(t testing.TB, db *gorm.DB) {
	t.Helper()
	if err := db.Exec("CREATE TABLE gadgets (id varchar(36) PRIMARY KEY, tenant_id varchar(64) NOT NULL DEFAULT '" + victimTenant + "', name varchar(100))").Error; err != nil {
		t.Fatalf("create gadgets: %v", err)
	}
}

// setting is a platform table: not tenant-owned.
type setting struct {
	Key   string `gorm:"primaryKey"`
	Value string
}

// bookmark is a platform row that refers to a tenant-owned one.
type bookmark struct {
	ID        uint    `gorm:"primaryKey"`
	ProjectID *string `gorm:"type:varchar(36)"`
	Project   *project
}

// summary is a DTO over the projects table.
type summary struct {
	ID    string
	Name  string
	Score int
}

// world is two tenants' data in one database, behind the plugin.
type world struct {
	db    *gorm.DB
	a, b  string // the two tenants' ids
	ctxA  context.Context
	ctxB  context.Context
	projA project // A's project, with owner, tasks and tags
	projB project // B's project, with owner, tasks and tags
}

// openWithPlugin opens a database, creates the test tables and installs
// the plugin.
func openWithPlugin(t testing.TB, open func(testing.TB) *gorm.DB, opts ...tenancy.Option) *gorm.DB {
	t.Helper()
	db := open(t)
	if err := db.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}, &setting{}, &bookmark{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	createGadgets(t, db)
	// Silence the default audit log; a test's own WithAudit comes later
	// and wins.
	opts = append([]tenancy.Option{tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {})}, opts...)
	if err := db.Use(tenancy.NewPlugin(opts...)); err != nil {
		t.Fatalf("use plugin: %v", err)
	}
	return db
}

// newWorld seeds two fresh tenants' data into db.
func newWorld(t testing.TB, db *gorm.DB) *world {
	t.Helper()
	w := &world{db: db, a: uuid.NewString(), b: uuid.NewString()}
	w.ctxA = tenancy.WithTenant(context.Background(), w.a)
	w.ctxB = tenancy.WithTenant(context.Background(), w.b)
	w.projA = seed(t, db.WithContext(w.ctxA), "A")
	w.projB = seed(t, db.WithContext(w.ctxB), "B")
	return w
}

func seed(t testing.TB, db *gorm.DB, label string) project {
	t.Helper()
	o := owner{ID: uuid.NewString(), Name: "owner-" + label, Company: &company{ID: uuid.NewString(), Name: "company-" + label}}
	p := project{
		ID: uuid.NewString(), Name: "project-" + label, Score: 7, Owner: &o,
		Tasks: []task{{ID: uuid.NewString(), Title: "task1-" + label}, {ID: uuid.NewString(), Title: "task2-" + label}},
		Tags:  []tag{{ID: uuid.NewString(), Label: "tag-" + label}},
	}
	if err := db.Create(&p).Error; err != nil {
		t.Fatalf("seed %s: %v", label, err)
	}
	return p
}

// rawCount counts rows of table by tenant, bypassing the plugin's scoping
// through a cross-tenant context.
func (w *world) rawCount(t testing.TB, table, tenant string) int64 {
	t.Helper()
	var n int64
	ctx := tenancy.CrossTenant(context.Background(), "test inspection")
	if err := w.db.WithContext(ctx).Table(table).Where("tenant_id = ?", tenant).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func hasPostgres() bool { return os.Getenv(testenv.EnvPostgresURL) != "" }

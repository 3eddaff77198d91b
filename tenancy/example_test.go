package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/auth"
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

// ExampleManager creates a tenant, a user and a membership, and checks a
// quota.
func ExampleManager() {
	dir, _ := os.MkdirTemp("", "tenancy-example")
	defer os.RemoveAll(dir)
	db, _ := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard})
	_ = db.Use(tenancy.NewPlugin())
	ctx := context.Background()

	if err := tenancy.Migrate(ctx, db); err != nil {
		fmt.Println(err)
		return
	}
	m, err := tenancy.NewManager(db)
	if err != nil {
		fmt.Println(err)
		return
	}
	acme, _ := m.CreateTenant(ctx, "Acme Inc.", "acme")
	// The hash comes from auth.PasswordHasher; it is never serialised.
	ada, _ := m.CreateUser(ctx, tenancy.NewUser{Username: "ada", PasswordHash: "$argon2id$v=19$..."})
	_, _ = m.AddMember(ctx, acme.ID, ada.ID, auth.RoleAdmin)
	_ = m.SetQuota(ctx, acme.ID, tenancy.Quota{Users: 1})

	tenants, _ := m.UserTenants(ctx, ada.ID)
	fmt.Println(tenants[0].Tenant.Slug, tenants[0].Role)
	err = m.CheckQuota(ctx, acme.ID, tenancy.ResourceUsers, 1)
	fmt.Println(errors.Is(err, tenancy.ErrQuotaExceeded))
	_, err = m.CreateTenant(ctx, "Acme again", "acme")
	fmt.Println(errors.Is(err, tenancy.ErrConflict))
	// Output:
	// acme admin
	// true
	// true
}

// ExampleMiddleware puts the authenticated principal's tenant into the
// request context; requests without a principal are refused.
func ExampleMiddleware() {
	h := tenancy.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := tenancy.TenantFrom(r.Context())
		fmt.Fprint(w, "tenant ", id)
	}))

	r := httptest.NewRequest(http.MethodGet, "/api/v1/projects", nil)
	r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{UserID: "u1", TenantID: "acme", Role: auth.RoleMember}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/projects", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 tenant acme
	// 401 Bearer
}

// ExampleSetupRLS shows the PostgreSQL set-up: migrations and policies as
// the tables' owner, then the application connects as a role that cannot
// bypass them, with the plugin setting the tenant in every transaction.
func ExampleSetupRLS() {
	ctx := context.Background()
	ownerDSN, appDSN := os.Getenv("OWNER_DSN"), os.Getenv("APP_DSN")
	if ownerDSN == "" || appDSN == "" {
		return // needs PostgreSQL
	}
	owner, err := gorm.Open(postgres.Open(ownerDSN), &gorm.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = owner.AutoMigrate(&Note{})
	if err := tenancy.SetupRLS(ctx, owner, tenancy.RLSConfig{Models: []any{&Note{}}}); err != nil {
		fmt.Println(err)
		return
	}
	// (GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO the application role.)

	app, err := gorm.Open(postgres.Open(appDSN), &gorm.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := tenancy.CheckRole(ctx, app); err != nil {
		fmt.Println("refusing to start:", err) // superuser, BYPASSRLS or table owner
		return
	}
	_ = app.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity()))
	var notes []Note
	app.WithContext(tenancy.WithTenant(ctx, "acme")).Find(&notes)
}

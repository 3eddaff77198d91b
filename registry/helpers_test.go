package registry

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// env is a migrated database with the tenancy plugin, a Registry with a
// file blob store, and contexts of two tenants.
type env struct {
	db   *gorm.DB
	reg  *Registry
	a, b context.Context
}

const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
)

func newEnv(t testing.TB, open func(testing.TB) *gorm.DB, opts ...Option) *env {
	t.Helper()
	return newEnvPlugin(t, open, tenancy.NewPlugin(), opts...)
}

func newEnvPlugin(t testing.TB, open func(testing.TB) *gorm.DB, plugin *tenancy.Plugin, opts ...Option) *env {
	t.Helper()
	db := open(t)
	if err := db.Use(plugin); err != nil {
		t.Fatalf("install tenancy plugin: %v", err)
	}
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	blobs, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := New(db, append([]Option{WithBlobStore(blobs)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, reg: reg,
		a: tenancy.WithTenant(context.Background(), tenantA),
		b: tenancy.WithTenant(context.Background(), tenantB)}
}

// forEachDB runs fn as a subtest on SQLite and, when available, on
// PostgreSQL.
func forEachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, open))
		})
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func newProject(t testing.TB, e *env, ctx context.Context, name string) *Project {
	t.Helper()
	return must[*Project](t)(e.reg.CreateProject(ctx, ProjectInput{
		Name: name, ProblemClass: Classification, ComplexityScore: 5, TeamSize: 4,
	}))
}

func ptr[T any](v T) *T { return &v }

// countRows counts a tenant-owned table's rows of the context's tenant.
func countRows(t testing.TB, e *env, ctx context.Context, model any) int64 {
	t.Helper()
	var n int64
	if err := e.db.WithContext(ctx).Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func sqliteOpen(tb testing.TB) *gorm.DB { return testenv.SQLite(tb) }

func tenantCtx(id string) context.Context { return tenancy.WithTenant(context.Background(), id) }

func testenvDatabases(t *testing.T) map[string]func(testing.TB) *gorm.DB { return testenv.Databases(t) }

// items returns a page's items, for tests that read one page.
func items[T any](p Page[T], err error) ([]T, error) { return p.Items, err }

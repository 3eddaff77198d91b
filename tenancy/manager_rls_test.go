package tenancy_test

import (
	"context"
	"testing"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestManagerUnderRLS runs the Manager as a non-superuser application
// role with row-level security on and the plugin setting the tenant:
// usage counting and tenant deletion must work through the policies, and
// deletion must reach exactly one tenant's rows.
func TestManagerUnderRLS(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	ownerDB := testenv.OpenPostgres(t, dbURL)
	ctx := context.Background()
	models := []any{&company{}, &owner{}, &project{}, &task{}, &tag{}}
	mustNoErr(t, tenancy.Migrate(ctx, ownerDB))
	mustNoErr(t, ownerDB.AutoMigrate(models...))
	mustNoErr(t, tenancy.EnableRLS(ctx, ownerDB, models...))
	role, appURL := testenv.PostgresAppRole(t, dbURL)
	for _, g := range []string{
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
	} {
		mustNoErr(t, ownerDB.Exec(g).Error)
	}

	app := testenv.OpenPostgres(t, appURL)
	mustNoErr(t, app.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity(), tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {}))))
	mustNoErr(t, tenancy.CheckRole(ctx, app))
	m, err := tenancy.NewManager(app,
		tenancy.WithTenantModels(models...),
		tenancy.WithCounter(tenancy.ResourceProjects, tenancy.CountRows(&project{})),
		tenancy.WithCounter(tenancy.ResourceStorageBytes, tenancy.SumColumn(&project{}, "score")))
	mustNoErr(t, err)

	t1, err := m.CreateTenant(ctx, "One", "one")
	mustNoErr(t, err)
	t2, err := m.CreateTenant(ctx, "Two", "two")
	mustNoErr(t, err)
	u, err := m.CreateUser(ctx, tenancy.NewUser{Username: "u", PasswordHash: "h"})
	mustNoErr(t, err)
	_, err = m.AddMember(ctx, t1.ID, u.ID, auth.RoleAdmin)
	mustNoErr(t, err)
	c1 := tenancy.WithTenant(ctx, t1.ID)
	c2 := tenancy.WithTenant(ctx, t2.ID)
	seed(t, app.WithContext(c1), "1")
	seed(t, app.WithContext(c2), "2")

	mustNoErr(t, m.SetQuota(ctx, t1.ID, tenancy.Quota{Projects: 1, StorageBytes: 100}))
	wantErr(t, m.CheckQuota(ctx, t1.ID, tenancy.ResourceProjects, 1), tenancy.ErrQuotaExceeded)
	used, err := m.Usage(ctx, t1.ID, tenancy.ResourceStorageBytes)
	mustNoErr(t, err)
	if used != 7 {
		t.Fatalf("storage usage under RLS = %d, want 7", used)
	}
	// The request context of another tenant does not change what is
	// counted.
	n, err := m.Usage(c2, t1.ID, tenancy.ResourceProjects)
	mustNoErr(t, err)
	if n != 1 {
		t.Fatalf("project usage = %d", n)
	}

	mustNoErr(t, m.DeleteTenant(ctx, t1.ID))
	for _, model := range models {
		var left, other int64
		mustNoErr(t, ownerDB.Model(model).Where("tenant_id = ?", t1.ID).Count(&left).Error)
		mustNoErr(t, ownerDB.Model(model).Where("tenant_id = ?", t2.ID).Count(&other).Error)
		if left != 0 || other == 0 {
			t.Fatalf("%T: %d rows of the deleted tenant left, %d of the other", model, left, other)
		}
	}
	var joins int64
	mustNoErr(t, ownerDB.Table("project_tags").Count(&joins).Error)
	if joins != 1 {
		t.Fatalf("project_tags rows = %d, want the other tenant's 1", joins)
	}
}

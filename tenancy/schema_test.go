package tenancy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

func TestSchemaMigrations(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openWithPlugin(t, open)
			v, err := tenancy.CurrentSchemaVersion(ctx, db)
			if err != nil || v != 0 {
				t.Fatalf("fresh database: version %d, %v; want 0", v, err)
			}
			mustNoErr(t, tenancy.Migrate(ctx, db))
			mustNoErr(t, tenancy.Migrate(ctx, db)) // idempotent
			if v, err := tenancy.CurrentSchemaVersion(ctx, db); err != nil || v != tenancy.SchemaVersion {
				t.Fatalf("after Migrate: version %d, %v; want %d", v, err, tenancy.SchemaVersion)
			}
			for _, tbl := range []string{"tenants", "users", "memberships", "tenant_quotas"} {
				if !db.Migrator().HasTable(tbl) {
					t.Fatalf("table %s missing", tbl)
				}
			}
			for tbl, ix := range map[string]string{"tenants": "idx_tenants_slug", "users": "idx_users_username", "memberships": "idx_memberships_tenant_id"} {
				if !db.Migrator().HasIndex(tbl, ix) {
					t.Fatalf("index %s on %s missing", ix, tbl)
				}
			}
			// The schema works for the Manager, including the cascades.
			m, err := tenancy.NewManager(db)
			mustNoErr(t, err)
			ten, err := m.CreateTenant(ctx, "Acme", "acme")
			mustNoErr(t, err)
			_, err = m.CreateTenant(ctx, "Acme again", "acme")
			wantErr(t, err, tenancy.ErrConflict)
			u, err := m.CreateUser(ctx, tenancy.NewUser{Username: "ada", PasswordHash: "h"})
			mustNoErr(t, err)
			_, err = m.AddMember(ctx, ten.ID, u.ID, auth.RoleAdmin)
			mustNoErr(t, err)
			mustNoErr(t, m.SetQuota(ctx, ten.ID, tenancy.Quota{Users: 3}))
			mustNoErr(t, m.DeleteTenant(ctx, ten.ID))

			mustNoErr(t, tenancy.MigrateDown(ctx, db, 0))
			if v, err := tenancy.CurrentSchemaVersion(ctx, db); err != nil || v != 0 {
				t.Fatalf("after MigrateDown(0): version %d, %v; want 0", v, err)
			}
			for _, tbl := range []string{"tenants", "users", "memberships", "tenant_quotas"} {
				if db.Migrator().HasTable(tbl) {
					t.Fatalf("table %s still there after MigrateDown(0)", tbl)
				}
			}
			if err := tenancy.MigrateDown(ctx, db, 7); err == nil {
				t.Fatal("MigrateDown to an unknown version succeeded")
			}
		})
	}
}

// A database whose tables GORM's AutoMigrate created (releases before the
// versioned migrations) is adopted: Migrate records version 1 and keeps
// the rows.
func TestSchemaMigrationsAdoptAutoMigrated(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			mustNoErr(t, db.AutoMigrate(&tenancy.Tenant{}, &tenancy.User{}, &tenancy.Membership{}, &tenancy.Quota{}))
			mustNoErr(t, db.Use(tenancy.NewPlugin(tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {}))))
			m, err := tenancy.NewManager(db)
			mustNoErr(t, err)
			ten, err := m.CreateTenant(ctx, "Old", "old")
			mustNoErr(t, err)

			mustNoErr(t, tenancy.Migrate(ctx, db))
			if v, err := tenancy.CurrentSchemaVersion(ctx, db); err != nil || v != tenancy.SchemaVersion {
				t.Fatalf("after adoption: version %d, %v", v, err)
			}
			if got, err := m.Tenant(ctx, ten.ID); err != nil || got.Slug != "old" {
				t.Fatalf("tenant after adoption: %+v, %v", got, err)
			}
			_, err = m.CreateTenant(ctx, "Old again", "old")
			wantErr(t, err, tenancy.ErrConflict)
		})
	}
}

func TestNewManagerRefusesInvalidOptions(t *testing.T) {
	t.Parallel()
	db := openWithPlugin(t, testenv.SQLite)
	count := tenancy.CountRows(&project{})
	cases := map[string][]tenancy.ManagerOption{
		"nil option":        {nil},
		"nil model":         {tenancy.WithTenantModels(nil)},
		"platform model":    {tenancy.WithTenantModels(&setting{})},
		"unparsable model":  {tenancy.WithTenantModels(42)},
		"nil hook":          {tenancy.WithDeleteHook(nil)},
		"nil counter":       {tenancy.WithCounter(tenancy.ResourceProjects, nil)},
		"unknown resource":  {tenancy.WithCounter(tenancy.Resource("gpus"), count)},
		"empty resource":    {tenancy.WithCounter("", count)},
		"valid then broken": {tenancy.WithTenantModels(&project{}), tenancy.WithDeleteHook(nil)},
	}
	for name, opts := range cases {
		if m, err := tenancy.NewManager(db, opts...); m != nil || !isInvalid(err) {
			t.Errorf("%s: NewManager = %v, %v; want ErrInvalid", name, m, err)
		}
	}
	if _, err := tenancy.NewManager(nil); !isInvalid(err) {
		t.Errorf("nil db: %v, want ErrInvalid", err)
	}
	m, err := tenancy.NewManager(db, tenancy.WithTenantModels(&project{}), tenancy.WithCounter(tenancy.ResourceProjects, count),
		tenancy.WithDeleteHook(func(context.Context, string) error { return nil }))
	if err != nil || m == nil {
		t.Fatalf("valid options: %v", err)
	}
	if err := m.RegisterModels(nil); !isInvalid(err) {
		t.Errorf("RegisterModels(nil): %v, want ErrInvalid", err)
	}
}

func isInvalid(err error) bool {
	return err != nil && errors.Is(err, tenancy.ErrInvalid)
}

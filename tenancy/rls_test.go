package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// rlsWorld is a PostgreSQL database whose tenant-owned tables are owned
// by the administrative role and protected by row-level security, with
// two tenants' data, and a non-superuser application role.
type rlsWorld struct {
	ownerDB *gorm.DB // the tables' owner (a superuser in tests)
	dbURL   string
	appRole string
	appURL  string
	a, b    string
	projA   project
	projB   project
}

func newRLSWorld(t *testing.T, cross bool) *rlsWorld {
	t.Helper()
	dbURL := testenv.PostgresURL(t)
	odb := testenv.OpenPostgres(t, dbURL)
	if err := odb.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}, &setting{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	w := &rlsWorld{ownerDB: odb, dbURL: dbURL, a: uuid.NewString(), b: uuid.NewString()}
	// Seed through a plugin-scoped session of the owner before RLS is on.
	seedDB := testenv.OpenPostgres(t, dbURL)
	if err := seedDB.Use(tenancy.NewPlugin()); err != nil {
		t.Fatal(err)
	}
	w.projA = seed(t, seedDB.WithContext(tenancy.WithTenant(context.Background(), w.a)), "A")
	w.projB = seed(t, seedDB.WithContext(tenancy.WithTenant(context.Background(), w.b)), "B")
	cfg := tenancy.RLSConfig{Models: []any{&company{}, &owner{}, &project{}, &task{}, &tag{}}, AllowCrossTenant: cross}
	if err := tenancy.SetupRLS(context.Background(), odb, cfg); err != nil {
		t.Fatalf("SetupRLS: %v", err)
	}
	w.appRole, w.appURL = testenv.PostgresAppRole(t, dbURL)
	for _, g := range []string{
		"GRANT USAGE ON SCHEMA public TO " + w.appRole,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + w.appRole,
	} {
		if err := odb.Exec(g).Error; err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	return w
}

// inTenant runs fn in a transaction of the application role (without the
// plugin) with maestro.tenant_id set to tenant ("" leaves it unset).
func inTenant(t *testing.T, app *gorm.DB, tenant string, fn func(tx *gorm.DB) error) error {
	t.Helper()
	return app.Transaction(func(tx *gorm.DB) error {
		if tenant != "" {
			if err := tx.Exec("SELECT set_config('maestro.tenant_id', ?, true)", tenant).Error; err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// TestRLSPermissivePolicyCannotWiden checks that a permissive policy added
// to a protected table later does not widen it: before the restrictive
// guard policy, "USING (true)" made every tenant's rows visible to the
// application role.
func TestRLSPermissivePolicyCannotWiden(t *testing.T) {
	t.Parallel()
	w := newRLSWorld(t, false)
	if err := w.ownerDB.Exec("CREATE POLICY open_all ON projects USING (true) WITH CHECK (true)").Error; err != nil {
		t.Fatal(err)
	}
	app := testenv.OpenPostgres(t, w.appURL)
	for tenant, want := range map[string]int{w.a: 1, "": 0} {
		err := inTenant(t, app, tenant, func(tx *gorm.DB) error {
			var ps []project
			if err := tx.Find(&ps).Error; err != nil {
				return err
			}
			if len(ps) != want || want == 1 && ps[0].TenantID != w.a {
				return fmt.Errorf("tenant %q saw %d projects %+v, want %d", tenant, len(ps), ps, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Nor may a write move a row to B (the WITH CHECK fails, which
		// aborts the transaction).
		_ = inTenant(t, app, tenant, func(tx *gorm.DB) error {
			return tx.Model(&project{}).Where("id = ?", w.projA.ID).Update("tenant_id", w.b).Error
		})
		var p project
		if err := w.ownerDB.First(&p, "id = ?", w.projA.ID).Error; err != nil || p.TenantID != w.a {
			t.Fatalf("tenant %q moved A's project: %+v, %v", tenant, p, err)
		}
	}
	if err := tenancy.DisableRLS(context.Background(), w.ownerDB, &project{}); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := w.ownerDB.Raw("SELECT count(*) FROM pg_policies WHERE tablename = 'projects' AND policyname IN (?, ?)", tenancy.PolicyName, tenancy.GuardPolicyName).Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("policies left after DisableRLS: %d, %v", n, err)
	}
}

// TestRLSAloneIsolatesTenants proves the second wall: with the plugin
// deliberately NOT installed, a non-superuser application role sees none
// of the other tenant's rows and cannot write into them.
func TestRLSAloneIsolatesTenants(t *testing.T) {
	t.Parallel()
	w := newRLSWorld(t, false)
	app := testenv.OpenPostgres(t, w.appURL)
	if err := tenancy.CheckRole(context.Background(), app); err != nil {
		t.Fatalf("the application role should pass CheckRole: %v", err)
	}

	cases := []struct {
		name string
		run  func(tx *gorm.DB) error
	}{
		{"select sees only own rows", func(tx *gorm.DB) error {
			var ps []project
			if err := tx.Find(&ps).Error; err != nil {
				return err
			}
			if len(ps) != 1 || ps[0].TenantID != w.a {
				return fmt.Errorf("saw %+v", ps)
			}
			var n int64
			if err := tx.Model(&task{}).Count(&n).Error; err != nil || n != 2 {
				return fmt.Errorf("tasks = %d, %v", n, err)
			}
			return nil
		}},
		{"by id finds nothing of B", func(tx *gorm.DB) error {
			var p project
			err := tx.First(&p, "id = ?", w.projB.ID).Error
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("got %v, %+v", err, p)
			}
			return nil
		}},
		{"update of B's rows affects none", func(tx *gorm.DB) error {
			res := tx.Exec("UPDATE projects SET name = 'x' WHERE id = ?", w.projB.ID)
			if res.Error != nil || res.RowsAffected != 0 {
				return fmt.Errorf("rows %d, %v", res.RowsAffected, res.Error)
			}
			return nil
		}},
		{"delete of B's rows affects none", func(tx *gorm.DB) error {
			res := tx.Exec("DELETE FROM tasks")
			if res.Error != nil || res.RowsAffected != 2 {
				return fmt.Errorf("rows %d, %v", res.RowsAffected, res.Error)
			}
			return errRollback
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := inTenant(t, app, w.a, tc.run)
			if err != nil && !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
		})
	}

	refused := []struct {
		name string
		sql  string
		args []any
	}{
		{"insert into B", "INSERT INTO projects (id, tenant_id, name, score) VALUES (?, ?, 'evil', 1)", []any{uuid.NewString(), w.b}},
		{"move own row to B", "UPDATE projects SET tenant_id = ? WHERE id = ?", []any{w.b, w.projA.ID}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := inTenant(t, app, w.a, func(tx *gorm.DB) error { return tx.Exec(tc.sql, tc.args...).Error })
			if err == nil {
				t.Fatal("write into another tenant was allowed")
			}
		})
	}

	// No setting, an empty setting, and a setting outside a transaction
	// all see nothing and write nothing.
	t.Run("no tenant set", func(t *testing.T) {
		var n int64
		if err := app.Model(&project{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("count without tenant = %d, %v", n, err)
		}
		err := inTenant(t, app, "", func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT set_config('maestro.tenant_id', '', true)").Error; err != nil {
				return err
			}
			if err := tx.Model(&project{}).Count(&n).Error; err != nil || n != 0 {
				return fmt.Errorf("count with empty tenant = %d, %v", n, err)
			}
			return tx.Exec("INSERT INTO projects (id, tenant_id, name, score) VALUES (?, '', 'x', 1)", uuid.NewString()).Error
		})
		if err == nil {
			t.Fatal("insert with an empty tenant was allowed")
		}
		// A session-level setting made outside a transaction by a
		// careless caller lasts only for its own statement.
		if err := app.Exec("SELECT set_config('maestro.tenant_id', ?, true)", w.a).Error; err != nil {
			t.Fatal(err)
		}
		if err := app.Model(&project{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("count after a local setting outside a transaction = %d, %v", n, err)
		}
	})

	t.Run("cross-tenant flag ignored by default", func(t *testing.T) {
		var n int64
		err := app.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT set_config('maestro.cross_tenant', 'on', true)").Error; err != nil {
				return err
			}
			return tx.Model(&project{}).Count(&n).Error
		})
		if err != nil || n != 0 {
			t.Fatalf("count with cross flag = %d, %v", n, err)
		}
	})

	// B's data is intact, as the owner sees it.
	var p project
	if err := w.ownerDB.First(&p, "id = ?", w.projB.ID).Error; err != nil || p.Name != "project-B" || p.TenantID != w.b {
		t.Fatalf("B's project: %+v, %v", p, err)
	}
}

var errRollback = errors.New("rollback")

// TestRLSWithPlugin runs the plugin with WithRowLevelSecurity as the
// application role: statements outside transactions are wrapped, Row and
// Scan need a transaction, and the cross-tenant flag works only when the
// policy honours it.
func TestRLSWithPlugin(t *testing.T) {
	t.Parallel()
	for _, cross := range []bool{false, true} {
		t.Run(fmt.Sprintf("cross=%v", cross), func(t *testing.T) {
			t.Parallel()
			w := newRLSWorld(t, cross)
			app := testenv.OpenPostgres(t, w.appURL)
			if err := app.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity(), tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {}))); err != nil {
				t.Fatal(err)
			}
			ctxA := tenancy.WithTenant(context.Background(), w.a)
			var ps []project
			if err := app.WithContext(ctxA).Preload("Tasks").Find(&ps).Error; err != nil || len(ps) != 1 || len(ps[0].Tasks) != 2 {
				t.Fatalf("find = %+v, %v", ps, err)
			}
			p := project{ID: uuid.NewString(), Name: "rls-new"}
			if err := app.WithContext(ctxA).Create(&p).Error; err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := app.WithContext(ctxA).Model(&p).Update("score", 5).Error; err != nil {
				t.Fatalf("update: %v", err)
			}
			var out []summary
			err := app.WithContext(ctxA).Model(&project{}).Scan(&out).Error
			if !errors.Is(err, tenancy.ErrTransactionRequired) {
				t.Fatalf("scan outside a transaction: %v", err)
			}
			err = app.WithContext(ctxA).Transaction(func(tx *gorm.DB) error {
				return tx.Model(&project{}).Order("name").Scan(&out).Error
			})
			if err != nil || len(out) != 2 {
				t.Fatalf("scan in a transaction = %+v, %v", out, err)
			}
			// Raw SQL opted in still runs under the policy.
			var n int64
			if err := app.WithContext(tenancy.AllowRawSQL(ctxA)).Raw("SELECT count(*) FROM projects").Find(&n).Error; err != nil || n != 2 {
				t.Fatalf("raw count = %d, %v", n, err)
			}
			if err := app.WithContext(ctxA).Delete(&p).Error; err != nil {
				t.Fatalf("delete: %v", err)
			}
			xctx := tenancy.CrossTenant(context.Background(), "test")
			if err := app.WithContext(xctx).Model(&project{}).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			if cross {
				want = 2
			}
			if n != want {
				t.Fatalf("cross-tenant count = %d, want %d", n, want)
			}
		})
	}
}

func TestCheckRole(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	owner := testenv.OpenPostgres(t, dbURL)
	if err := owner.AutoMigrate(&project{}); err != nil {
		t.Fatal(err)
	}
	var re *tenancy.RoleError
	err := tenancy.CheckRole(context.Background(), owner)
	if !errors.Is(err, tenancy.ErrUnsafeRole) || !errors.As(err, &re) || !re.Superuser {
		t.Fatalf("superuser: %v", err)
	}
	role, appURL := testenv.PostgresAppRole(t, dbURL)
	if err := owner.Exec("ALTER TABLE projects OWNER TO " + role).Error; err != nil {
		t.Fatal(err)
	}
	err = tenancy.CheckRole(context.Background(), testenv.OpenPostgres(t, appURL))
	if !errors.As(err, &re) || re.Superuser || len(re.OwnedTables) != 1 || re.OwnedTables[0] != "public.projects" {
		t.Fatalf("owner: %v", err)
	}
	// Membership in a predefined role that reaches the server's files or
	// programs is a way around the policies too (before the fix CheckRole
	// accepted it).
	other, otherURL := testenv.PostgresAppRole(t, dbURL)
	if err := owner.Exec("GRANT pg_read_server_files TO " + other).Error; err != nil {
		t.Fatal(err)
	}
	err = tenancy.CheckRole(context.Background(), testenv.OpenPostgres(t, otherURL))
	if !errors.As(err, &re) || len(re.MemberOf) != 1 || re.MemberOf[0] != "pg_read_server_files" || len(re.OwnedTables) != 0 {
		t.Fatalf("member of pg_read_server_files: %v", err)
	}
	if err := tenancy.CheckRole(context.Background(), testenv.SQLite(t)); !errors.Is(err, tenancy.ErrUnsupportedDialect) {
		t.Fatalf("sqlite: %v", err)
	}
}

// openRLSApp returns a connection as a non-superuser application role to
// a fresh database whose test tables are protected by row-level security
// (with the cross-tenant flag honoured), with the plugin installed and
// setting the tenant.
func openRLSApp(tb testing.TB) *gorm.DB { return openApp(tb, true) }

// openApp returns a connection as a non-superuser application role that
// owns nothing, to a fresh database with the test tables, with the plugin
// installed; with rls, the tenant-owned tables are protected by row-level
// security (with the cross-tenant flag honoured) and the plugin sets the
// tenant.
func openApp(tb testing.TB, rls bool) *gorm.DB {
	tb.Helper()
	dbURL := testenv.PostgresURL(tb)
	odb := testenv.OpenPostgres(tb, dbURL)
	if err := odb.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}, &setting{}, &bookmark{}); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	createGadgets(tb, odb)
	if rls {
		cfg := tenancy.RLSConfig{Models: []any{&company{}, &owner{}, &project{}, &task{}, &tag{}, &gadget{}}, AllowCrossTenant: true}
		if err := tenancy.SetupRLS(context.Background(), odb, cfg); err != nil {
			tb.Fatalf("SetupRLS: %v", err)
		}
	}
	role, appURL := testenv.PostgresAppRole(tb, dbURL)
	for _, g := range []string{
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO " + role,
	} {
		if err := odb.Exec(g).Error; err != nil {
			tb.Fatalf("%s: %v", g, err)
		}
	}
	app := testenv.OpenPostgres(tb, appURL)
	opts := []tenancy.Option{tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {})}
	if rls {
		opts = append(opts, tenancy.WithRowLevelSecurity())
	}
	if err := app.Use(tenancy.NewPlugin(opts...)); err != nil {
		tb.Fatal(err)
	}
	if err := tenancy.CheckRole(context.Background(), app); err != nil {
		tb.Fatalf("application role: %v", err)
	}
	return app
}

func installedRLS(db *gorm.DB) bool {
	p, ok := db.Config.Plugins[tenancy.PluginName].(*tenancy.Plugin)
	return ok && p.RowLevelSecurity()
}

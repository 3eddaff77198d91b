package platform

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// dropRoleAfter drops role (and what it owns or was granted in dbURL's
// database) when the test ends; it runs before the database is dropped.
func dropRoleAfter(t *testing.T, dbURL, role string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Logf("drop role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP OWNED BY "+role)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+role); err != nil {
			t.Logf("drop role %s: %v", role, err)
		}
	})
}

func TestInitDBThenServeAsApplicationRole(t *testing.T) {
	t.Parallel()
	ownerURL := testenv.PostgresURL(t)
	role := "maestro_app_" + testenv.RandomSuffix(4)
	dropRoleAfter(t, ownerURL, role)
	appURL := testenv.WithUser(t, ownerURL, role, "App-"+testenv.RandomSuffix(12))
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	cfg := testConfig(t)
	cfg.Production = true
	cfg.DatabaseURL, cfg.DatabaseOwnerURL = appURL, ownerURL
	ctx := context.Background()

	for i := 0; i < 2; i++ { // idempotent
		if err := InitDB(ctx, cfg, WithLogger(log)); err != nil {
			t.Fatalf("init-db run %d: %v", i+1, err)
		}
	}
	if strings.Contains(logs.String(), appURL) || strings.Contains(logs.String(), ownerURL) {
		t.Fatal("a database URL with its password reached the log")
	}

	owner := testenv.OpenPostgres(t, ownerURL)
	var attrs struct{ Super, Bypass bool }
	if err := owner.Raw(`SELECT rolsuper AS super, rolbypassrls AS bypass FROM pg_roles WHERE rolname = ?`, role).Scan(&attrs).Error; err != nil {
		t.Fatal(err)
	}
	var owned int64
	if err := owner.Raw(`SELECT count(*) FROM pg_tables WHERE tableowner = ?`, role).Scan(&owned).Error; err != nil {
		t.Fatal(err)
	}
	if attrs.Super || attrs.Bypass || owned != 0 {
		t.Fatalf("application role: superuser=%t bypassrls=%t owns %d tables", attrs.Super, attrs.Bypass, owned)
	}
	var unprotected []string
	if err := owner.Raw(`SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE a.attname = 'tenant_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
		AND NOT (c.relrowsecurity AND c.relforcerowsecurity) AND c.relname NOT IN ('memberships', 'tenant_quotas', 'auth_api_keys')
		ORDER BY 1`).Scan(&unprotected).Error; err != nil {
		t.Fatal(err)
	}
	if len(unprotected) > 0 {
		t.Fatalf("tenant-owned tables without forced RLS: %v", unprotected)
	}

	// serve, as the application role, in production mode.
	a, err := New(ctx, cfg, WithLogger(log))
	if err != nil {
		t.Fatalf("serve as the application role: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	ts := &testServer{t: t, s: a, url: "http://" + ln.Addr().String(), logs: logs, client: &http.Client{Timeout: 30 * time.Second}}
	root := ts.adminToken()
	f := &crossTenantFixture{ts: ts, ids: map[string]string{}}
	f.tenantA, f.tenantB = ts.createTenant(root, "a"), ts.createTenant(root, "b")
	ts.addMember(root, f.tenantA, "ua", memberPassword, "admin")
	ts.addMember(root, f.tenantB, "ub", memberPassword, "admin")
	f.tokenA, f.tokenB = ts.login("ua", memberPassword, "").AccessToken, ts.login("ub", memberPassword, "").AccessToken
	var proj struct{ ID string }
	expect(t, ts.do("POST", "/api/v1/projects", f.tokenB, map[string]any{
		"name": "secret project", "problem_class": "nlp", "complexity_score": 3, "team_size": 2,
	}), 201).json(t, &proj)
	expect(t, ts.do("GET", "/api/v1/projects/"+proj.ID, f.tokenA, nil), 404)
	expect(t, ts.do("GET", "/api/v1/projects/"+proj.ID, f.tokenB, nil), 200)

	// The second wall: as the application role, without the plugin and
	// without a tenant set, PostgreSQL itself returns no tenant's rows.
	raw := testenv.OpenPostgres(t, appURL)
	var n int64
	if err := raw.Raw(`SELECT count(*) FROM projects`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("row-level security let %d rows through without a tenant", n)
	}
	err = raw.Exec(`INSERT INTO projects (id, tenant_id, name) VALUES ('x', ?, 'x')`, f.tenantB).Error
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Fatalf("insert without a tenant: %v, want a row-level security violation", err)
	}
}

func TestServeRefusesUnsafeRoleInProduction(t *testing.T) {
	t.Parallel()
	superURL := testenv.PostgresURL(t)
	db := testenv.OpenPostgres(t, superURL)
	if err := migrateAll(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.DatabaseURL = superURL
	cfg.Production = true
	logs := &syncBuffer{}
	err := prepareDatabase(context.Background(), cfg, db, dialectPostgres, slog.New(slog.NewJSONHandler(logs, nil)))
	if !errors.Is(err, tenancy.ErrUnsafeRole) {
		t.Fatalf("production on a superuser: %v", err)
	}
	cfg.Production = false
	if err := prepareDatabase(context.Background(), cfg, db, dialectPostgres, slog.New(slog.NewJSONHandler(logs, nil))); err != nil {
		t.Fatalf("development on a superuser: %v", err)
	}
	if !strings.Contains(logs.String(), "bypasses row-level security") {
		t.Fatal("no warning about the unsafe role")
	}
	// A fresh database without schema: production refuses, development migrates.
	empty := testenv.Postgres(t)
	cfg.Production = true
	if err := prepareDatabase(context.Background(), cfg, empty, dialectPostgres, slog.New(slog.DiscardHandler)); !errors.Is(err, errSchemaMissing) {
		t.Fatalf("production without schema: %v", err)
	}
}

func TestInitDBErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := testConfig(t)
	if err := InitDB(ctx, cfg, WithLogger(log)); err == nil {
		t.Fatal("init-db on SQLite succeeded")
	}
	cfg.DatabaseURL = "postgres://app:pw@127.0.0.1:1/db"
	if err := InitDB(ctx, cfg, WithLogger(log)); err == nil || !strings.Contains(err.Error(), envDatabaseOwnerURL) {
		t.Fatalf("without owner URL: %v", err)
	}
	for _, bad := range []string{"postgres://127.0.0.1/db", "postgres://App-Role:pw@h/db", "postgres://app@h/db"} {
		if _, _, err := appRole(bad); err == nil {
			t.Errorf("appRole(%q) accepted", bad)
		}
	}

	// An existing role that bypasses RLS is refused.
	ownerURL := testenv.PostgresURL(t)
	role := "maestro_bad_" + testenv.RandomSuffix(4)
	dropRoleAfter(t, ownerURL, role)
	owner := testenv.OpenPostgres(t, ownerURL)
	if err := owner.Exec("CREATE ROLE " + role + " LOGIN BYPASSRLS PASSWORD 'x'").Error; err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = testenv.WithUser(t, ownerURL, role, "x")
	cfg.DatabaseOwnerURL = ownerURL
	if err := InitDB(ctx, cfg, WithLogger(log)); !errors.Is(err, errUnsafeExistingRole) {
		t.Fatalf("unsafe existing role: %v", err)
	}
}

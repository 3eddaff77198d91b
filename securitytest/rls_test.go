package securitytest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testRowLevelSecurity connects to PostgreSQL as the platform's own
// application role — what SQL that escaped the application's tenant
// filter would run as — and checks the database below the application:
// the role is no superuser, cannot bypass RLS and owns no table; without a
// tenant setting it sees and writes no tenant-owned row; the cross-tenant
// flag opens nothing (the platform's policies do not honour it); with a
// tenant set it sees that tenant's rows only and cannot write another's.
func testRowLevelSecurity(t *testing.T, w *world) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, w.p.dbURL)
	if err != nil {
		t.Fatalf("connect as the application role: %v", err)
	}
	defer conn.Close(ctx)
	count := func(t *testing.T, q string, args ...any) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	var super, bypass bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass); err != nil {
		t.Fatal(err)
	}
	if super || bypass {
		t.Errorf("the application role has rolsuper=%v rolbypassrls=%v", super, bypass)
	}
	if n := count(t, "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"); n != 0 {
		t.Errorf("the application role owns %d tables: table owners bypass RLS", n)
	}
	if n := count(t, "SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public' AND c.relname = 'projects' AND c.relrowsecurity AND c.relforcerowsecurity"); n != 1 {
		t.Errorf("projects: row-level security not enabled and forced")
	}
	if n := count(t, "SELECT count(*) FROM projects"); n != 0 {
		t.Errorf("without a tenant setting the application role sees %d projects, want 0", n)
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('maestro.cross_tenant', 'on', false)"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, "SELECT count(*) FROM projects"); n != 0 {
		t.Errorf("with maestro.cross_tenant=on the application role sees %d projects: the policy honours the flag", n)
	}
	if _, err := conn.Exec(ctx, "SELECT set_config('maestro.tenant_id', $1, false)", w.a.id); err != nil {
		t.Fatal(err)
	}
	if n := count(t, "SELECT count(*) FROM projects"); n < 3 {
		t.Errorf("with tenant A set the application role sees %d projects, want A's", n)
	}
	if n := count(t, "SELECT count(*) FROM projects WHERE tenant_id <> $1", w.a.id); n != 0 {
		t.Errorf("with tenant A set the application role sees %d rows of other tenants", n)
	}
	if _, err := conn.Exec(ctx, "UPDATE projects SET tenant_id = $1 WHERE id = $2", w.b.id, w.a.project); err == nil {
		t.Errorf("with tenant A set, moving A's project to tenant B succeeded")
	}
	tag, err := conn.Exec(ctx, "DELETE FROM projects WHERE id = $1", w.b.project)
	if err == nil && tag.RowsAffected() != 0 {
		t.Errorf("with tenant A set, deleting B's project affected %d rows", tag.RowsAffected())
	}
}

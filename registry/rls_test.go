package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestWithRowLevelSecurityPlugin runs the registry with the plugin in its
// PostgreSQL row-level-security mode, which sets the tenant per
// transaction and refuses Rows and Scan outside one.
func TestWithRowLevelSecurityPlugin(t *testing.T) {
	t.Parallel()
	e := newEnvPlugin(t, testenv.Postgres, tenancy.NewPlugin(tenancy.WithRowLevelSecurity()))
	populate(t, e, e.a)
	populate(t, e, e.b)
	page := must[Page[Project]](t)(e.reg.ListProjects(e.a, ProjectFilter{Tags: []string{"x"}}))
	if len(page.Items) != 1 {
		t.Fatalf("projects: %d", len(page.Items))
	}
	run := newRun(t, e)
	for _, step := range []int64{5, 6, 7, 1} { // the last one is out of order
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "k", Value: float64(step), Step: step}}); err != nil {
			t.Fatal(err)
		}
	}
	h := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "k", 3))
	if len(h) != 3 || h[0].Step != 1 || h[2].Step != 7 {
		t.Fatalf("history = %+v", h)
	}
	if sum := must[[]ProcessSummary](t)(e.reg.SummarizeProcessMetrics(e.a, page.Items[0].ID)); len(sum) != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	if err := e.reg.DeleteProject(e.a, page.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.GetProject(e.b, page.Items[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

// TestRowLevelSecurityAppRole runs the registry as a non-superuser
// application role on tables protected by tenancy.SetupRLS, so that
// PostgreSQL itself enforces the tenant: the hand-written step-sampling
// statement of MetricHistory, the locking reads of PutArtifactContent and
// DeleteProject, and ordinary reads and writes all work for the context's
// tenant and see nothing of the other.
func TestRowLevelSecurityAppRole(t *testing.T) {
	t.Parallel()
	e := appRoleEnv(t)
	e.reg.maxResequence = 0 // a late point leaves the series unordered
	run := newRun(t, e)
	for _, step := range []int64{5, 6, 7, 1} {
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "k", Value: float64(step), Step: step}}); err != nil {
			t.Fatal(err)
		}
	}
	// Another tenant's series with the same key in a run of its own.
	runB := newRun(t, &env{db: e.db, reg: e.reg, a: e.b})
	if err := e.reg.LogMetrics(e.b, runB.ID, []MetricPoint{{Key: "k", Value: 99, Step: 4}}); err != nil {
		t.Fatal(err)
	}
	// The full history reads the tenant's own points only; the run of
	// another tenant is not found.
	if p := must[Page[MetricPoint]](t)(e.reg.MetricPoints(e.a, run.ID, "k", 0, "")); len(p.Items) != 4 || p.Items[3].Value != 1 {
		t.Fatalf("points = %+v", p)
	}
	if _, err := e.reg.MetricPoints(e.b, run.ID, "k", 0, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another tenant's points = %v", err)
	}
	// Steps 1..7 in two buckets: the inner one starts at step 4.
	h := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "k", 3))
	if len(h) != 3 || h[0].Step != 1 || h[1].Step != 5 || h[2].Step != 7 {
		t.Fatalf("history = %+v", h)
	}
	a := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: "n", Type: Dataset, Version: "1"}))
	for _, c := range []string{"one", "two"} {
		if _, err := e.reg.PutArtifactContent(e.a, a.ID, strings.NewReader(c)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.reg.PutArtifactContent(e.b, a.ID, strings.NewReader("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other tenant's upload = %v", err)
	}
	p := newProject(t, e, e.a, "user")
	if _, err := e.reg.RecordArtifactUsage(e.a, a.ID, ArtifactUsageInput{ProjectID: p.ID, ImpactScore: ptr(40.0)}); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.DeleteProject(e.a, p.ID); err != nil {
		t.Fatal(err)
	}
	if got := must[*Artifact](t)(e.reg.GetArtifact(e.a, a.ID)); got.UsageCount != 0 || got.SizeBytes != 3 {
		t.Fatalf("artifact = %+v", got)
	}
}

// appRoleEnv migrates a PostgreSQL database as its owner, protects the
// registry's tables with tenancy.SetupRLS and returns an env whose
// Registry connects as a non-superuser application role with the plugin
// in its row-level-security mode.
func appRoleEnv(t *testing.T) *env {
	t.Helper()
	url := testenv.PostgresURL(t)
	owner := testenv.OpenPostgres(t, url)
	if err := Migrate(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	if err := tenancy.SetupRLS(context.Background(), owner, tenancy.RLSConfig{Models: Models()}); err != nil {
		t.Fatal(err)
	}
	role, appURL := testenv.PostgresAppRole(t, url)
	for _, g := range []string{
		"GRANT USAGE ON SCHEMA public TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
	} {
		if err := owner.Exec(g).Error; err != nil {
			t.Fatalf("%s: %v", g, err)
		}
	}
	app := testenv.OpenPostgres(t, appURL)
	// The application role may read the schema version (to check it at
	// start-up) although it may not create tables.
	if v, err := CurrentSchemaVersion(context.Background(), app); err != nil || v != SchemaVersion {
		t.Fatalf("schema version as the application role = %d, %v", v, err)
	}
	if err := app.Use(tenancy.NewPlugin(tenancy.WithRowLevelSecurity())); err != nil {
		t.Fatal(err)
	}
	blobs, err := NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := must[*Registry](t)(New(app, WithBlobStore(blobs)))
	return &env{db: app, reg: reg, a: tenantCtx(tenantA), b: tenantCtx(tenantB)}
}

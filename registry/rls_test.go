package registry

import (
	"errors"
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

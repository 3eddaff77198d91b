package registry

import (
	"errors"
	"testing"
	"time"
)

func TestSearchRunsAndLatestMetrics(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "search")
		x := must[*Experiment](t)(e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{Name: "x"}))
		mk := func(name string, loss float64, step int64) *Run {
			run := must[*Run](t)(e.reg.CreateRun(e.a, x.ID, RunInput{Name: name}))
			if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "loss", Value: loss, Step: step}, {Key: "loss", Value: 99, Step: step - 1}}); err != nil {
				t.Fatal(err)
			}
			return run
		}
		a, b := mk("a", 0.5, 2), mk("b", 0.2, 3)
		c := must[*Run](t)(e.reg.CreateRun(e.a, x.ID, RunInput{Name: "c"}))
		names := func(s RunSearch) []string {
			t.Helper()
			p, err := e.reg.SearchRuns(e.a, x.ID, s)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range p.Items {
				out = append(out, r.Name)
			}
			return out
		}
		if got := names(RunSearch{Filter: []RunClause{{Metric: "loss", Op: OpLess, Value: 1.0}}, OrderBy: []RunOrder{{Metric: "loss"}}}); len(got) != 2 || got[0] != "b" || got[1] != "a" {
			t.Fatalf("loss < 1 by loss: %v", got)
		}
		if got := names(RunSearch{OrderBy: []RunOrder{{Metric: "loss", Direction: "desc"}}}); len(got) != 3 || got[0] != "a" || got[2] != "c" {
			t.Fatalf("by loss desc, c (no loss) last: %v", got)
		}
		if _, err := e.reg.SearchRuns(e.b, x.ID, RunSearch{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's experiment: %v", err)
		}
		if _, err := e.reg.SearchRuns(e.a, x.ID, RunSearch{Filter: []RunClause{{Tag: "t", Op: OpLess, Value: "x"}}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("< on a tag: %v", err)
		}

		got, err := e.reg.LatestMetrics(e.a, []string{b.ID, c.ID, a.ID}, []string{"loss"})
		if err != nil || len(got) != 3 || got[0].RunID != b.ID || got[0].Metrics["loss"].Value != 0.2 || got[0].Metrics["loss"].Step != 3 || len(got[1].Metrics) != 0 {
			t.Fatalf("latest: %+v %v", got, err)
		}
		if got, err := e.reg.LatestMetrics(e.b, []string{a.ID}, []string{"loss"}); err != nil || len(got) != 0 {
			t.Fatalf("another tenant's run is left out: %+v %v", got, err)
		}

		// UpdateRun: an end before the start is refused, a terminal
		// status without an end ends the run now.
		early := a.StartedAt.Add(-time.Hour)
		if _, err := e.reg.UpdateRun(e.a, a.ID, RunPatch{EndedAt: &early}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("end before start: %v", err)
		}
		killed := RunKilled
		up := must[*Run](t)(e.reg.UpdateRun(e.a, a.ID, RunPatch{Status: &killed}))
		if up.Status != RunKilled || up.EndedAt == nil || up.EndedAt.Before(up.StartedAt) {
			t.Fatalf("killed: %+v", up)
		}
		if err := e.reg.DeleteRun(e.a, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.LogMetrics(e.a, a.ID, []MetricPoint{{Key: "loss", Value: 1}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("metrics of a deleted run: %v", err)
		}
		if got := names(RunSearch{Lifecycle: LifecycleDeleted}); len(got) != 1 || got[0] != "a" {
			t.Fatalf("deleted runs: %v", got)
		}
	})
}

package registry

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// walk reads every page of a listing with limit 2 and checks that pages
// are full but the last, and that the listing refuses a bad limit and a
// cursor of another listing.
func walk[T any](t *testing.T, name string, foreign string, list func(PageRequest) (Page[T], error)) []T {
	t.Helper()
	var all []T
	req := PageRequest{Limit: 2}
	for i := 0; ; i++ {
		p, err := list(req)
		if err != nil {
			t.Fatalf("%s page %d: %v", name, i, err)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			break
		}
		if len(p.Items) != 2 {
			t.Fatalf("%s page %d has %d items and a next cursor", name, i, len(p.Items))
		}
		if i > 100 {
			t.Fatalf("%s: pages do not end", name)
		}
		req.Cursor = p.NextCursor
	}
	for _, bad := range []PageRequest{{Limit: -1}, {Limit: MaxLimit + 1}, {Cursor: "garbage!"}, {Cursor: foreign}} {
		if _, err := list(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s with %+v: %v, want ErrInvalid", name, bad, err)
		}
	}
	if p, err := list(PageRequest{}); err != nil || len(p.Items) != len(all) || p.NextCursor != "" {
		t.Errorf("%s default page: %d items, cursor %q, %v; want all %d", name, len(p.Items), p.NextCursor, err, len(all))
	}
	return all
}

func TestListingsPage(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "p")
		other := newProject(t, e, e.a, "other")
		// A cursor of another listing, which every listing must refuse.
		pp := must[Page[Project]](t)(e.reg.ListProjects(e.a, ProjectFilter{Limit: 1}))
		foreign := pp.NextCursor
		if foreign == "" {
			t.Fatal("no project cursor")
		}

		const n = 5
		var exps []*Experiment
		for i := range n {
			exps = append(exps, must[*Experiment](t)(e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{Name: fmt.Sprint("x", i)})))
		}
		got := walk(t, "experiments", foreign, func(r PageRequest) (Page[Experiment], error) { return e.reg.ListExperiments(e.a, p.ID, r) })
		if len(got) != n || got[0].ID != exps[0].ID || got[n-1].ID != exps[n-1].ID {
			t.Fatalf("experiments = %+v", got)
		}
		// A cursor is bound to its project.
		first := must[Page[Experiment]](t)(e.reg.ListExperiments(e.a, p.ID, PageRequest{Limit: 1}))
		if _, err := e.reg.ListExperiments(e.a, other.ID, PageRequest{Cursor: first.NextCursor}); !errors.Is(err, ErrInvalid) {
			t.Errorf("experiment cursor of another project: %v, want ErrInvalid", err)
		}

		for range n {
			must[*Run](t)(e.reg.CreateRun(e.a, exps[0].ID, RunInput{}))
		}
		runs := walk(t, "runs", foreign, func(r PageRequest) (Page[Run], error) { return e.reg.ListRuns(e.a, exps[0].ID, r) })
		if len(runs) != n || runs[0].Params == nil {
			t.Fatalf("runs = %+v", runs)
		}

		var pts []MetricPoint
		for i := range n {
			pts = append(pts, MetricPoint{Key: fmt.Sprint("m", n-i), Value: float64(i), Timestamp: time.Unix(1e9, 0)})
		}
		mustNoErr(t, e.reg.LogMetrics(e.a, runs[0].ID, pts))
		sums := walk(t, "metrics", foreign, func(r PageRequest) (Page[MetricSummary], error) { return e.reg.ListMetrics(e.a, runs[0].ID, r) })
		if len(sums) != n || sums[0].Key != "m1" || sums[n-1].Key != fmt.Sprint("m", n) {
			t.Fatalf("metrics = %+v", sums)
		}

		for i := range n {
			must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: fmt.Sprint("model ", n-i)}))
		}
		models := walk(t, "models", foreign, func(r PageRequest) (Page[RegisteredModel], error) { return e.reg.ListModels(e.a, r) })
		for i, m := range models {
			if m.Name != fmt.Sprint("model ", i+1) {
				t.Fatalf("models out of name order: %+v", models)
			}
		}
		if len(models) != n {
			t.Fatalf("%d models", len(models))
		}
		if got := must[Page[RegisteredModel]](t)(e.reg.ListModels(e.b, PageRequest{})); len(got.Items) != 0 {
			t.Fatalf("another tenant sees models %+v", got.Items)
		}

		const versions = 11 // past 9, so that ordering is numeric
		for range versions {
			must[*ModelVersion](t)(e.reg.CreateModelVersion(e.a, "model 1", ModelVersionInput{Source: "s3://m"}))
		}
		vs := walk(t, "model versions", foreign, func(r PageRequest) (Page[ModelVersion], error) {
			return e.reg.ListModelVersions(e.a, "model 1", r)
		})
		for i, v := range vs {
			if v.Version != i+1 {
				t.Fatalf("versions = %+v", vs)
			}
		}
		if len(vs) != versions {
			t.Fatalf("%d versions", len(vs))
		}
		for _, a := range []string{"prod", "canary", "staging", "blue", "green"} {
			must[*ModelAlias](t)(e.reg.SetModelAlias(e.a, "model 1", a, 1))
		}
		as := walk(t, "model aliases", foreign, func(r PageRequest) (Page[ModelAlias], error) {
			return e.reg.ListModelAliases(e.a, "model 1", r)
		})
		if len(as) != 5 || as[0].Alias != "blue" || as[4].Alias != "staging" {
			t.Fatalf("aliases = %+v", as)
		}

		for i := range n {
			must[*Prediction](t)(e.reg.RecordPrediction(e.a, p.ID, PredictionInput{ModelVersion: "v1", PredictedScore: float64(10 * i),
				IntervalLow: 0, IntervalHigh: 100, Confidence: 0.5}))
		}
		preds := walk(t, "predictions", foreign, func(r PageRequest) (Page[PredictionComparison], error) {
			return e.reg.ListPredictions(e.a, p.ID, r)
		})
		if len(preds) != n || preds[n-1].PredictedScore != 40 {
			t.Fatalf("predictions = %+v", preds)
		}

		// Process metrics page by recorded time, then id; several share
		// one time.
		base := time.Date(2026, 1, 1, 0, 0, 0, 123456000, time.UTC)
		var batch []ProcessMetricInput
		for i := range 7 {
			batch = append(batch, ProcessMetricInput{MetricType: MetricCommits, Value: float64(i), Timestamp: base.Add(time.Duration(6-i/2) * time.Hour)})
		}
		batch = append(batch, ProcessMetricInput{MetricType: "story_points", Value: 1, Timestamp: base})
		mustNoErr(t, e.reg.RecordProcessMetrics(e.a, p.ID, batch))
		pms := walk(t, "process metrics", foreign, func(r PageRequest) (Page[ProcessMetric], error) {
			return e.reg.ListProcessMetrics(e.a, p.ID, MetricCommits, r)
		})
		if len(pms) != 7 {
			t.Fatalf("%d process metrics, want 7", len(pms))
		}
		for i := 1; i < len(pms); i++ {
			a, b := pms[i-1], pms[i]
			if b.RecordedAt.Before(a.RecordedAt) || (b.RecordedAt.Equal(a.RecordedAt) && b.ID <= a.ID) {
				t.Fatalf("process metrics out of order at %d: %+v", i, pms)
			}
		}
		if all := walk(t, "all process metrics", foreign, func(r PageRequest) (Page[ProcessMetric], error) {
			return e.reg.ListProcessMetrics(e.a, p.ID, "", r)
		}); len(all) != 8 {
			t.Fatalf("%d process metrics of every type, want 8", len(all))
		}
		// Fractions of a second of different lengths (SQLite stores times
		// as text) page in time order too.
		whole := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		var frac []ProcessMetricInput
		for _, d := range []time.Duration{500 * time.Millisecond, 0, 123456 * time.Microsecond, time.Second, 50 * time.Millisecond, 999999 * time.Microsecond, time.Microsecond} {
			frac = append(frac, ProcessMetricInput{MetricType: "frac", Value: 1, Timestamp: whole.Add(d)})
		}
		mustNoErr(t, e.reg.RecordProcessMetrics(e.a, p.ID, frac))
		fs := walk(t, "fractional process metrics", foreign, func(r PageRequest) (Page[ProcessMetric], error) {
			return e.reg.ListProcessMetrics(e.a, p.ID, "frac", r)
		})
		if len(fs) != len(frac) {
			t.Fatalf("%d fractional metrics, want %d", len(fs), len(frac))
		}
		for i := 1; i < len(fs); i++ {
			if !fs[i-1].RecordedAt.Before(fs[i].RecordedAt) {
				t.Fatalf("fractional metrics out of time order at %d: %v then %v", i, fs[i-1].RecordedAt, fs[i].RecordedAt)
			}
		}
		if sums := must[[]ProcessSummary](t)(e.reg.SummarizeProcessMetrics(e.a, p.ID)); len(sums) != 3 || sums[0].Count != 7 {
			t.Fatalf("summaries = %+v", sums)
		}

		// A usage is unique per (artifact, project): n artifacts used by p.
		for i := range n {
			art := must[*Artifact](t)(e.reg.CreateArtifact(e.a, ArtifactInput{Name: fmt.Sprint("a", i), Type: Dataset, Version: "1"}))
			must[*ArtifactUsage](t)(e.reg.RecordArtifactUsage(e.a, art.ID, ArtifactUsageInput{ProjectID: p.ID}))
		}
		us := walk(t, "artifact usages", foreign, func(r PageRequest) (Page[ArtifactUsage], error) {
			return e.reg.ArtifactUsages(e.a, ArtifactUsageFilter{ProjectID: p.ID, Limit: r.Limit, Cursor: r.Cursor})
		})
		if len(us) != n {
			t.Fatalf("%d usages", len(us))
		}
		if old := must[[]ArtifactUsage](t)(e.reg.ListArtifactUsages(e.a, ArtifactUsageFilter{ProjectID: p.ID, Limit: 1})); len(old) != n {
			t.Fatalf("ListArtifactUsages returned %d usages, want every one (%d)", len(old), n)
		}
		if _, err := e.reg.ArtifactUsages(e.a, ArtifactUsageFilter{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("ArtifactUsages without ids: %v", err)
		}
	})
}

func TestTeamCap(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.reg.maxTeam = 3
		p := newProject(t, e, e.a, "p")
		for range 3 {
			must[*TeamMember](t)(e.reg.AddTeamMember(e.a, p.ID, TeamMemberInput{Name: "x", Role: "r", ExperienceLevel: Mid}))
		}
		_, err := e.reg.AddTeamMember(e.a, p.ID, TeamMemberInput{Name: "y", Role: "r", ExperienceLevel: Mid})
		var tl *TooLargeError
		if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tl) || tl.What != "team" || tl.Limit != 3 {
			t.Fatalf("fourth member: %v, want a team *TooLargeError", err)
		}
		if team := must[[]TeamMember](t)(e.reg.ListTeamMembers(e.a, p.ID)); len(team) != 3 {
			t.Fatalf("team has %d members", len(team))
		}
		// Another project's team is not affected.
		q := newProject(t, e, e.a, "q")
		must[*TeamMember](t)(e.reg.AddTeamMember(e.a, q.ID, TeamMemberInput{Name: "z", Role: "r", ExperienceLevel: Mid}))
	})
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

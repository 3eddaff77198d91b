package metalearn

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// testClock is a settable clock for the registry.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// seedBase is when seedRegistry's first project is registered; project i
// is registered seedBase + i days.
var seedBase = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// seedRegistry writes n completed projects (and one active project) of the
// synthetic history into reg for ctx's tenant, moving clock, and returns
// the active project's id. Project i is registered at T = seedBase + i
// days with StartedAt T + 1 h; its team is registered at T + 30 min; its
// pipeline success rate is measured 0.9 at T (before the start) and its
// synthetic value at T + 1 day, its commits (70 a week) at T + 1 day and
// T + 15 days; every third project rates artifact "shared" 40 + i%50 at
// T + 10 days; the outcome is recorded at T + 20 days. The active project
// uses "shared" without a rating.
func seedRegistry(t testing.TB, ctx context.Context, reg *registry.Registry, clock *testClock, n int) string {
	t.Helper()
	hist := synthHistory(n, 21)
	clock.set(seedBase.Add(-time.Hour))
	shared := must[*registry.Artifact](t)(reg.CreateArtifact(ctx, registry.ArtifactInput{Name: "shared-pipeline", Type: registry.ArtifactType("feature_pipeline"), Version: "1.0.0"}))
	type later struct {
		at time.Time
		do func()
	}
	var events []later
	for i, r := range hist {
		f := r.Features
		ti := seedBase.Add(time.Duration(i) * 24 * time.Hour)
		clock.set(ti)
		p := must[*registry.Project](t)(reg.CreateProject(ctx, registry.ProjectInput{
			Name: fmt.Sprintf("project %d", i), ProblemClass: registry.ProblemClass(f.ProblemClass),
			ComplexityScore: int(f.Complexity), TeamSize: f.TeamSize, StartedAt: ti.Add(time.Hour),
		}))
		clock.set(ti.Add(30 * time.Minute))
		for j, m := range f.Team[:min(3, len(f.Team))] {
			must[*registry.TeamMember](t)(reg.AddTeamMember(ctx, p.ID, registry.TeamMemberInput{Name: fmt.Sprintf("m%d", j), Role: m.Role, ExperienceLevel: registry.ExperienceLevel(m.Level)}))
		}
		if err := reg.RecordProcessMetrics(ctx, p.ID, []registry.ProcessMetricInput{
			{MetricType: registry.MetricPipelineSuccessRate, Value: 0.9, Timestamp: ti},
			{MetricType: registry.MetricPipelineSuccessRate, Value: f.ProcessMetrics[MetricPipelineSuccessRate], Timestamp: ti.Add(24 * time.Hour)},
			{MetricType: registry.MetricCommits, Value: 70, Timestamp: ti.Add(24 * time.Hour)},
			{MetricType: registry.MetricCommits, Value: 70, Timestamp: ti.Add(15 * 24 * time.Hour)},
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			imp := float64(40 + i%50)
			events = append(events, later{ti.Add(10 * 24 * time.Hour), func() {
				must[*registry.ArtifactUsage](t)(reg.RecordArtifactUsage(ctx, shared.ID, registry.ArtifactUsageInput{ProjectID: p.ID, ImpactScore: &imp}))
			}})
		}
		events = append(events, later{ti.Add(20 * 24 * time.Hour), func() {
			must[*registry.Project](t)(reg.RecordOutcome(ctx, p.ID, registry.Outcome{
				ModelPerformance: r.Outcome.SuccessScore / 100, BusinessImpact: r.Outcome.SuccessScore * 1000,
				DeploymentDays: r.Outcome.DeploymentDays, ComputeCost: r.Outcome.ComputeCost,
			}))
		}})
		// Run the events that are due before the next project starts.
		next := ti.Add(24 * time.Hour)
		if i == len(hist)-1 {
			next = ti.Add(1000 * 24 * time.Hour)
		}
		slices.SortStableFunc(events, func(a, b later) int { return a.at.Compare(b.at) })
		for len(events) > 0 && events[0].at.Before(next) {
			clock.set(events[0].at)
			events[0].do()
			events = events[1:]
		}
	}
	clock.set(seedBase.Add(2000 * 24 * time.Hour))
	active := must[*registry.Project](t)(reg.CreateProject(ctx, registry.ProjectInput{Name: "new", ProblemClass: registry.ProblemClass(ClassNLP), ComplexityScore: 8, TeamSize: 3}))
	must[*registry.ArtifactUsage](t)(reg.RecordArtifactUsage(ctx, shared.ID, registry.ArtifactUsageInput{ProjectID: active.ID}))
	return active.ID
}

// seedImpact is the impact of "shared" that project i's features should
// hold when ratings registered up to cut count (-1 for none).
func seedImpact(n, i int, cut time.Time) float64 {
	sum, k := 0.0, 0
	for j := 0; j < n; j += 3 {
		if j != i && !seedBase.Add(time.Duration(j)*24*time.Hour+10*24*time.Hour).After(cut) {
			sum += float64(40 + j%50)
			k++
		}
	}
	if k == 0 {
		return -1
	}
	return sum / float64(k)
}

func TestRegistryHistory(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t, open)
			clock := &testClock{}
			reg, err := registry.New(db, registry.WithClock(clock.now))
			if err != nil {
				t.Fatal(err)
			}
			a := tenancy.WithTenant(context.Background(), "tenant-a")
			b := tenancy.WithTenant(context.Background(), "tenant-b")
			const n = 30
			activeID := seedRegistry(t, a, reg, clock, n)
			h := NewRegistryHistory(reg)
			index := map[string]int{}
			{
				page := must[registry.Page[registry.Project]](t)(reg.ListProjects(a, registry.ProjectFilter{Limit: registry.MaxLimit}))
				for _, p := range page.Items {
					var i int
					if _, err := fmt.Sscanf(p.Name, "project %d", &i); err == nil {
						index[p.ID] = i
					}
				}
			}
			synth := synthHistory(n, 21)

			// Planning cut-off (the default): the state at each project's
			// start.
			recs, err := h.History(a)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != n {
				t.Fatalf("History: %d records, want %d completed projects", len(recs), n)
			}
			withArtifact, knownImpact := 0, 0
			for _, r := range recs {
				i, ok := index[r.Features.ProjectID]
				if !ok || r.CompletedAt.IsZero() || r.Outcome.Validate() != nil || r.Features.Validate() != nil {
					t.Fatalf("bad record %+v", r)
				}
				want := map[string]float64{MetricPipelineSuccessRate: 0.9} // measured before the start; commits after
				if !maps.Equal(r.Features.ProcessMetrics, want) {
					t.Fatalf("project %d at planning: process metrics %v, want %v", i, r.Features.ProcessMetrics, want)
				}
				if len(r.Features.Team) != min(3, len(synth[i].Features.Team)) {
					t.Fatalf("project %d: team of %d, want the %d registered before the start", i, len(r.Features.Team), min(3, len(synth[i].Features.Team)))
				}
				for _, u := range r.Features.Artifacts {
					withArtifact++
					if u.Name != "shared-pipeline" || u.Type != "feature_pipeline" {
						t.Fatalf("artifact %+v", u)
					}
					start := seedBase.Add(time.Duration(i)*24*time.Hour + time.Hour)
					if want := seedImpact(n, i, start); math.Abs(u.Impact-want) > 1e-9 {
						t.Fatalf("project %d at planning: impact %v, want %v (ratings registered before its start only)", i, u.Impact, want)
					}
					if u.Impact >= 0 {
						knownImpact++
					}
				}
			}
			if withArtifact != n/3 || knownImpact == 0 || knownImpact == withArtifact {
				t.Fatalf("%d projects with the artifact (want %d), %d with a known impact (want some, not all)", withArtifact, n/3, knownImpact)
			}

			// Completion cut-off: everything recorded up to the outcome,
			// but no rating registered after it.
			hc := NewRegistryHistory(reg, WithFeatureCutoff(CutoffCompletion))
			crecs, err := hc.History(a)
			if err != nil || len(crecs) != n {
				t.Fatalf("completion History: %d records, %v", len(crecs), err)
			}
			for _, r := range crecs {
				i := index[r.Features.ProjectID]
				if got := r.Features.ProcessMetrics[MetricCommitsPerWeek]; math.Abs(got-70) > 1e-9 {
					t.Fatalf("commits per week %v, want 70 (140 commits over 2 weeks)", got)
				}
				if got := r.Features.ProcessMetrics[MetricPipelineSuccessRate]; got != synth[i].Features.ProcessMetrics[MetricPipelineSuccessRate] {
					t.Fatalf("latest pipeline rate %v", got)
				}
				for _, u := range r.Features.Artifacts {
					if want := seedImpact(n, i, r.CompletedAt); math.Abs(u.Impact-want) > 1e-9 {
						t.Fatalf("project %d at completion: impact %v, want %v", i, u.Impact, want)
					}
				}
			}
			if other, err := h.History(b); err != nil || len(other) != 0 {
				t.Fatalf("tenant b sees %d records (%v)", len(other), err)
			}
			if _, err := h.History(context.Background()); !errors.Is(err, tenancy.ErrNoTenant) {
				t.Fatalf("History without tenant: %v", err)
			}

			f, err := h.Features(a, activeID)
			if err != nil {
				t.Fatal(err)
			}
			if f.ProblemClass != ClassNLP || f.Complexity != 8 || f.TeamSize != 3 || len(f.Artifacts) != 1 {
				t.Fatalf("features of the active project: %+v", f)
			}
			// The active project's usage has no impact score, so its
			// impact is the mean over the other usages.
			if f.Artifacts[0].Impact < 40 || f.Artifacts[0].Impact > 90 {
				t.Fatalf("leave-own-out impact %v", f.Artifacts[0].Impact)
			}
			if _, err := h.Features(b, activeID); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("tenant b reads tenant a's project: %v", err)
			}

			// End to end: train from the registry, store, recommend.
			st := NewStore(db)
			rt := NewRetrainer(h, st, WithTrainOptions(fastOptions()...))
			info, err := rt.Train(a)
			if err != nil {
				t.Fatal(err)
			}
			if info.Version != 1 || info.NProjects != n {
				t.Fatalf("trained %+v", info)
			}
			rec, err := NewRecommender(st).Recommend(a, Query{Features: f})
			if err != nil {
				t.Fatal(err)
			}
			if rec.ModelVersion != 1 || rec.Team.RecommendedSize < 1 || len(rec.Team.PredictedScoreBySize) == 0 {
				t.Fatalf("recommendation %+v", rec)
			}
			if _, err := rt.Train(b); !errors.Is(err, ErrInsufficientHistory) {
				t.Fatalf("training tenant b with no history: %v", err)
			}
		})
	}
}

func TestProcessFeatures(t *testing.T) {
	t.Parallel()
	got := processFeatures([]registry.ProcessSummary{
		{MetricType: registry.MetricPipelineSuccessRate, LastValue: 0.7},
		{MetricType: registry.MetricCommits, RatePerWeek: 12},
		{MetricType: registry.MetricCodeReviewHours, Mean: 5},
		{MetricType: registry.MetricOpenDefects, LastValue: 3},
		{MetricType: registry.MetricStoryPoints, LastValue: 40},
	})
	want := map[string]float64{MetricPipelineSuccessRate: 0.7, MetricCommitsPerWeek: 12, MetricCodeReviewHours: 5, MetricOpenDefects: 3}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	bad := processFeatures([]registry.ProcessSummary{
		{MetricType: registry.MetricPipelineSuccessRate, LastValue: 3},
		{MetricType: registry.MetricCommits, RatePerWeek: math.Inf(1)},
		{MetricType: registry.MetricOpenDefects, LastValue: -1},
	})
	if len(bad) != 0 {
		t.Fatalf("out-of-range values kept: %v", bad)
	}
	at := func(h int) time.Time { return seedBase.Add(time.Duration(h) * time.Hour) }
	score := func(v float64) *float64 { return &v }
	usages := []registry.ArtifactUsage{
		{ProjectID: "own", ImpactScore: score(80), CreatedAt: at(0)},
		{ProjectID: "p1", ImpactScore: score(50), CreatedAt: at(1)},
		{ProjectID: "p2", ImpactScore: score(70), CreatedAt: at(2)},
		{ProjectID: "p3", CreatedAt: at(3)},
		{ProjectID: "p4", ImpactScore: score(10), CreatedAt: at(9)},
	}
	if v := impactAsOf(usages, "own", at(5)); v != 60 {
		t.Errorf("impact as of hour 5 without the own rating %v, want 60", v)
	}
	if v := impactAsOf(usages, "own", at(9)); v != 130.0/3 {
		t.Errorf("impact as of hour 9 %v, want 130/3", v)
	}
	if v := impactAsOf(usages, "own", at(0)); v != -1 {
		t.Errorf("impact with no earlier rating by another project %v, want -1 (unknown)", v)
	}
	ms := []registry.ProcessMetric{
		{MetricType: registry.MetricCommits, Value: 10, RecordedAt: at(0)},
		{MetricType: registry.MetricCommits, Value: 20, RecordedAt: at(24 * 14)},
		{MetricType: registry.MetricOpenDefects, Value: 4, RecordedAt: at(1)},
		{MetricType: registry.MetricOpenDefects, Value: 9, RecordedAt: at(24 * 30)},
	}
	got = processFeatures(summarizeUntil(ms, at(24*14)))
	if want := map[string]float64{MetricCommitsPerWeek: 15, MetricOpenDefects: 4}; !maps.Equal(got, want) {
		t.Errorf("summary until day 14: %v, want %v", got, want)
	}
	if got := summarizeUntil(ms, at(-1)); len(got) != 0 {
		t.Errorf("summary before anything was measured: %v", got)
	}
}

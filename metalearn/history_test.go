package metalearn

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// seedRegistry writes n completed projects (and one active project) of the
// synthetic history into reg for ctx's tenant and returns the active
// project's id. One artifact ("shared") is used by every third project with
// an impact score; the active project uses it too.
func seedRegistry(t testing.TB, ctx context.Context, reg *registry.Registry, n int) string {
	t.Helper()
	hist := synthHistory(n, 21)
	shared := must[*registry.Artifact](t)(reg.CreateArtifact(ctx, registry.ArtifactInput{Name: "shared-pipeline", Type: registry.ArtifactType("feature_pipeline"), Version: "1.0.0"}))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range hist {
		f := r.Features
		p := must[*registry.Project](t)(reg.CreateProject(ctx, registry.ProjectInput{
			Name: fmt.Sprintf("project %d", i), ProblemClass: registry.ProblemClass(f.ProblemClass),
			ComplexityScore: int(f.Complexity), TeamSize: f.TeamSize,
		}))
		for j, m := range f.Team[:min(3, len(f.Team))] {
			must[*registry.TeamMember](t)(reg.AddTeamMember(ctx, p.ID, registry.TeamMemberInput{Name: fmt.Sprintf("m%d", j), Role: m.Role, ExperienceLevel: registry.ExperienceLevel(m.Level)}))
		}
		if err := reg.RecordProcessMetrics(ctx, p.ID, []registry.ProcessMetricInput{
			{MetricType: registry.MetricPipelineSuccessRate, Value: 0.5, Timestamp: base},
			{MetricType: registry.MetricPipelineSuccessRate, Value: f.ProcessMetrics[MetricPipelineSuccessRate], Timestamp: base.Add(24 * time.Hour)},
			{MetricType: registry.MetricCommits, Value: 70, Timestamp: base},
			{MetricType: registry.MetricCommits, Value: 70, Timestamp: base.Add(14 * 24 * time.Hour)},
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			imp := float64(40 + i%50)
			must[*registry.ArtifactUsage](t)(reg.RecordArtifactUsage(ctx, shared.ID, registry.ArtifactUsageInput{ProjectID: p.ID, ImpactScore: &imp}))
		}
		must[*registry.Project](t)(reg.RecordOutcome(ctx, p.ID, registry.Outcome{
			ModelPerformance: r.Outcome.SuccessScore / 100, BusinessImpact: r.Outcome.SuccessScore * 1000,
			DeploymentDays: r.Outcome.DeploymentDays, ComputeCost: r.Outcome.ComputeCost,
		}))
	}
	active := must[*registry.Project](t)(reg.CreateProject(ctx, registry.ProjectInput{Name: "new", ProblemClass: registry.ProblemClass(ClassNLP), ComplexityScore: 8, TeamSize: 3}))
	must[*registry.ArtifactUsage](t)(reg.RecordArtifactUsage(ctx, shared.ID, registry.ArtifactUsageInput{ProjectID: active.ID}))
	return active.ID
}

func TestRegistryHistory(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := testDB(t, open)
			reg, err := registry.New(db)
			if err != nil {
				t.Fatal(err)
			}
			a := tenancy.WithTenant(context.Background(), "tenant-a")
			b := tenancy.WithTenant(context.Background(), "tenant-b")
			const n = 30
			activeID := seedRegistry(t, a, reg, n)
			h := NewRegistryHistory(reg)

			recs, err := h.History(a)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != n {
				t.Fatalf("History: %d records, want %d completed projects", len(recs), n)
			}
			withArtifact := 0
			for _, r := range recs {
				if r.CompletedAt.IsZero() || r.Outcome.Validate() != nil || r.Features.Validate() != nil {
					t.Fatalf("bad record %+v", r)
				}
				if got := r.Features.ProcessMetrics[MetricCommitsPerWeek]; math.Abs(got-70) > 1e-9 {
					t.Fatalf("commits per week %v, want 70 (140 commits over 2 weeks)", got)
				}
				if len(r.Features.Team) == 0 {
					t.Fatal("team not extracted")
				}
				for _, u := range r.Features.Artifacts {
					withArtifact++
					if u.Name != "shared-pipeline" || u.Type != "feature_pipeline" {
						t.Fatalf("artifact %+v", u)
					}
					if u.Impact < 0 || u.Impact > 100 {
						t.Fatalf("impact %v", u.Impact)
					}
				}
			}
			if withArtifact != n/3 {
				t.Fatalf("%d projects with the artifact, want %d", withArtifact, n/3)
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
		{MetricType: registry.MetricPipelineSuccessRate, Latest: 0.7},
		{MetricType: registry.MetricCommits, RatePerWeek: 12},
		{MetricType: registry.MetricCodeReviewHours, Mean: 5},
		{MetricType: registry.MetricOpenDefects, Latest: 3},
		{MetricType: registry.MetricStoryPoints, Latest: 40},
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
		{MetricType: registry.MetricPipelineSuccessRate, Latest: 3},
		{MetricType: registry.MetricCommits, RatePerWeek: math.Inf(1)},
		{MetricType: registry.MetricOpenDefects, Latest: -1},
	})
	if len(bad) != 0 {
		t.Fatalf("out-of-range values kept: %v", bad)
	}
	imp := 80.0
	a := &registry.Artifact{ImpactSum: 200, ImpactCount: 3}
	if v := impactWithout(a, registry.ArtifactUsage{ImpactScore: &imp}); v != 60 {
		t.Errorf("leave-own-out impact %v, want 60", v)
	}
	if v := impactWithout(&registry.Artifact{ImpactSum: 80, ImpactCount: 1}, registry.ArtifactUsage{ImpactScore: &imp}); v != -1 {
		t.Errorf("impact with no other usage %v, want -1 (unknown)", v)
	}
}

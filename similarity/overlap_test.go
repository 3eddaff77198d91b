package similarity

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

func baseSpec() registry.Spec {
	return registry.Spec{
		UserStories:            []string{"As an analyst I see churn risk per customer", "As a manager I export weekly reports"},
		FunctionalRequirements: []string{"Score every customer nightly", "Explain each score"},
		DataModels:             []registry.DataModel{{Entity: "Customer", Fields: []string{"id", "tenure", "plan"}}},
		APIEndpoints:           []registry.APIEndpoint{{Method: "get", Path: "/customers/{id}/risk", Purpose: "churn risk"}},
	}
}

func TestOverlap(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	h, _ := NewHashingEmbedder(0)
	s := newTestService(t, db, h)
	ctx := tenancy.WithTenant(context.Background(), "t")
	if err := s.Index(ctx, "base", "Churn", "customer churn", baseSpec()); err != nil {
		t.Fatal(err)
	}
	eff := DefaultEffortModel()
	t.Run("identical spec", func(t *testing.T) {
		rep, err := s.Overlap(ctx, baseSpec(), "base")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Overall != 1 || rep.ReuseStrategy != CloneAndCustomize {
			t.Errorf("overall %v strategy %s, want 1 and clone_and_customize", rep.Overall, rep.ReuseStrategy)
		}
		want := eff.ReusedFactor * (2*eff.UserStoryHours + 2*eff.FunctionalRequirementHours + eff.DataModelHours + eff.EndpointHours)
		if math.Abs(rep.EstimatedEffortHours-want) > 1e-9 {
			t.Errorf("effort %v, want %v", rep.EstimatedEffortHours, want)
		}
		if len(rep.Sections) != 4 {
			t.Errorf("sections %v, want the 4 non-empty ones", rep.Sections)
		}
		ep := rep.Sections[SectionAPIEndpoints].Items[0]
		if ep.Text != "GET /customers/{id}/risk: churn risk" || ep.MatchIndex != 0 || ep.Status != StatusReused {
			t.Errorf("endpoint item %+v", ep)
		}
	})
	t.Run("unrelated spec", func(t *testing.T) {
		spec := registry.Spec{
			UserStories:               []string{"As a pilot I file flight plans"},
			NonFunctionalRequirements: []string{"Runs offline in the cockpit"},
		}
		rep, err := s.Overlap(ctx, spec, "base")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Overall != 0 || rep.ReuseStrategy != BuildFromScratch {
			t.Errorf("overall %v strategy %s", rep.Overall, rep.ReuseStrategy)
		}
		nfr := rep.Sections[SectionNonFunctionalRequirements]
		if nfr.New != 1 || nfr.Items[0].MatchIndex != -1 || nfr.Items[0].MatchedText != "" {
			t.Errorf("a section the project lacks: %+v", nfr)
		}
		want := eff.UserStoryHours + eff.NonFunctionalRequirementHours
		if rep.EstimatedEffortHours != want {
			t.Errorf("effort %v, want %v", rep.EstimatedEffortHours, want)
		}
	})
	t.Run("partial", func(t *testing.T) {
		spec := baseSpec()
		spec.UserStories = append(spec.UserStories, "As an operator I monitor satellite telemetry anomalies")
		spec.FunctionalRequirements[1] = "EXPLAIN EACH SCORE" // case differs: still reused
		rep, err := s.Overlap(ctx, spec, "base")
		if err != nil {
			t.Fatal(err)
		}
		us := rep.Sections[SectionUserStories]
		if us.Reused != 2 || us.New != 1 || math.Abs(us.Overlap-2.0/3) > 1e-9 {
			t.Errorf("user stories %+v", us)
		}
		if fr := rep.Sections[SectionFunctionalRequirements]; fr.Reused != 2 {
			t.Errorf("functional requirements %+v", fr)
		}
		if math.Abs(rep.Overall-6.0/7) > 1e-9 || rep.ReuseStrategy != CloneAndCustomize {
			t.Errorf("overall %v %s", rep.Overall, rep.ReuseStrategy)
		}
	})
	t.Run("errors", func(t *testing.T) {
		if _, err := s.Overlap(ctx, baseSpec(), "missing"); !errors.Is(err, ErrNotIndexed) {
			t.Errorf("unknown project: %v", err)
		}
		if _, err := s.Overlap(ctx, registry.Spec{}, "base"); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty spec: %v", err)
		}
	})
}

func TestOverlapStatusesByThreshold(t *testing.T) {
	t.Parallel()
	db := migrated(t, testenv.SQLite)
	// Vectors: "alpha" = (1,0,0.1), "alpha beta" = (1,1,0.1) ... cosine
	// between them is about 0.71: modified under the defaults.
	emb := newKeywordEmbedder("kw", "alpha", "beta")
	s := newTestService(t, db, emb)
	ctx := tenancy.WithTenant(context.Background(), "t")
	if err := s.Index(ctx, "p", "p", "", registry.Spec{UserStories: []string{"alpha"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Overlap(ctx, registry.Spec{UserStories: []string{"alpha beta", "alpha alpha"}}, "p")
	if err != nil {
		t.Fatal(err)
	}
	us := rep.Sections[SectionUserStories]
	if us.Items[0].Status != StatusModified || us.Items[1].Status != StatusReused {
		t.Errorf("items %+v", us.Items)
	}
	if rep.Overall != 0.75 || rep.ReuseStrategy != CloneWithChanges {
		t.Errorf("overall %v %s, want 0.75 clone_with_changes", rep.Overall, rep.ReuseStrategy)
	}
	strict := newTestService(t, db, emb, WithOverlapThresholds(OverlapThresholds{
		Reused: 0.99, Modified: 0.9, CloneAndCustomize: 0.9, CloneWithChanges: 0.6, Hybrid: 0.3}),
		WithEffortModel(EffortModel{UserStoryHours: 10, ReusedFactor: 0, ModifiedFactor: 1}))
	rep, err = strict.Overlap(ctx, registry.Spec{UserStories: []string{"alpha beta", "alpha alpha"}}, "p")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Overall != 0.5 || rep.ReuseStrategy != Hybrid || rep.EstimatedEffortHours != 10 {
		t.Errorf("custom thresholds: overall %v %s effort %v", rep.Overall, rep.ReuseStrategy, rep.EstimatedEffortHours)
	}
}

func TestReuseStrategyBoundaries(t *testing.T) {
	t.Parallel()
	th := DefaultOverlapThresholds()
	for _, tc := range []struct {
		overall float64
		want    ReuseStrategy
	}{{1, CloneAndCustomize}, {0.8, CloneAndCustomize}, {0.79, CloneWithChanges}, {0.5, CloneWithChanges},
		{0.49, Hybrid}, {0.2, Hybrid}, {0.19, BuildFromScratch}, {0, BuildFromScratch}} {
		if got := th.strategy(tc.overall); got != tc.want {
			t.Errorf("strategy(%v) = %s, want %s", tc.overall, got, tc.want)
		}
	}
}

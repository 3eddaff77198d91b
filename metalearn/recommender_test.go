package metalearn

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/registry"
)

// memorySource serves one model.
type memorySource struct {
	m   *Model
	err error
}

func (s memorySource) Active(context.Context) (*Model, ModelInfo, error) {
	if s.err != nil {
		return nil, ModelInfo{}, s.err
	}
	return s.m, ModelInfo{Version: 4}, nil
}

func TestRecommender(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	p := synthHistory(1, 77)[0].Features
	p.ProjectID = "p-new"
	p.Artifacts = nil

	var gotQuery SimilarQuery
	finder := SimilarFinderFunc(func(_ context.Context, q SimilarQuery) ([]SimilarProject, error) {
		gotQuery = q
		return []SimilarProject{{ProjectID: "p-new", Similarity: 1}, {ProjectID: "p-1", Name: "one", Similarity: 0.9}, {ProjectID: "p-2", Similarity: 0.8}}, nil
	})
	r := NewRecommender(memorySource{m: m}, WithSimilarFinder(finder), WithSimilarLimit(1), WithMaxArtifacts(3), WithMaxTeamSize(12))
	rec, err := r.Recommend(context.Background(), Query{Features: p})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ModelVersion != 4 {
		t.Fatalf("model version %d", rec.ModelVersion)
	}
	if gotQuery.ProjectID != "p-new" || gotQuery.Limit != 1 {
		t.Fatalf("similar query %+v", gotQuery)
	}
	if len(rec.SimilarProjects) != 1 || rec.SimilarProjects[0].ProjectID != "p-1" {
		t.Fatalf("similar projects %+v: want p-1 only (never the project itself, limit 1)", rec.SimilarProjects)
	}
	if len(rec.Team.PredictedScoreBySize) != 12 {
		t.Fatalf("%d sizes", len(rec.Team.PredictedScoreBySize))
	}
	if tc := rec.Team; tc.PlannedSize != p.TeamSize || tc.Reason == "" || !strings.Contains(tc.Reason, "not a measured cause") ||
		tc.ProbabilityBetter < 0 || tc.ProbabilityBetter > 1 ||
		(tc.RecommendedSize != tc.PlannedSize && tc.ProbabilityBetter < MinTeamChangeProbability) {
		t.Fatalf("team what-if %+v", tc)
	}
	fc := rec.Forecast.Success
	if lo, hi, ok := fc.Interval(); !ok || lo > fc.Value || fc.Value > hi || fc.IntervalCoverage != m.Coverage() || len(fc.TopFactors) != DefaultTopFactors {
		t.Fatalf("forecast %+v", fc)
	}
	for i, s := range rec.SuggestedArtifacts {
		if !strings.Contains(s.Reason, "completed "+p.ProblemClass+" projects with mean success") || s.AdjustedLift <= 0 {
			t.Fatalf("suggestion %+v", s)
		}
		if i > 0 && s.Evidence > rec.SuggestedArtifacts[i-1].Evidence {
			t.Fatalf("suggestions not ordered by evidence: %+v", rec.SuggestedArtifacts)
		}
	}
	// The synthetic history gives each class's "good" artifact a 10-point
	// bonus; with about 30 projects per class it should lead most classes.
	top := 0
	for _, c := range ProblemClasses() {
		q := p
		q.ProblemClass = c
		if s := m.SuggestArtifacts(q, 1); len(s) == 1 && s[0].ArtifactID == "a-"+c+"-good" {
			top++
		}
	}
	t.Logf("good artifact suggested first in %d of %d classes", top, len(ProblemClasses()))
	if top < 5 { // 6 before Benjamini–Hochberg (TestSuggestArtifactsNeedEvidence)
		t.Fatalf("good artifact leads only %d of 8 classes", top)
	}
	// An artifact already used is not suggested again.
	p.Artifacts = []ArtifactUse{{ID: "a-" + p.ProblemClass + "-good", Impact: -1}}
	for _, s := range m.SuggestArtifacts(p, 20) {
		if s.ArtifactID == p.Artifacts[0].ID {
			t.Fatal("suggested an artifact the project already uses")
		}
	}
	if got := m.SuggestArtifacts(p, 0); len(got) != 0 {
		t.Fatal("limit 0 suggested artifacts")
	}

	// Without project id or spec the finder is not asked.
	gotQuery = SimilarQuery{}
	q := p
	q.ProjectID = ""
	rec, err = r.Recommend(context.Background(), Query{Features: q})
	if err != nil || gotQuery.Limit != 0 || len(rec.SimilarProjects) != 0 || rec.SimilarProjects == nil {
		t.Fatalf("finder asked without id or spec: %+v %v", gotQuery, err)
	}
	// With a spec it is.
	if _, err = r.Recommend(context.Background(), Query{Features: q, Spec: registry.Spec{UserStories: []string{"as a user"}}}); err != nil || len(gotQuery.Spec.UserStories) != 1 {
		t.Fatalf("spec not passed: %+v %v", gotQuery, err)
	}
}

func TestRecommenderErrors(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	p := synthHistory(1, 1)[0].Features
	boom := errors.New("boom")
	cases := []struct {
		name string
		r    *Recommender
		q    Query
		want error
	}{
		{"no model", NewRecommender(memorySource{err: ErrNoModel}), Query{Features: p}, ErrNoModel},
		{"invalid", NewRecommender(memorySource{m: m}), Query{Features: ProjectFeatures{ProblemClass: "x"}}, ErrInvalid},
		{"finder fails", NewRecommender(memorySource{m: m}, WithSimilarFinder(SimilarFinderFunc(func(context.Context, SimilarQuery) ([]SimilarProject, error) {
			return nil, boom
		}))), Query{Features: func() ProjectFeatures { q := p; q.ProjectID = "x"; return q }()}, boom},
	}
	for _, c := range cases {
		if _, err := c.r.Recommend(context.Background(), c.q); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := m.BestTeamSize(p, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("BestTeamSize(0): %v", err)
	}
	if _, err := m.BestTeamSize(ProjectFeatures{}, 3); !errors.Is(err, ErrInvalid) {
		t.Errorf("BestTeamSize(invalid): %v", err)
	}
	if rec, err := Recommend(m, p, 0, 2); err != nil || len(rec.Team.PredictedScoreBySize) != m.maxTeamSize {
		t.Errorf("Recommend default sizes: %d, %v", len(rec.Team.PredictedScoreBySize), err)
	}
}

type featureMap map[string]ProjectFeatures

func (f featureMap) Features(_ context.Context, id string) (ProjectFeatures, error) {
	p, ok := f[id]
	if !ok {
		return ProjectFeatures{}, registry.ErrNotFound
	}
	return p, nil
}

func TestRecommendProject(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	if _, err := NewRecommender(memorySource{m: m}).RecommendProject(context.Background(), "p"); !errors.Is(err, ErrNoFeatureSource) {
		t.Fatalf("no source: %v", err)
	}
	var asked string
	r := NewRecommender(memorySource{m: m},
		WithFeatureSource(featureMap{"p": synthHistory(1, 3)[0].Features}),
		WithSimilarFinder(SimilarFinderFunc(func(_ context.Context, q SimilarQuery) ([]SimilarProject, error) {
			asked = q.ProjectID
			return nil, nil
		})))
	rec, err := r.RecommendProject(context.Background(), "p")
	if err != nil || asked != "p" || rec.Forecast.Success.IntervalCoverage == 0 {
		t.Fatalf("RecommendProject: %+v %v (asked %q)", rec, err, asked)
	}
	if _, err := r.RecommendProject(context.Background(), "missing"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
}

package platform

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// TestLearningEndpoints runs the meta-model, recommendation and
// similarity suites on SQLite and PostgreSQL, each on one served platform
// with the built-in embedder.
func TestLearningEndpoints(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newRegEnv(t, open(t), testServerOptions{})
			t.Run("meta_models", func(t *testing.T) { testMetaModels(t, e) })
			t.Run("similarity", func(t *testing.T) { testSimilarity(t, e) })
			t.Run("overlap", func(t *testing.T) { testOverlap(t, e) })
			t.Run("cross_tenant", func(t *testing.T) { testIntelCrossTenant(t, e) })
			t.Run("tenant_deletion", func(t *testing.T) { testIntelTenantDeletion(t, e) })
		})
	}
}

// metaModelJSON is the part of a meta-model the tests look at.
type metaModelJSON struct {
	Version   int    `json:"version"`
	Active    bool   `json:"active"`
	Pinned    bool   `json:"pinned"`
	TrainedAt string `json:"trained_at"`
	NProjects int    `json:"n_projects"`
	Metrics   struct {
		CVMAE       *float64 `json:"cv_mae"`
		CVSpearman  *float64 `json:"cv_spearman"`
		BaselineMAE *float64 `json:"baseline_mae"`
	} `json:"metrics"`
	FeatureImportances map[string]float64 `json:"feature_importances"`
}

// recommendationJSON is the body of a recommendation.
type recommendationJSON struct {
	PredictedSuccessScore float64  `json:"predicted_success_score"`
	RelativeWidth         *float64 `json:"relative_width"`
	IntervalCoverage      float64  `json:"interval_coverage"`
	Interval              struct {
		Low  *float64 `json:"low"`
		High *float64 `json:"high"`
	} `json:"interval"`
	ModelVersion       int              `json:"model_version"`
	TopFactors         []map[string]any `json:"top_factors"`
	SuggestedArtifacts []map[string]any `json:"suggested_artifacts"`
	TeamComposition    struct {
		PlannedSize          int                `json:"planned_size"`
		RecommendedSize      int                `json:"recommended_size"`
		ProbabilityBetter    *float64           `json:"probability_better"`
		PredictedScoreBySize map[string]float64 `json:"predicted_score_by_size"`
		Reason               string             `json:"reason"`
	} `json:"team_composition"`
	Notes           []string         `json:"notes"`
	SimilarProjects []map[string]any `json:"similar_projects"`
	PredictionID    string           `json:"prediction_id"`
	Warnings        []string         `json:"warnings"`
}

// seedHistory creates n completed projects whose outcome falls with
// complexity and depends on the fit of team size to complexity, with a
// recorded artifact usage on the easier ones.
func seedHistory(t *testing.T, e *regEnv, token string, n int) {
	t.Helper()
	art := e.create(t, "/api/v1/artifacts", token, map[string]any{"name": "feature-store", "type": "feature_pipeline", "version": "1"})
	classes := []string{"classification", "regression", "forecasting"}
	for i := range n {
		complexity := 1 + i%10
		team := 1 + (i*7)%8
		id := e.create(t, "/api/v1/projects", token, map[string]any{
			"name": fmt.Sprintf("History %d", i), "problem_class": classes[i%3],
			"complexity_score": complexity, "team_size": team,
		})
		fit := float64(team) - 0.6*float64(complexity)
		perf := 0.97 - 0.05*float64(complexity) - 0.01*fit*fit + 0.01*float64(i%3)
		perf = max(0.05, min(1, perf))
		expect(t, e.do("PUT", "/api/v1/projects/"+id+"/outcome", token, map[string]any{
			"model_performance": perf, "business_impact": 20000 * float64(11-complexity),
			"deployment_days": 5 * float64(complexity), "compute_cost": 300 * float64(complexity),
		}), 200)
		if complexity <= 4 {
			e.create(t, "/api/v1/artifacts/"+art+"/usages", token, map[string]any{"project_id": id, "impact_score": 90})
		}
	}
}

// jobJSON is the API's view of a training job.
type jobJSON struct {
	Job struct {
		ID       string         `json:"id"`
		Status   string         `json:"status"`
		Progress float64        `json:"progress"`
		Model    *metaModelJSON `json:"model"`
		Error    string         `json:"error"`
	} `json:"job"`
}

// trainModel starts a training job as token, follows its Location until
// it ends and returns the model it trained, failing the test unless the
// job succeeded with progress reported along the way.
func trainModel(t *testing.T, ts *testServer, token string) metaModelJSON {
	t.Helper()
	r := expect(t, ts.do("POST", "/api/v1/meta-models/train", token, nil), 202)
	var j jobJSON
	r.json(t, &j)
	loc := r.header.Get("Location")
	if j.Job.ID == "" || loc != "/api/v1/meta-models/jobs/"+j.Job.ID || (j.Job.Status != "queued" && j.Job.Status != "running") {
		t.Fatalf("train answered %s with Location %q", r.body, loc)
	}
	return followJob(t, ts, token, loc)
}

// followJob polls a training job until it ends and returns its model.
func followJob(t *testing.T, ts *testServer, token, loc string) metaModelJSON {
	t.Helper()
	last := -1.0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var j jobJSON
		expect(t, ts.do("GET", loc, token, nil), 200).json(t, &j)
		if j.Job.Progress < last || j.Job.Progress < 0 || j.Job.Progress > 1 {
			t.Fatalf("job progress %v after %v", j.Job.Progress, last)
		}
		last = j.Job.Progress
		switch j.Job.Status {
		case "queued", "running":
			continue
		case "succeeded":
			if j.Job.Model == nil || j.Job.Progress != 1 || j.Job.Error != "" {
				t.Fatalf("succeeded job %+v", j.Job)
			}
			return *j.Job.Model
		default:
			t.Fatalf("job ended %+v", j.Job)
		}
	}
	t.Fatalf("job %s did not end within a minute", loc)
	return metaModelJSON{}
}

func testMetaModels(t *testing.T, e *regEnv) {
	const train = "/api/v1/meta-models/train"
	p := expect(t, e.do("POST", train, e.member, nil), 409).problem(t)
	if p.Code != "insufficient_history" || !strings.Contains(p.Detail, "20") {
		t.Fatalf("short history: %+v", p)
	}
	expect(t, e.do("POST", train, e.viewer, nil), 403)
	if ms := items[metaModelJSON](t, e.do("GET", "/api/v1/meta-models", e.viewer, nil)); len(ms) != 0 {
		t.Fatalf("models before training: %+v", ms)
	}
	adHoc := map[string]any{"problem_class": "classification", "complexity_score": 3, "team_size": 3}
	p = expect(t, e.do("POST", "/api/v1/recommendations", e.viewer, adHoc), 409).problem(t)
	if p.Code != "no_model" {
		t.Fatalf("recommendation without a model: %+v", p)
	}

	seedHistory(t, e, e.member, 24)
	m := trainModel(t, e.testServer, e.member)
	if m.Version != 1 || m.NProjects != 24 || m.TrainedAt == "" || m.Metrics.CVMAE == nil ||
		m.Metrics.CVSpearman == nil || m.Metrics.BaselineMAE == nil || len(m.FeatureImportances) == 0 {
		t.Fatalf("trained %+v", m)
	}
	list := items[metaModelJSON](t, e.do("GET", "/api/v1/meta-models", e.viewer, nil))
	if len(list) != 1 || !list[0].Active || list[0].Version != 1 {
		t.Fatalf("models %+v", list)
	}
	// One model by version: the object the list shows; another tenant's
	// or an unknown version is 404.
	var one metaModelJSON
	e.getJSON(t, "/api/v1/meta-models/1", e.viewer, &one)
	if one.Version != 1 || !one.Active || one.NProjects != 24 || one.Metrics.CVMAE == nil || len(one.FeatureImportances) != len(m.FeatureImportances) {
		t.Fatalf("meta-model 1: %+v", one)
	}
	for _, v := range []string{"2", "0", "x", "01"} {
		expect(t, e.do("GET", "/api/v1/meta-models/"+v, e.viewer, nil), 404)
	}
	expect(t, e.do("GET", "/api/v1/meta-models/1", e.other, nil), 404)
	// Jobs belong to their tenant; an unknown id is 404.
	expect(t, e.do("GET", "/api/v1/meta-models/jobs/00000000-0000-0000-0000-000000000000", e.viewer, nil), 404)
	expect(t, e.do("GET", "/api/v1/meta-models/jobs/nope", e.viewer, nil), 404)

	// Ad-hoc recommendations: the prediction changes with the input.
	recommend := func(body map[string]any, token string) recommendationJSON {
		t.Helper()
		var rec recommendationJSON
		expect(t, e.do("POST", "/api/v1/recommendations", token, body), 200).json(t, &rec)
		tc := rec.TeamComposition
		if rec.Interval.Low == nil || rec.Interval.High == nil ||
			*rec.Interval.Low > rec.PredictedSuccessScore || rec.PredictedSuccessScore > *rec.Interval.High ||
			rec.ModelVersion != 1 || tc.RecommendedSize < 1 || tc.PlannedSize < 1 || tc.ProbabilityBetter == nil ||
			*tc.ProbabilityBetter < 0 || *tc.ProbabilityBetter > 1 || !strings.Contains(tc.Reason, "not a measured cause") ||
			len(tc.PredictedScoreBySize) == 0 || rec.RelativeWidth == nil || *rec.RelativeWidth < 0 ||
			rec.IntervalCoverage <= 0 || rec.IntervalCoverage >= 1 || rec.Notes == nil ||
			rec.SimilarProjects == nil || rec.SuggestedArtifacts == nil || rec.TopFactors == nil {
			t.Fatalf("recommendation %+v", rec)
		}
		return rec
	}
	easy := recommend(adHoc, e.viewer)
	hard := recommend(map[string]any{"problem_class": "classification", "complexity_score": 9, "team_size": 3}, e.viewer)
	if easy.PredictedSuccessScore <= hard.PredictedSuccessScore {
		t.Fatalf("complexity 3 predicted %.2f, complexity 9 %.2f: want the easier project to score higher",
			easy.PredictedSuccessScore, hard.PredictedSuccessScore)
	}
	again := recommend(adHoc, e.viewer)
	if again.PredictedSuccessScore != easy.PredictedSuccessScore || again.PredictionID != "" {
		t.Fatalf("same input, different answer: %+v vs %+v", again, easy)
	}
	withSpec := recommend(map[string]any{"problem_class": "classification", "complexity_score": 3, "team_size": 3,
		"team":            []map[string]any{{"role": "ml_engineer", "experience_level": "senior"}},
		"process_metrics": map[string]float64{"pipeline_success_rate": 0.9},
		"description":     "History project"}, e.viewer)
	if len(withSpec.SimilarProjects) == 0 {
		t.Fatalf("no similar projects for a description: %+v", withSpec)
	}

	// Validation.
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"complexity_score": 3, "team_size": 3}, "problem_class"},
		{map[string]any{"problem_class": "classification", "team_size": 3}, "complexity_score"},
		{map[string]any{"problem_class": "astrology", "complexity_score": 3, "team_size": 3}, "problem_class"},
		{map[string]any{"problem_class": "nlp", "complexity_score": 30, "team_size": 3}, "complexity_score"},
		{map[string]any{"problem_class": "nlp", "complexity_score": 3, "team_size": 0}, "team_size"},
		{map[string]any{"problem_class": "nlp", "complexity_score": 3, "team_size": 2, "artifact_ids": []string{"nope"}}, "artifact_ids[0]"},
		{`{"problem_class":"nlp","complexity_score":1e999,"team_size":2}`, "complexity_score"},
		{map[string]any{"project_id": "x", "team_size": 3}, "project_id"},
	} {
		e.refused(t, "POST", "/api/v1/recommendations", c.body, 422, c.field, "/api/v1/meta-models")
	}

	// By project: stored, listed, later compared with the outcome.
	pid := e.create(t, "/api/v1/projects", e.member, map[string]any{"name": "History planned", "problem_class": "regression",
		"complexity_score": 4, "team_size": 3})
	preds := "/api/v1/projects/" + pid + "/predictions"
	// A viewer may ask for a registered project's recommendation, which
	// stores nothing; storing it is a member's write on the project.
	var viewed recommendationJSON
	expect(t, e.do("POST", "/api/v1/recommendations", e.viewer, map[string]any{"project_id": pid}), 200).json(t, &viewed)
	if viewed.PredictionID != "" {
		t.Fatalf("an unstored recommendation names a prediction: %+v", viewed)
	}
	expect(t, e.do("POST", "/api/v1/projects/"+pid+"/recommendations", e.viewer, nil), 403)
	if ps := items[map[string]any](t, e.do("GET", preds, e.viewer, nil)); len(ps) != 0 {
		t.Fatalf("recommendations that store nothing stored %+v", ps)
	}
	expect(t, e.do("POST", "/api/v1/projects/"+pid+"/recommendations", e.member, `{"x":1}`), 422)
	var rec recommendationJSON
	expect(t, e.do("POST", "/api/v1/projects/"+pid+"/recommendations", e.member, nil), 200).json(t, &rec)
	if rec.PredictionID == "" {
		t.Fatal("prediction not stored")
	}
	for _, s := range rec.SimilarProjects {
		if s["project_id"] == pid {
			t.Fatalf("a project is similar to itself: %+v", rec.SimilarProjects)
		}
	}
	ps := items[map[string]any](t, e.do("GET", preds, e.viewer, nil))
	// A stored prediction reads like the recommendation that stored it.
	if len(ps) != 1 || ps[0]["id"] != rec.PredictionID || ps[0]["actual_score"] != nil ||
		ps[0]["predicted_success_score"] != rec.PredictedSuccessScore || ps[0]["model_version"] != 1.0 ||
		ps[0]["interval_coverage"] != rec.IntervalCoverage {
		t.Fatalf("predictions %+v", ps)
	}
	if iv, ok := ps[0]["interval"].(map[string]any); !ok || iv["low"] != *rec.Interval.Low || iv["high"] != *rec.Interval.High {
		t.Fatalf("stored interval %+v, recommended [%v, %v]", ps[0]["interval"], *rec.Interval.Low, *rec.Interval.High)
	}
	var done projectJSON
	expect(t, e.do("PUT", "/api/v1/projects/"+pid+"/outcome", e.member, map[string]any{"model_performance": 0.8,
		"business_impact": 100000, "deployment_days": 20, "compute_cost": 1200}), 200).json(t, &done)
	ps = items[map[string]any](t, e.do("GET", preds, e.viewer, nil))
	if ps[0]["actual_score"] != *done.SuccessScore || ps[0]["error"] == nil || ps[0]["within_interval"] == nil {
		t.Fatalf("prediction not compared with the outcome: %+v", ps)
	}
	expect(t, e.do("POST", "/api/v1/recommendations", e.member, map[string]any{"project_id": "00000000-0000-0000-0000-000000000000"}), 404)
	expect(t, e.do("POST", "/api/v1/projects/00000000-0000-0000-0000-000000000000/recommendations", e.member, nil), 404)

	// Versions: pin, roll back, unpin. Version 2 is version 1 stored again
	// (training anew would give the same model, only slower).
	ctx := tenancy.WithTenant(context.Background(), e.me(e.member).Tenant.ID)
	m1, _, err := e.s.learn.models.Load(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.learn.models.Save(ctx, m1); err != nil {
		t.Fatal(err)
	}
	list = items[metaModelJSON](t, e.do("GET", "/api/v1/meta-models", e.viewer, nil))
	if len(list) != 2 || list[0].Version != 2 || !list[0].Active || list[1].Active {
		t.Fatalf("models after retraining %+v", list)
	}
	expect(t, e.do("POST", "/api/v1/meta-models/1/pin", e.member, nil), 403)
	expect(t, e.do("POST", "/api/v1/meta-models/9/pin", e.admin, nil), 404)
	expect(t, e.do("POST", "/api/v1/meta-models/x/pin", e.admin, nil), 404)
	var active metaModelJSON
	expect(t, e.do("POST", "/api/v1/meta-models/1/pin", e.admin, nil), 200).json(t, &active)
	if active.Version != 1 || !active.Pinned {
		t.Fatalf("pinned %+v", active)
	}
	if rec := recommend(adHoc, e.viewer); rec.ModelVersion != 1 {
		t.Fatalf("pinned version not used: %d", rec.ModelVersion)
	}
	if p := expect(t, e.do("POST", "/api/v1/meta-models/rollback", e.admin, nil), 409).problem(t); p.Code != "no_older_version" {
		t.Fatalf("rollback from the oldest version: %+v", p)
	}
	expect(t, e.do("DELETE", "/api/v1/meta-models/pin", e.admin, nil), 204)
	expect(t, e.do("POST", "/api/v1/meta-models/rollback", e.admin, nil), 200).json(t, &active)
	if active.Version != 1 {
		t.Fatalf("rolled back to %+v", active)
	}
}

func testIntelCrossTenant(t *testing.T, e *regEnv) {
	pid := e.create(t, "/api/v1/projects", e.member, map[string]any{"name": "Secret fraud engine", "problem_class": "anomaly_detection",
		"complexity_score": 7, "team_size": 5, "spec": map[string]any{"user_stories": []string{"As an analyst I flag fraud"}}})
	e.assertStatuses(t, e.other, []statusCase{
		{"GET", "/api/v1/projects/" + pid + "/similar", nil, 404},
		{"GET", "/api/v1/projects/" + pid + "/predictions", nil, 404},
		{"POST", "/api/v1/specs/overlap", map[string]any{"project_id": pid, "spec": map[string]any{"user_stories": []string{"x"}}}, 404},
		{"POST", "/api/v1/recommendations", map[string]any{"project_id": pid}, 404},
		{"POST", "/api/v1/projects/" + pid + "/recommendations", nil, 404},
		{"POST", "/api/v1/meta-models/1/pin", nil, 403},
	})
	// The other tenant sees none of this tenant's projects or models.
	var res struct {
		Items []map[string]any `json:"items"`
	}
	expect(t, e.do("POST", "/api/v1/specs/similar", e.other, map[string]any{"text": "Secret fraud engine analyst flag fraud"}), 200).json(t, &res)
	for _, it := range res.Items {
		if it["project_id"] == pid {
			t.Fatalf("another tenant found the project: %+v", res.Items)
		}
	}
	if ms := items[metaModelJSON](t, e.do("GET", "/api/v1/meta-models", e.other, nil)); len(ms) != 0 {
		t.Fatalf("another tenant lists models %+v", ms)
	}
	expect(t, e.do("POST", "/api/v1/recommendations", e.other,
		map[string]any{"problem_class": "nlp", "complexity_score": 3, "team_size": 2}), 409)
}

func testIntelTenantDeletion(t *testing.T, e *regEnv) {
	gamma := e.createTenant(e.admin, "gamma")
	e.addMember(e.admin, gamma, "gina", memberPassword, "member")
	tok := e.login("gina", memberPassword, "").AccessToken
	pid := e.create(t, "/api/v1/projects", tok, fraudA)
	e.create(t, "/api/v1/projects", tok, fraudB)
	if got := items[matchJSON](t, e.do("GET", "/api/v1/projects/"+pid+"/similar", tok, nil)); len(got) != 1 {
		t.Fatalf("similar in gamma: %+v", got)
	}
	gctx := tenancy.WithTenant(context.Background(), gamma)
	if err := e.s.learn.idx.Record(gctx, pid); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("DELETE", "/api/v1/tenants/"+gamma, e.admin, nil), 204)
	if rows, err := e.s.learn.idx.Pending(gctx, 10); err != nil || len(rows) != 0 {
		t.Fatalf("a deleted tenant's pending projects are kept: %+v, %v", rows, err)
	}
}

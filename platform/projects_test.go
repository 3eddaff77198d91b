package platform

import (
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// TestRegistryEndpoints runs the registry's endpoint suites on SQLite and
// PostgreSQL, each on one served platform.
func TestRegistryEndpoints(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newRegEnv(t, open(t), testServerOptions{})
			t.Run("projects", func(t *testing.T) { testProjects(t, e) })
			t.Run("outcome", func(t *testing.T) { testOutcome(t, e) })
			t.Run("team", func(t *testing.T) { testTeam(t, e) })
			t.Run("process_metrics", func(t *testing.T) { testProcessMetrics(t, e) })
			t.Run("experiments", func(t *testing.T) { testExperiments(t, e) })
			t.Run("metrics", func(t *testing.T) { testMetrics(t, e) })
			t.Run("artifacts", func(t *testing.T) { testArtifacts(t, e) })
			t.Run("models", func(t *testing.T) { testModels(t, e) })
			t.Run("cross_tenant", func(t *testing.T) { testRegistryCrossTenant(t, e) })
		})
	}
}

// projectJSON is the part of a project the tests look at.
type projectJSON struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	ProblemClass    string   `json:"problem_class"`
	ComplexityScore int      `json:"complexity_score"`
	TeamSize        int      `json:"team_size"`
	Description     string   `json:"description"`
	Tags            []string `json:"tags"`
	Status          string   `json:"status"`
	SuccessScore    *float64 `json:"success_score"`
	Spec            struct {
		UserStories []string `json:"user_stories"`
	} `json:"spec"`
}

func testProjects(t *testing.T, e *regEnv) {
	body := projectBody("Churn model", 6)
	body["description"] = "Predict which customers leave"
	body["tags"] = []string{"retention", "b2c"}
	body["spec"] = map[string]any{"user_stories": []string{"As an analyst I see churn risk per customer"}}
	r := expect(t, e.do("POST", "/api/v1/projects", e.member, body), 201)
	var p projectJSON
	r.json(t, &p)
	if p.ID == "" || p.Status != "active" || p.SuccessScore != nil || p.ComplexityScore != 6 ||
		len(p.Tags) != 2 || len(p.Spec.UserStories) != 1 {
		t.Fatalf("created %s", r.body)
	}
	if !strings.Contains(string(r.body), `"success_score":null`) {
		t.Fatalf("success_score not null: %s", r.body)
	}
	var got projectJSON
	e.getJSON(t, "/api/v1/projects/"+p.ID, e.viewer, &got)
	if got.Name != "Churn model" || got.Description != "Predict which customers leave" {
		t.Fatalf("get %+v", got)
	}

	// Filters and pagination.
	e.create(t, "/api/v1/projects", e.member, map[string]any{"name": "Demand forecast", "problem_class": "forecasting",
		"complexity_score": 3, "team_size": 2, "tags": []string{"retention"}})
	list := items[projectJSON](t, e.do("GET", "/api/v1/projects?problem_class=forecasting", e.viewer, nil))
	if len(list) != 1 || list[0].Name != "Demand forecast" {
		t.Fatalf("problem_class filter: %+v", list)
	}
	list = items[projectJSON](t, e.do("GET", "/api/v1/projects?q=churn", e.viewer, nil))
	if len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("q filter: %+v", list)
	}
	list = items[projectJSON](t, e.do("GET", "/api/v1/projects?tag=retention&tag=b2c", e.viewer, nil))
	if len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("tag filter: %+v", list)
	}
	var page struct {
		Items      []projectJSON `json:"items"`
		NextCursor *string       `json:"next_cursor"`
	}
	e.getJSON(t, "/api/v1/projects?limit=1", e.viewer, &page)
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("first page %+v", page)
	}
	first := page.Items[0].ID
	e.getJSON(t, "/api/v1/projects?limit=1&cursor="+*page.NextCursor, e.viewer, &page)
	if len(page.Items) != 1 || page.Items[0].ID == first {
		t.Fatalf("second page %+v", page)
	}
	for _, q := range []string{"problem_class=astrology", "status=finished", "limit=0", "limit=1001", "cursor=bogus"} {
		r := e.do("GET", "/api/v1/projects?"+q, e.viewer, nil)
		if r.status != 400 && r.status != 422 {
			t.Fatalf("?%s: status %d %s", q, r.status, r.body)
		}
		r.problem(t)
	}

	// Validation: 422 naming the field, nothing created.
	const all = "/api/v1/projects?limit=1000"
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"name": "x", "problem_class": "astrology", "complexity_score": 5, "team_size": 1}, "problem_class"},
		{map[string]any{"name": "x", "problem_class": "nlp", "complexity_score": 0, "team_size": 1}, "complexity_score"},
		{map[string]any{"name": "x", "problem_class": "nlp", "complexity_score": 11, "team_size": 1}, "complexity_score"},
		{map[string]any{"name": "x", "problem_class": "nlp", "complexity_score": 5.5, "team_size": 1}, "complexity_score"},
		{map[string]any{"name": "x", "problem_class": "nlp", "complexity_score": "5", "team_size": 1}, "complexity_score"},
		{map[string]any{"name": "x", "problem_class": "nlp", "complexity_score": 5, "team_size": 0}, "team_size"},
		{map[string]any{"name": "", "problem_class": "nlp", "complexity_score": 5, "team_size": 1}, "name"},
		{map[string]any{"name": "x", "problem_class": "nlp", "complexity_score": 5, "team_size": 1, "owner": "me"}, "owner"},
		{`{"name":"x","problem_class":"nlp","complexity_score":1e400,"team_size":1}`, "complexity_score"},
	} {
		e.refused(t, "POST", "/api/v1/projects", c.body, 422, c.field, all)
	}
	e.refused(t, "POST", "/api/v1/projects", `{"name":`, 400, "", all)
	r = expect(t, e.do("POST", "/api/v1/projects", e.member, "{}", "Content-Type", "text/plain"), 415)
	r.problem(t)

	// Update.
	r = expect(t, e.do("PATCH", "/api/v1/projects/"+p.ID, e.member, map[string]any{"complexity_score": 7, "status": "on_hold"}), 200)
	r.json(t, &got)
	if got.ComplexityScore != 7 || got.Status != "on_hold" || got.Name != "Churn model" {
		t.Fatalf("patched %s", r.body)
	}
	one := "/api/v1/projects/" + p.ID
	e.refused(t, "PATCH", one, map[string]any{"complexity_score": 12}, 422, "complexity_score", one)
	e.refused(t, "PATCH", one, map[string]any{"status": "completed"}, 422, "status", one)
	e.refused(t, "PATCH", one, map[string]any{"problem_class": "magic"}, 422, "problem_class", one)

	// Roles: a viewer reads but cannot write.
	e.assertStatuses(t, e.viewer, []statusCase{
		{"POST", "/api/v1/projects", projectBody("v", 1), 403},
		{"PATCH", one, map[string]any{"name": "v"}, 403},
		{"DELETE", one, nil, 403},
		{"GET", one, nil, 200},
	})
	e.assertStatuses(t, "", []statusCase{{"GET", one, nil, 401}})

	// Delete.
	id := e.create(t, "/api/v1/projects", e.member, projectBody("Doomed", 2))
	expect(t, e.do("DELETE", "/api/v1/projects/"+id, e.member, nil), 204)
	expect(t, e.do("GET", "/api/v1/projects/"+id, e.member, nil), 404).problem(t)
	expect(t, e.do("DELETE", "/api/v1/projects/"+id, e.member, nil), 404).problem(t)
}

func testOutcome(t *testing.T, e *regEnv) {
	id := e.create(t, "/api/v1/projects", e.member, projectBody("Scored", 5))
	path := "/api/v1/projects/" + id + "/outcome"
	one := "/api/v1/projects/" + id
	good := map[string]any{"model_performance": 0.9, "business_impact": 250000, "deployment_days": 45, "compute_cost": 1200}
	for field, bad := range map[string]any{
		"model_performance": 1.5, "business_impact": -1, "deployment_days": 0, "compute_cost": -0.01,
	} {
		body := map[string]any{}
		for k, v := range good {
			body[k] = v
		}
		body[field] = bad
		e.refused(t, "PUT", path, body, 422, field, one)
	}
	e.refused(t, "PUT", path, map[string]any{"model_performance": 0.9, "business_impact": 1, "deployment_days": 3}, 422, "compute_cost", one)
	e.refused(t, "PUT", path, `{"model_performance":0.9,"business_impact":1e999,"deployment_days":3,"compute_cost":1}`, 422, "business_impact", one)
	e.refused(t, "PUT", path, `{"model_performance":"NaN","business_impact":1,"deployment_days":3,"compute_cost":1}`, 422, "model_performance", one)
	expect(t, e.do("PUT", path, e.viewer, good), 403).problem(t)

	var p projectJSON
	expect(t, e.do("PUT", path, e.member, good), 200).json(t, &p)
	if p.Status != "completed" || p.SuccessScore == nil || *p.SuccessScore <= 0 || *p.SuccessScore > 100 {
		t.Fatalf("outcome %+v", p)
	}
	// A better outcome scores higher: the score follows the documented formula's direction.
	better := map[string]any{"model_performance": 0.95, "business_impact": 900000, "deployment_days": 10, "compute_cost": 100}
	var q projectJSON
	expect(t, e.do("PUT", path, e.member, better), 200).json(t, &q)
	if *q.SuccessScore <= *p.SuccessScore {
		t.Fatalf("better outcome scored %v <= %v", *q.SuccessScore, *p.SuccessScore)
	}
	expect(t, e.do("PUT", "/api/v1/projects/00000000-0000-0000-0000-000000000000/outcome", e.member, good), 404).problem(t)
}

func testTeam(t *testing.T, e *regEnv) {
	id := e.create(t, "/api/v1/projects", e.member, projectBody("Team project", 4))
	path := "/api/v1/projects/" + id + "/team"
	mid := e.create(t, path, e.member, map[string]any{"name": "Ada", "role": "ml_engineer", "experience_level": "senior", "contribution_hours": 120})
	e.create(t, path, e.member, map[string]any{"name": "Grace", "role": "data_scientist", "experience_level": "junior"})
	for field, body := range map[string]map[string]any{
		"experience_level":   {"name": "X", "role": "r", "experience_level": "wizard"},
		"role":               {"name": "X", "role": "", "experience_level": "mid"},
		"contribution_hours": {"name": "X", "role": "r", "experience_level": "mid", "contribution_hours": -3},
	} {
		e.refused(t, "POST", path, body, 422, field, path)
	}
	expect(t, e.do("POST", path, e.viewer, map[string]any{"name": "V", "role": "r", "experience_level": "mid"}), 403)
	team := items[map[string]any](t, e.do("GET", path, e.viewer, nil))
	if len(team) != 2 || team[0]["name"] != "Ada" || team[0]["experience_level"] != "senior" {
		t.Fatalf("team %+v", team)
	}
	page := items[map[string]any](t, e.do("GET", path+"?limit=1&cursor=1", e.viewer, nil))
	if len(page) != 1 || page[0]["name"] != "Grace" {
		t.Fatalf("team page %+v", page)
	}
	expect(t, e.do("GET", path+"?cursor=-4", e.viewer, nil), 400).problem(t)
	expect(t, e.do("DELETE", path+"/"+mid, e.viewer, nil), 403)
	expect(t, e.do("DELETE", path+"/"+mid, e.member, nil), 204)
	if team := items[map[string]any](t, e.do("GET", path, e.viewer, nil)); len(team) != 1 {
		t.Fatalf("team after removal %+v", team)
	}
}

func testProcessMetrics(t *testing.T, e *regEnv) {
	id := e.create(t, "/api/v1/projects", e.member, projectBody("Process", 4))
	path := "/api/v1/projects/" + id + "/process-metrics"
	batch := []map[string]any{
		{"metric_type": "commits", "value": 40, "timestamp": "2026-01-05T00:00:00Z"},
		{"metric_type": "commits", "value": 60, "timestamp": "2026-01-19T00:00:00Z"},
		{"metric_type": "pipeline_success_rate", "value": 0.8, "timestamp": "2026-01-05T00:00:00Z"},
		{"metric_type": "pipeline_success_rate", "value": 0.9, "timestamp": "2026-01-19T00:00:00Z"},
	}
	expect(t, e.do("POST", path, e.member, batch), 204)
	var sum struct {
		Metrics []struct {
			MetricType  string  `json:"metric_type"`
			Count       int     `json:"count"`
			LastValue   float64 `json:"last_value"`
			RatePerWeek float64 `json:"rate_per_week"`
		} `json:"metrics"`
	}
	e.getJSON(t, path+"/summary", e.viewer, &sum)
	if len(sum.Metrics) != 2 || sum.Metrics[0].MetricType != "commits" || sum.Metrics[0].Count != 2 ||
		sum.Metrics[0].RatePerWeek != 50 || sum.Metrics[1].LastValue != 0.9 {
		t.Fatalf("summary %+v", sum)
	}
	// One bad value refuses the whole batch.
	for _, c := range []struct {
		body  any
		field string
	}{
		{[]map[string]any{{"metric_type": "commits", "value": 1}, {"metric_type": "Bad Type!", "value": 2}}, "metric_type"},
		{[]map[string]any{{"metric_type": "commits", "value": 1}, {"metric_type": "commits"}}, "[1].value"},
		{[]map[string]any{{"metric_type": "commits", "value": 1, "timestamp": "yesterday"}}, "[0].timestamp"},
		{`[{"metric_type":"commits","value":1},{"metric_type":"commits","value":1e500}]`, "value"},
		{[]map[string]any{}, "(body)"},
	} {
		e.refused(t, "POST", path, c.body, 422, c.field, path+"/summary", path)
	}
	big := make([]map[string]any, 10001)
	for i := range big {
		big[i] = map[string]any{"metric_type": "commits", "value": 1}
	}
	e.refused(t, "POST", path, big, 413, "", path+"/summary")
	expect(t, e.do("POST", path, e.viewer, batch), 403)
	list := items[map[string]any](t, e.do("GET", path+"?metric_type=commits", e.viewer, nil))
	if len(list) != 2 {
		t.Fatalf("listed %d commits", len(list))
	}
}

func testRegistryCrossTenant(t *testing.T, e *regEnv) {
	pid := e.create(t, "/api/v1/projects", e.member, projectBody("Private", 3))
	eid := e.create(t, "/api/v1/projects/"+pid+"/experiments", e.member, map[string]any{"name": "exp"})
	rid := e.create(t, "/api/v1/experiments/"+eid+"/runs", e.member, map[string]any{})
	mid := e.create(t, "/api/v1/projects/"+pid+"/team", e.member, map[string]any{"name": "A", "role": "r", "experience_level": "mid"})
	aid := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "private-art", "type": "dataset", "version": "1"})
	expect(t, e.do("PUT", "/api/v1/artifacts/"+aid+"/content", e.member, "secret bytes"), 200)
	e.create(t, "/api/v1/models", e.member, map[string]any{"name": "private-model"})
	expect(t, e.do("POST", "/api/v1/models/private-model/versions", e.member, map[string]any{"source": "s3://m/1"}), 201)
	expect(t, e.do("PUT", "/api/v1/models/private-model/aliases/prod", e.member, map[string]any{"version": 1}), 200)

	one := "/api/v1/projects/" + pid
	before := e.snapshot(t, one)
	cases := []statusCase{
		{"GET", one, nil, 404},
		{"PATCH", one, map[string]any{"name": "stolen"}, 404},
		{"DELETE", one, nil, 404},
		{"PUT", one + "/outcome", map[string]any{"model_performance": 0.5, "business_impact": 1, "deployment_days": 1, "compute_cost": 1}, 404},
		{"POST", one + "/team", map[string]any{"name": "B", "role": "r", "experience_level": "mid"}, 404},
		{"GET", one + "/team", nil, 404},
		{"DELETE", one + "/team/" + mid, nil, 404},
		{"POST", one + "/process-metrics", []map[string]any{{"metric_type": "commits", "value": 1}}, 404},
		{"GET", one + "/process-metrics", nil, 404},
		{"GET", one + "/process-metrics/summary", nil, 404},
		{"POST", one + "/experiments", map[string]any{"name": "x"}, 404},
		{"GET", one + "/experiments", nil, 404},
		{"GET", "/api/v1/experiments/" + eid, nil, 404},
		{"POST", "/api/v1/experiments/" + eid + "/runs", map[string]any{}, 404},
		{"GET", "/api/v1/experiments/" + eid + "/runs", nil, 404},
		{"GET", "/api/v1/runs/" + rid, nil, 404},
		{"PATCH", "/api/v1/runs/" + rid, map[string]any{"status": "killed"}, 404},
		{"POST", "/api/v1/runs/" + rid + "/metrics", []map[string]any{{"key": "loss", "value": 1}}, 404},
		{"GET", "/api/v1/runs/" + rid + "/metrics", nil, 404},
		{"GET", "/api/v1/runs/" + rid + "/metrics/loss", nil, 404},
		{"GET", "/api/v1/artifacts/" + aid, nil, 404},
		{"DELETE", "/api/v1/artifacts/" + aid, nil, 404},
		{"PUT", "/api/v1/artifacts/" + aid + "/content", "overwrite", 404},
		{"GET", "/api/v1/artifacts/" + aid + "/content", nil, 404},
		{"POST", "/api/v1/artifacts/" + aid + "/usages", map[string]any{"project_id": pid}, 404},
		{"GET", "/api/v1/artifacts/" + aid + "/usages", nil, 404},
		{"GET", "/api/v1/models/private-model", nil, 404},
		{"POST", "/api/v1/models/private-model/versions", map[string]any{"source": "x"}, 404},
		{"GET", "/api/v1/models/private-model/versions", nil, 404},
		{"GET", "/api/v1/models/private-model/versions/1", nil, 404},
		{"GET", "/api/v1/models/private-model/aliases", nil, 404},
		{"GET", "/api/v1/models/private-model/aliases/prod", nil, 404},
		{"PUT", "/api/v1/models/private-model/aliases/prod", map[string]any{"version": 1}, 404},
		{"DELETE", "/api/v1/models/private-model/aliases/prod", nil, 404},
	}
	e.assertStatuses(t, e.other, cases)
	if after := e.snapshot(t, one); after != before {
		t.Fatalf("another tenant changed the project:\n%s\n%s", before, after)
	}
	// The other tenant's lists do not show the project, and its own ids
	// are invisible here.
	if list := items[projectJSON](t, e.do("GET", "/api/v1/projects?q=Private", e.other, nil)); len(list) != 0 {
		t.Fatalf("other tenant lists %+v", list)
	}
	theirs := e.create(t, "/api/v1/projects", e.other, projectBody("Theirs", 2))
	expect(t, e.do("GET", "/api/v1/projects/"+theirs, e.member, nil), 404)
	// A usage naming another tenant's project is refused too.
	r := e.do("POST", "/api/v1/artifacts/"+aid+"/usages", e.member, map[string]any{"project_id": theirs})
	if r.status != 404 && r.status != 422 {
		t.Fatalf("usage with a foreign project: %d %s", r.status, r.body)
	}
	if c := e.snapshot(t, "/api/v1/artifacts/"+aid); !strings.Contains(c, `"usage_count":0`) {
		t.Fatalf("usage recorded: %s", c)
	}
}

package platform

import (
	"fmt"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// TestRunEndpoints runs the run and experiment suites (tags, update,
// delete and restore, search, bulk latest metrics) on SQLite and
// PostgreSQL, with MLflow's API mounted beside /api/v1.
func TestRunEndpoints(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newRegEnv(t, open(t), testServerOptions{opts: []Option{WithMLflow()}})
			t.Run("tags", func(t *testing.T) { testRunTags(t, e) })
			t.Run("update_delete", func(t *testing.T) { testRunUpdateDelete(t, e) })
			t.Run("experiments", func(t *testing.T) { testExperimentLifecycle(t, e) })
			t.Run("search", func(t *testing.T) { testRunSearch(t, e) })
			t.Run("latest_metrics", func(t *testing.T) { testLatestMetrics(t, e) })
		})
	}
}

// runJSON is the part of a run the tests look at.
type runJSON struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Status    string            `json:"status"`
	Params    map[string]string `json:"params"`
	Tags      map[string]string `json:"tags"`
	Lifecycle string            `json:"lifecycle"`
	StartedAt string            `json:"started_at"`
	EndedAt   *string           `json:"ended_at"`
}

// newExperiment creates a project and an experiment in it and returns
// the experiment's id.
func newExperiment(t *testing.T, e *regEnv, name string) (pid, eid string) {
	t.Helper()
	pid = e.create(t, "/api/v1/projects", e.member, projectBody("P "+name, 3))
	return pid, e.create(t, "/api/v1/projects/"+pid+"/experiments", e.member, map[string]any{"name": name})
}

func testRunTags(t *testing.T, e *regEnv) {
	_, eid := newExperiment(t, e, "tags")
	rid := e.create(t, "/api/v1/experiments/"+eid+"/runs", e.member, map[string]any{"name": "tagged"})
	one := "/api/v1/runs/" + rid
	var run runJSON
	e.getJSON(t, one, e.viewer, &run)
	if run.Tags == nil || len(run.Tags) != 0 || run.Lifecycle != "active" {
		t.Fatalf("new run %+v", run)
	}
	expect(t, e.do("PUT", one+"/tags/team", e.member, map[string]any{"value": "a"}), 200).json(t, &run)
	expect(t, e.do("PUT", one+"/tags/data/version", e.member, map[string]any{"value": "v2"}), 200).json(t, &run)
	if run.Tags["team"] != "a" || run.Tags["data/version"] != "v2" {
		t.Fatalf("tags %+v", run.Tags)
	}
	e.refused(t, "PUT", one+"/tags/team", map[string]any{}, 422, "value", one)
	e.refused(t, "PUT", one+"/tags/bad%0Akey", map[string]any{"value": "x"}, 422, "", one)
	expect(t, e.do("PUT", one+"/tags/team", e.viewer, map[string]any{"value": "b"}), 403)

	// The same tags through MLflow's API, both ways.
	var got struct {
		Run struct {
			Data struct {
				Tags []struct{ Key, Value string } `json:"tags"`
			} `json:"data"`
		} `json:"run"`
	}
	expect(t, e.do("GET", "/api/2.0/mlflow/runs/get?run_id="+rid, e.viewer, nil), 200).json(t, &got)
	seen := map[string]string{}
	for _, kv := range got.Run.Data.Tags {
		seen[kv.Key] = kv.Value
	}
	if seen["team"] != "a" || seen["data/version"] != "v2" {
		t.Fatalf("MLflow sees tags %+v", got.Run.Data.Tags)
	}
	expect(t, e.do("POST", "/api/2.0/mlflow/runs/set-tag", e.member, map[string]any{"run_id": rid, "key": "owner", "value": "ada"}), 200)
	expect(t, e.do("POST", "/api/2.0/mlflow/runs/delete-tag", e.member, map[string]any{"run_id": rid, "key": "team"}), 200)
	run = runJSON{} // decoding into a map merges
	e.getJSON(t, one, e.viewer, &run)
	if run.Tags["owner"] != "ada" || run.Tags["team"] != "" || len(run.Tags) != 2 {
		t.Fatalf("tags after MLflow's set-tag and delete-tag %+v", run.Tags)
	}

	expect(t, e.do("DELETE", one+"/tags/owner", e.member, nil), 204)
	expect(t, e.do("DELETE", one+"/tags/owner", e.member, nil), 404).problem(t)
	run = runJSON{}
	e.getJSON(t, one, e.viewer, &run)
	if len(run.Tags) != 1 || run.Tags["data/version"] != "v2" {
		t.Fatalf("tags after delete %+v", run.Tags)
	}
}

func testRunUpdateDelete(t *testing.T, e *regEnv) {
	_, eid := newExperiment(t, e, "update")
	runs := "/api/v1/experiments/" + eid + "/runs"
	rid := e.create(t, runs, e.member, map[string]any{"name": "first", "params": map[string]string{"lr": "0.1"}})
	one := "/api/v1/runs/" + rid
	var run runJSON
	e.getJSON(t, one, e.viewer, &run)

	// Name, status, end time and parameters, all or nothing.
	e.refused(t, "PATCH", one, map[string]any{"ended_at": "1999-01-01T00:00:00Z"}, 422, "ended_at", one)
	e.refused(t, "PATCH", one, map[string]any{"status": "running", "ended_at": "2099-01-01T00:00:00Z"}, 422, "ended_at", one)
	e.refused(t, "PATCH", one, map[string]any{"name": "renamed", "params": map[string]string{"lr": "0.2"}}, 422, "", one)
	e.refused(t, "PATCH", one, map[string]any{"name": ""}, 422, "name", one)
	e.refused(t, "PATCH", one, map[string]any{"ended_at": "yesterday"}, 400, "", one)
	expect(t, e.do("PATCH", one, e.member, map[string]any{"name": "renamed", "params": map[string]string{"epochs": "3"}}), 200).json(t, &run)
	if run.Name != "renamed" || run.Params["epochs"] != "3" || run.Params["lr"] != "0.1" || run.Status != "running" || run.EndedAt != nil {
		t.Fatalf("patched run %+v", run)
	}
	expect(t, e.do("PATCH", one, e.member, map[string]any{"status": "failed"}), 200).json(t, &run)
	if run.Status != "failed" || run.EndedAt == nil || *run.EndedAt < run.StartedAt {
		t.Fatalf("failed run %+v", run)
	}
	expect(t, e.do("PATCH", one, e.member, map[string]any{"status": "finished", "ended_at": "2099-01-02T03:04:05.1234567+02:00"}), 200).json(t, &run)
	if run.Status != "finished" || run.EndedAt == nil || *run.EndedAt != "2099-01-02T01:04:05.123456Z" {
		t.Fatalf("finished run %+v", run)
	}
	expect(t, e.do("PATCH", one, e.member, map[string]any{"status": "running"}), 200).json(t, &run)
	if run.EndedAt != nil {
		t.Fatalf("running again %+v", run)
	}

	// Soft delete: hidden from the list, shown when asked, restorable.
	other := e.create(t, runs, e.member, map[string]any{"name": "second"})
	expect(t, e.do("DELETE", one, e.viewer, nil), 403)
	expect(t, e.do("DELETE", one, e.member, nil), 204)
	e.getJSON(t, one, e.viewer, &run)
	if run.Lifecycle != "deleted" {
		t.Fatalf("deleted run %+v", run)
	}
	listed := func(q string) []string {
		var ids []string
		for _, r := range items[runJSON](t, e.do("GET", runs+q, e.viewer, nil)) {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := listed(""); len(got) != 1 || got[0] != other {
		t.Fatalf("active runs %v", got)
	}
	if got := listed("?lifecycle=deleted"); len(got) != 1 || got[0] != rid {
		t.Fatalf("deleted runs %v", got)
	}
	if got := listed("?lifecycle=all"); len(got) != 2 {
		t.Fatalf("all runs %v", got)
	}
	expect(t, e.do("GET", runs+"?lifecycle=gone", e.viewer, nil), 400).problem(t)
	e.refused(t, "PUT", one+"/tags/x", map[string]any{"value": "y"}, 422, "run_id", one)
	e.refused(t, "DELETE", one+"/tags/team", nil, 422, "run_id", one)
	e.refused(t, "POST", one+"/metrics", []map[string]any{{"key": "loss", "value": 1}}, 422, "run_id", one+"/metrics")
	expect(t, e.do("POST", one+"/restore", e.member, nil), 200).json(t, &run)
	if run.Lifecycle != "active" || len(listed("")) != 2 {
		t.Fatalf("restored run %+v", run)
	}
	expect(t, e.do("DELETE", "/api/v1/runs/00000000-0000-0000-0000-000000000000", e.member, nil), 404)
}

// experimentJSON is the part of an experiment the tests look at.
type experimentJSON struct {
	ID          string `json:"id"`
	ProjectID   string `json:"project_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Lifecycle   string `json:"lifecycle"`
}

func testExperimentLifecycle(t *testing.T, e *regEnv) {
	pid, eid := newExperiment(t, e, "Churn Baseline")
	e.create(t, "/api/v1/projects/"+pid+"/experiments", e.member, map[string]any{"name": "tuned"})
	otherPID, _ := newExperiment(t, e, "elsewhere")
	names := func(path string) []string {
		var out []string
		for _, x := range items[experimentJSON](t, e.do("GET", path, e.viewer, nil)) {
			out = append(out, x.Name)
		}
		return out
	}
	if got := names("/api/v1/experiments?project_id=" + pid); len(got) != 2 || got[0] != "Churn Baseline" || got[1] != "tuned" {
		t.Fatalf("project's experiments %v", got)
	}
	if got := names("/api/v1/experiments?q=CHURN"); len(got) != 1 || got[0] != "Churn Baseline" {
		t.Fatalf("experiments named like churn %v", got)
	}
	if got := names("/api/v1/experiments?q=%25"); len(got) != 0 {
		t.Fatalf("a %% matches only a literal %%: %v", got)
	}
	if got := names("/api/v1/experiments"); len(got) < 3 {
		t.Fatalf("tenant's experiments %v", got)
	}
	expect(t, e.do("GET", "/api/v1/experiments?project_id="+otherPID+"&lifecycle=nope", e.viewer, nil), 400).problem(t)
	expect(t, e.do("GET", "/api/v1/experiments?project_id=00000000-0000-0000-0000-000000000000", e.viewer, nil), 404).problem(t)
	// Another tenant's project is unknown; its experiments are not listed.
	expect(t, e.do("GET", "/api/v1/experiments?project_id="+pid, e.other, nil), 404).problem(t)
	if got := names2(t, e, e.other); len(got) != 0 {
		t.Fatalf("beta sees %v", got)
	}

	// Update: name (unique in the project, 409 naming it) and description.
	one := "/api/v1/experiments/" + eid
	p := e.refused(t, "PATCH", one, map[string]any{"name": "tuned"}, 409, "", one)
	if !strings.Contains(p.Detail, "tuned") {
		t.Fatalf("conflict %+v does not name the experiment", p)
	}
	e.refused(t, "PATCH", one, map[string]any{"name": " "}, 422, "name", one)
	var x experimentJSON
	expect(t, e.do("PATCH", one, e.member, map[string]any{"name": "baseline", "description": "logistic"}), 200).json(t, &x)
	if x.Name != "baseline" || x.Description != "logistic" || x.Lifecycle != "active" {
		t.Fatalf("patched %+v", x)
	}
	expect(t, e.do("PATCH", one, e.viewer, map[string]any{"name": "v"}), 403)

	// Soft delete with the runs; restore brings both back.
	rid := e.create(t, one+"/runs", e.member, map[string]any{})
	expect(t, e.do("DELETE", one, e.member, nil), 204)
	if got := names("/api/v1/projects/" + pid + "/experiments"); len(got) != 1 || got[0] != "tuned" {
		t.Fatalf("after delete %v", got)
	}
	if got := names("/api/v1/projects/" + pid + "/experiments?lifecycle=deleted"); len(got) != 1 || got[0] != "baseline" {
		t.Fatalf("deleted experiments %v", got)
	}
	var run runJSON
	e.getJSON(t, "/api/v1/runs/"+rid, e.viewer, &run)
	if run.Lifecycle != "deleted" {
		t.Fatalf("run of a deleted experiment %+v", run)
	}
	e.refused(t, "POST", one+"/runs", map[string]any{}, 422, "experiment_id", one+"/runs?lifecycle=all")
	e.refused(t, "POST", "/api/v1/runs/"+rid+"/restore", nil, 422, "experiment_id", "/api/v1/runs/"+rid)
	expect(t, e.do("POST", one+"/restore", e.member, nil), 200).json(t, &x)
	e.getJSON(t, "/api/v1/runs/"+rid, e.viewer, &run)
	if x.Lifecycle != "active" || run.Lifecycle != "active" {
		t.Fatalf("restored %+v, run %+v", x, run)
	}
}

// names2 lists the experiments token's tenant sees.
func names2(t *testing.T, e *regEnv, token string) []string {
	t.Helper()
	var out []string
	for _, x := range items[experimentJSON](t, e.do("GET", "/api/v1/experiments", token, nil)) {
		out = append(out, x.Name)
	}
	return out
}

// searchPage is the answer of a run search.
type searchPage struct {
	Items      []runJSON `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

func testRunSearch(t *testing.T, e *regEnv) {
	_, eid := newExperiment(t, e, "search")
	runs := "/api/v1/experiments/" + eid + "/runs"
	search := runs + "/search"
	mk := func(name, lr, team string, metrics []map[string]any, status string) string {
		id := e.create(t, runs, e.member, map[string]any{"name": name, "params": map[string]string{"lr": lr}})
		if team != "" {
			expect(t, e.do("PUT", "/api/v1/runs/"+id+"/tags/team", e.member, map[string]any{"value": team}), 200)
		}
		if len(metrics) > 0 {
			expect(t, e.do("POST", "/api/v1/runs/"+id+"/metrics", e.member, metrics), 204)
		}
		if status != "" {
			expect(t, e.do("PATCH", "/api/v1/runs/"+id, e.member, map[string]any{"status": status}), 200)
		}
		return id
	}
	// The latest loss is the highest step's, whatever the order logged.
	a := mk("a", "0.01", "x", []map[string]any{{"key": "loss", "value": 0.2, "step": 2}, {"key": "loss", "value": 0.9, "step": 1}, {"key": "acc", "value": 0.7}}, "finished")
	b := mk("b", "0.1", "y", []map[string]any{{"key": "loss", "value": 0.5, "step": 1}, {"key": "acc", "value": 0.9}}, "finished")
	c := mk("c", "0.01", "x", []map[string]any{{"key": "loss", "value": 0.1, "step": 5}}, "")
	d := mk("d", "0.01", "", nil, "failed")
	ids := func(body map[string]any) []string {
		var p searchPage
		expect(t, e.do("POST", search, e.viewer, body), 200).json(t, &p)
		var out []string
		for _, r := range p.Items {
			out = append(out, r.Name)
		}
		return out
	}
	check := func(body map[string]any, want ...string) {
		t.Helper()
		if got := ids(body); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("search %v: %v, want %v", body, got, want)
		}
	}
	check(map[string]any{}, "a", "b", "c", "d")
	check(map[string]any{"filter": []map[string]any{{"metric": "loss", "op": "<", "value": 0.3}}}, "a", "c")
	check(map[string]any{"filter": []map[string]any{{"metric": "loss", "op": "!=", "value": 0.5}}}, "a", "c")
	check(map[string]any{"filter": []map[string]any{{"param": "lr", "op": "=", "value": "0.01"}, {"tag": "team", "op": "=", "value": "x"}}}, "a", "c")
	check(map[string]any{"filter": []map[string]any{{"tag": "team", "op": "!=", "value": "x"}}}, "b")
	check(map[string]any{"status": []string{"finished", "failed"}}, "a", "b", "d")
	check(map[string]any{"order_by": []map[string]any{{"metric": "acc", "direction": "desc"}}}, "b", "a", "c", "d")
	check(map[string]any{"order_by": []map[string]any{{"metric": "loss"}}}, "c", "a", "b", "d")
	check(map[string]any{"order_by": []map[string]any{{"field": "name", "direction": "desc"}}}, "d", "c", "b", "a")
	check(map[string]any{"order_by": []map[string]any{{"field": "ended_at"}, {"field": "name", "direction": "desc"}}}, "a", "b", "d", "c")
	check(map[string]any{"order_by": []map[string]any{{"field": "started_at", "direction": "desc"}}}, "d", "c", "b", "a")

	// Deleted runs only when asked.
	expect(t, e.do("DELETE", "/api/v1/runs/"+d, e.member, nil), 204)
	check(map[string]any{}, "a", "b", "c")
	check(map[string]any{"lifecycle": "deleted"}, "d")
	check(map[string]any{"lifecycle": "all", "filter": []map[string]any{{"param": "lr", "op": "=", "value": "0.01"}}}, "a", "c", "d")

	// Paging: a cursor continues its own search only.
	body := map[string]any{"order_by": []map[string]any{{"metric": "loss"}}, "limit": 2}
	var p searchPage
	expect(t, e.do("POST", search, e.viewer, body), 200).json(t, &p)
	if len(p.Items) != 2 || p.Items[0].ID != c || p.Items[1].ID != a || p.NextCursor == nil {
		t.Fatalf("first page %+v", p)
	}
	body["cursor"] = *p.NextCursor
	expect(t, e.do("POST", search, e.viewer, body), 200).json(t, &p)
	if len(p.Items) != 1 || p.Items[0].ID != b || p.NextCursor != nil {
		t.Fatalf("second page %+v", p)
	}
	pr := expect(t, e.do("POST", search, e.viewer, map[string]any{"cursor": body["cursor"], "limit": 2}), 400).problem(t)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "cursor" {
		t.Fatalf("foreign cursor %+v", pr)
	}
	expect(t, e.do("POST", search, e.viewer, map[string]any{"cursor": "garbage"}), 400).problem(t)
	expect(t, e.do("POST", search, e.viewer, map[string]any{"limit": 1001}), 400).problem(t)

	// Bad clauses are 422 naming them; too many is refused, not cut.
	bad := []map[string]any{
		{"filter": []map[string]any{{"metric": "loss", "op": "<", "value": "0.3"}}},
		{"filter": []map[string]any{{"param": "lr", "op": "<", "value": "0.3"}}},
		{"filter": []map[string]any{{"metric": "loss", "param": "lr", "op": "=", "value": 1}}},
		{"filter": []map[string]any{{"op": "=", "value": 1}}},
		{"filter": []map[string]any{{"metric": "loss", "op": "~", "value": 1}}},
		{"order_by": []map[string]any{{"field": "colour"}}},
		{"order_by": []map[string]any{{"metric": "loss", "direction": "up"}}},
		{"status": []string{"exploded"}},
		{"lifecycle": "gone"},
	}
	for _, b := range bad {
		expect(t, e.do("POST", search, e.viewer, b), 422).problem(t)
	}
	many := make([]map[string]any, 51)
	for i := range many {
		many[i] = map[string]any{"metric": fmt.Sprintf("m%d", i), "op": ">", "value": 0}
	}
	e.refused(t, "POST", search, map[string]any{"filter": many}, 422, "filter")
	expect(t, e.do("POST", "/api/v1/experiments/00000000-0000-0000-0000-000000000000/runs/search", e.viewer, map[string]any{}), 404).problem(t)
	expect(t, e.do("POST", search, e.other, map[string]any{}), 404).problem(t)
}

func testLatestMetrics(t *testing.T, e *regEnv) {
	_, eid := newExperiment(t, e, "latest")
	runs := "/api/v1/experiments/" + eid + "/runs"
	r1 := e.create(t, runs, e.member, map[string]any{})
	r2 := e.create(t, runs, e.member, map[string]any{})
	expect(t, e.do("POST", "/api/v1/runs/"+r1+"/metrics", e.member, []map[string]any{
		{"key": "loss", "value": 0.3, "step": 3, "timestamp": "2026-01-02T03:04:05.1234567Z"},
		{"key": "loss", "value": 0.9, "step": 1}, {"key": "acc", "value": 0.8, "step": 0}}), 204)
	expect(t, e.do("POST", "/api/v1/runs/"+r2+"/metrics", e.member, []map[string]any{{"key": "acc", "value": 0.6}}), 204)
	// Beta's run is another tenant's: left out, like an unknown id.
	betaPID := e.create(t, "/api/v1/projects", e.other, projectBody("Beta", 2))
	betaExp := e.create(t, "/api/v1/projects/"+betaPID+"/experiments", e.other, map[string]any{"name": "b"})
	betaRun := e.create(t, "/api/v1/experiments/"+betaExp+"/runs", e.other, map[string]any{})
	expect(t, e.do("POST", "/api/v1/runs/"+betaRun+"/metrics", e.other, []map[string]any{{"key": "loss", "value": 1}}), 204)

	var out struct {
		Runs []struct {
			RunID   string `json:"run_id"`
			Metrics map[string]struct {
				Value     float64 `json:"value"`
				Step      int64   `json:"step"`
				Timestamp string  `json:"timestamp"`
			} `json:"metrics"`
		} `json:"runs"`
	}
	expect(t, e.do("POST", "/api/v1/runs/metrics/latest", e.viewer, map[string]any{
		"run_ids": []string{r2, betaRun, "00000000-0000-0000-0000-000000000000", r1, "not-an-id", r2},
		"keys":    []string{"loss", "acc", "missing"}}), 200).json(t, &out)
	if len(out.Runs) != 2 || out.Runs[0].RunID != r2 || out.Runs[1].RunID != r1 {
		t.Fatalf("runs %+v", out.Runs)
	}
	if m := out.Runs[0].Metrics; len(m) != 1 || m["acc"].Value != 0.6 {
		t.Fatalf("r2 %+v", m)
	}
	m := out.Runs[1].Metrics
	if len(m) != 2 || m["loss"].Value != 0.3 || m["loss"].Step != 3 || m["loss"].Timestamp != "2026-01-02T03:04:05.123456Z" || m["acc"].Value != 0.8 {
		t.Fatalf("r1 %+v", m)
	}
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = r1
	}
	for _, b := range []map[string]any{
		{"run_ids": tooMany, "keys": []string{"loss"}},
		{"run_ids": []string{r1}, "keys": []string{}},
		{"run_ids": []string{}, "keys": []string{"loss"}},
		{"run_ids": []string{r1}, "keys": []string{"bad\nkey"}},
	} {
		expect(t, e.do("POST", "/api/v1/runs/metrics/latest", e.viewer, b), 422).problem(t)
	}
}

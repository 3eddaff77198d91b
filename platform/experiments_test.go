package platform

import (
	"strings"
	"testing"
)

func testExperiments(t *testing.T, e *regEnv) {
	pid := e.create(t, "/api/v1/projects", e.member, projectBody("Experiments", 5))
	exps := "/api/v1/projects/" + pid + "/experiments"
	eid := e.create(t, exps, e.member, map[string]any{"name": "baseline"})
	expect(t, e.do("POST", exps, e.member, map[string]any{"name": "baseline"}), 409).problem(t)
	e.refused(t, "POST", exps, map[string]any{"name": ""}, 422, "name", exps)
	expect(t, e.do("POST", exps, e.viewer, map[string]any{"name": "v"}), 403)
	if list := items[map[string]any](t, e.do("GET", exps, e.viewer, nil)); len(list) != 1 || list[0]["id"] != eid {
		t.Fatalf("experiments %+v", list)
	}
	var exp map[string]any
	e.getJSON(t, "/api/v1/experiments/"+eid, e.viewer, &exp)
	if exp["project_id"] != pid || exp["name"] != "baseline" {
		t.Fatalf("experiment %+v", exp)
	}

	runs := "/api/v1/experiments/" + eid + "/runs"
	var run struct {
		ID     string            `json:"id"`
		Status string            `json:"status"`
		Params map[string]string `json:"params"`
	}
	expect(t, e.do("POST", runs, e.member, map[string]any{"name": "lr-0.1", "params": map[string]string{"lr": "0.1"}}), 201).json(t, &run)
	if run.Status != "running" || run.Params["lr"] != "0.1" {
		t.Fatalf("run %+v", run)
	}
	e.refused(t, "POST", runs, map[string]any{"params": map[string]any{"lr": 0.1}}, 422, "params", runs)
	e.refused(t, "POST", runs, map[string]any{"params": map[string]string{"bad\nkey": "x"}}, 422, "", runs)
	expect(t, e.do("POST", runs, e.viewer, map[string]any{}), 403)
	if list := items[map[string]any](t, e.do("GET", runs, e.viewer, nil)); len(list) != 1 {
		t.Fatalf("runs %+v", list)
	}
	one := "/api/v1/runs/" + run.ID
	e.refused(t, "PATCH", one, map[string]any{"status": "exploded"}, 422, "status", one)
	expect(t, e.do("PATCH", one, e.viewer, map[string]any{"status": "finished"}), 403)
	var done map[string]any
	expect(t, e.do("PATCH", one, e.member, map[string]any{"status": "finished"}), 200).json(t, &done)
	if done["status"] != "finished" || done["ended_at"] == nil {
		t.Fatalf("finished run %+v", done)
	}
	expect(t, e.do("GET", "/api/v1/experiments/00000000-0000-0000-0000-000000000000", e.viewer, nil), 404)
	expect(t, e.do("POST", "/api/v1/experiments/nope/runs", e.member, map[string]any{}), 404)
}

// historyJSON is the body of a metric history.
type historyJSON struct {
	Points []struct {
		Step  int64   `json:"step"`
		Value float64 `json:"value"`
	} `json:"points"`
}

func testMetrics(t *testing.T, e *regEnv) {
	pid := e.create(t, "/api/v1/projects", e.member, projectBody("Metrics", 5))
	eid := e.create(t, "/api/v1/projects/"+pid+"/experiments", e.member, map[string]any{"name": "m"})
	rid := e.create(t, "/api/v1/experiments/"+eid+"/runs", e.member, map[string]any{})
	path := "/api/v1/runs/" + rid + "/metrics"

	// 1,000 points of loss in one batch; the history downsamples evenly,
	// keeping the first and the last point.
	batch := make([]map[string]any, 1000)
	for i := range batch {
		batch[i] = map[string]any{"key": "loss", "value": 1 / float64(i+1), "step": i}
	}
	expect(t, e.do("POST", path, e.member, batch), 204)
	var h historyJSON
	e.getJSON(t, path+"/loss?max_points=10", e.viewer, &h)
	if len(h.Points) != 10 || h.Points[0].Step != 0 || h.Points[9].Step != 999 || h.Points[0].Value != 1 {
		t.Fatalf("downsampled history %+v", h.Points)
	}
	for i := 1; i < len(h.Points); i++ {
		gap := h.Points[i].Step - h.Points[i-1].Step
		if gap < 110 || gap > 112 {
			t.Fatalf("uneven downsampling: steps %+v", h.Points)
		}
	}
	e.getJSON(t, path+"/loss", e.viewer, &h)
	if len(h.Points) != 1000 {
		t.Fatalf("full history has %d points", len(h.Points))
	}
	for _, q := range []string{"max_points=1", "max_points=abc", "max_points=100001"} {
		expect(t, e.do("GET", path+"/loss?"+q, e.viewer, nil), 400).problem(t)
	}
	// Keys may hold '/' and spaces.
	expect(t, e.do("POST", path, e.member, []map[string]any{{"key": "val/top 1", "value": 0.7, "step": 3}}), 204)
	e.getJSON(t, path+"/val/top%201", e.viewer, &h)
	if len(h.Points) != 1 || h.Points[0].Value != 0.7 || h.Points[0].Step != 3 {
		t.Fatalf("history of val/top 1: %+v", h.Points)
	}
	sums := items[map[string]any](t, e.do("GET", path, e.viewer, nil))
	if len(sums) != 2 || sums[0]["key"] != "loss" || sums[0]["count"] != float64(1000) || sums[1]["key"] != "val/top 1" {
		t.Fatalf("metric summaries %+v", sums)
	}

	// All or nothing: one bad point refuses the batch, nothing is stored.
	good := map[string]any{"key": "acc", "value": 0.5, "step": 1}
	for _, c := range []struct {
		body  any
		field string
	}{
		{[]any{good, map[string]any{"key": "", "value": 1}}, "key"},
		{[]any{good, map[string]any{"key": "acc"}}, "[1].value"},
		{[]any{good, map[string]any{"key": "acc", "value": "NaN"}}, "value"},
		{[]any{good, map[string]any{"key": "acc", "value": "Infinity"}}, "value"},
		{`[{"key":"acc","value":0.5},{"key":"acc","value":1e309}]`, "value"},
		{`[{"key":"acc","value":0.5},{"key":"acc","value":-1e309}]`, "value"},
		{[]any{good, map[string]any{"key": "acc", "value": 1, "step": 1.5}}, "step"},
		{[]any{good, map[string]any{"key": "acc", "value": 1, "timestamp": "soon"}}, "[1].timestamp"},
		{[]any{good, map[string]any{"key": "acc", "value": 1, "extra": true}}, "extra"},
		{map[string]any{"key": "acc", "value": 1}, "(body)"},
	} {
		e.refused(t, "POST", path, c.body, 422, c.field, path)
	}
	// More than 10,000 points: 413, nothing stored.
	big := make([]map[string]any, 10001)
	for i := range big {
		big[i] = map[string]any{"key": "acc", "value": 0.5, "step": i}
	}
	p := e.refused(t, "POST", path, big, 413, "", path)
	if !strings.Contains(p.Detail, "10000") {
		t.Fatalf("413 detail %q", p.Detail)
	}
	// The refused batches created no metric "acc".
	expect(t, e.do("GET", path+"/acc", e.viewer, nil), 404).problem(t)
	// Exactly 10,000 points are accepted. (On PostgreSQL only: the
	// registry takes about 3 s for such a batch on SQLite.)
	if e.s.dialect == dialectPostgres {
		expect(t, e.do("POST", path, e.member, big[:10000]), 204)
		e.getJSON(t, path+"/acc?max_points=100000", e.viewer, &h)
		if len(h.Points) != 10000 {
			t.Fatalf("stored %d of 10000 points", len(h.Points))
		}
	}
	expect(t, e.do("POST", path, e.viewer, []any{good}), 403)
	expect(t, e.do("POST", "/api/v1/runs/00000000-0000-0000-0000-000000000000/metrics", e.member, []any{good}), 404)
}

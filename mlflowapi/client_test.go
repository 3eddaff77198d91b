package mlflowapi

import (
	"fmt"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// TestExperimentTagDelete: experiments/delete-experiment-tag deletes one
// tag; a missing tag or another tenant's experiment is
// RESOURCE_DOES_NOT_EXIST, a viewer is refused, the project link stays.
func TestExperimentTagDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		id := s.experiment(&memberA, "tagged")
		for _, k := range []string{"keep", "gone"} {
			s.ok(&memberA, "POST", api+"experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": k, "value": "v"})
		}
		del := func(key string) map[string]any { return map[string]any{"experiment_id": id, "key": key} }
		s.fails(&viewerA, "POST", api+"experiments/delete-experiment-tag", del("gone"), 403, CodePermissionDenied)
		s.fails(&memberB, "POST", api+"experiments/delete-experiment-tag", del("gone"), 404, CodeNotFound)
		s.fails(&memberA, "POST", api+"experiments/delete-experiment-tag", del(ProjectTag), 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"experiments/delete-experiment-tag", map[string]any{"experiment_id": id}, 400, CodeInvalid)
		s.ok(&memberA, "POST", api+"experiments/delete-experiment-tag", del("gone"))
		s.fails(&memberA, "POST", api+"experiments/delete-experiment-tag", del("gone"), 404, CodeNotFound)
		e := s.ok(&memberA, "GET", api+"experiments/get?experiment_id="+id, nil)["experiment"].(map[string]any)
		if fmt.Sprint(e["tags"]) != "[map[key:keep value:v]]" {
			t.Fatalf("tags after delete: %v", e["tags"])
		}
		s.ok(&memberA, "POST", api+"experiments/delete", map[string]any{"experiment_id": id})
		s.fails(&memberA, "POST", api+"experiments/delete-experiment-tag", del("keep"), 400, CodeInvalid)
	})
}

// TestResumeFinishedRun: MLflow's client resumes a run
// (start_run(run_id=...)) by sending RUNNING with the run's old end time;
// the run runs again without an end, and ends again later.
func TestResumeFinishedRun(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "resume")
		run := s.run(&memberA, exp, map[string]any{"start_time": 1700000000000})
		end := int64(1700000005000)
		s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "FINISHED", "end_time": end})
		info := s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "RUNNING", "end_time": end})["run_info"].(map[string]any)
		if info["status"] != "RUNNING" || info["end_time"] != nil {
			t.Fatalf("resumed: %v", info)
		}
		s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "m", "value": 1, "timestamp": end + 1})
		later := time.UnixMilli(end).Add(time.Minute).UnixMilli()
		info = s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "KILLED", "end_time": later})["run_info"].(map[string]any)
		if info["status"] != "KILLED" || info["end_time"] != float64(later) {
			t.Fatalf("ended again: %v", info)
		}
		s.fails(&memberB, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "RUNNING", "end_time": end}, 404, CodeNotFound)
	})
}

// TestNullFilters: params and tags take IS NULL and IS NOT NULL (an
// absent key is NULL), in run, experiment and registry searches; other
// identifiers refuse them.
func TestNullFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "nulls")
		for i, tags := range [][]map[string]string{{{"key": "note", "value": "x"}}, nil} {
			id := s.run(&memberA, exp, map[string]any{"run_name": fmt.Sprint("r", i), "start_time": 1700000000000 + i})
			if tags != nil {
				s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": id, "tags": tags,
					"params": []map[string]string{{"key": "lr", "value": "0.1"}}})
			}
		}
		search := func(filter string) string {
			t.Helper()
			var names []string
			r := s.ok(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": filter, "order_by": []string{"start_time"}})
			for _, run := range r["runs"].([]any) {
				names = append(names, run.(map[string]any)["info"].(map[string]any)["run_name"].(string))
			}
			return fmt.Sprint(names)
		}
		for filter, want := range map[string]string{
			"tags.note IS NULL":                                "[r1]",
			"tags.note is not null":                            "[r0]",
			"params.lr IS NOT NULL AND params.lr = '0.1'":      "[r0]",
			"params.lr IS NULL AND attributes.run_name = 'r1'": "[r1]",
			"params.absent IS NOT NULL":                        "[]",
		} {
			if got := search(filter); got != want {
				t.Errorf("%s: got %s, want %s", filter, got, want)
			}
		}
		for _, bad := range []string{"metrics.m IS NULL", "attributes.run_name IS NOT NULL", "tags.note IS", "tags.note IS NOT"} {
			s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": bad}, 400, CodeInvalid)
		}
		s.ok(&memberA, "POST", api+"experiments/set-experiment-tag", map[string]any{"experiment_id": exp, "key": "team", "value": "a"})
		s.experiment(&memberA, "untagged")
		found := s.ok(&memberA, "POST", api+"experiments/search", map[string]any{"filter": "tags.team IS NULL"})["experiments"].([]any)
		if len(found) != 1 || found[0].(map[string]any)["name"] != "untagged" {
			t.Fatalf("experiments with no team tag: %v", found)
		}
	})
}

// TestRegistrySearchOrders: registered models order by name, timestamp
// and last_updated_timestamp; model versions by creation_timestamp and
// last_updated_timestamp, and take name IN.
func TestRegistrySearchOrders(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		for _, n := range []string{"b", "a", "c"} {
			s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": n})
			s.ok(&memberA, "POST", api+"model-versions/create", map[string]any{"name": n, "source": "s3://" + n})
			time.Sleep(3 * time.Millisecond)
		}
		// Updating "b" makes it the most recently updated.
		s.ok(&memberA, "PATCH", api+"registered-models/update", map[string]any{"name": "b", "description": "new"})
		models := func(order string) string {
			t.Helper()
			var out []string
			for _, m := range s.ok(&viewerA, "GET", api+"registered-models/search?order_by="+url.QueryEscape(order), nil)["registered_models"].([]any) {
				out = append(out, m.(map[string]any)["name"].(string))
			}
			return fmt.Sprint(out)
		}
		for order, want := range map[string]string{
			"name DESC": "[c b a]", "timestamp DESC": "[b c a]", "last_updated_timestamp ASC": "[a c b]",
			"creation_timestamp": "[b a c]",
		} {
			if got := models(order); got != want {
				t.Errorf("models by %s: got %s, want %s", order, got, want)
			}
		}
		versions := func(query string) string {
			t.Helper()
			var out []string
			for _, v := range s.ok(&viewerA, "GET", api+"model-versions/search?"+query, nil)["model_versions"].([]any) {
				out = append(out, v.(map[string]any)["name"].(string))
			}
			return fmt.Sprint(out)
		}
		if got := versions("order_by=" + url.QueryEscape("creation_timestamp DESC")); got != "[c a b]" {
			t.Errorf("versions by creation: %s", got)
		}
		if got := versions("filter=" + url.QueryEscape("name IN ('a', 'c')") + "&order_by=" + url.QueryEscape("last_updated_timestamp")); got != "[a c]" {
			t.Errorf("versions of a and c: %s", got)
		}
		if got := s.ok(&memberB, "GET", api+"model-versions/search?filter="+url.QueryEscape("name IN ('a')"), nil); len(got["model_versions"].([]any)) != 0 {
			t.Errorf("tenant B sees tenant A's versions: %v", got)
		}
		s.fails(&viewerA, "GET", api+"registered-models/search?order_by="+url.QueryEscape("bogus_timestamp"), nil, 400, CodeInvalid)
		// The timestamps order; they do not filter, as on MLflow's server.
		s.fails(&viewerA, "GET", api+"model-versions/search?filter="+url.QueryEscape("creation_timestamp > 0"), nil, 400, CodeInvalid)
		s.fails(&viewerA, "GET", api+"registered-models/search?filter="+url.QueryEscape("timestamp > 0"), nil, 400, CodeInvalid)
	})
}

// TestInfiniteMetrics: ±Infinity is kept as the largest float, as MLflow's
// SQL store keeps it; NaN is refused and changes nothing.
func TestInfiniteMetrics(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	run := s.run(&memberA, s.experiment(&memberA, "inf"), nil)
	s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "loss", "value": "Infinity", "timestamp": 1, "step": 0})
	s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run,
		"metrics": []map[string]any{{"key": "loss", "value": "-Infinity", "timestamp": 2, "step": 1}}})
	s.fails(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run,
		"metrics": []map[string]any{{"key": "loss", "value": 1, "timestamp": 3, "step": 2}, {"key": "loss", "value": "NaN", "timestamp": 3, "step": 3}}}, 400, CodeInvalid)
	hist := s.ok(&viewerA, "GET", api+"metrics/get-history?run_id="+run+"&metric_key=loss", nil)["metrics"].([]any)
	var got []any
	for _, m := range hist {
		got = append(got, m.(map[string]any)["value"])
	}
	if fmt.Sprint(got) != fmt.Sprint([]any{math.MaxFloat64, -math.MaxFloat64}) {
		t.Fatalf("history: %v", got)
	}
}

// TestDefaultExperimentNotYetCreated: before any run is logged into it, a
// tenant's experiment 0 is RESOURCE_DOES_NOT_EXIST naming the id asked for.
func TestDefaultExperimentNotYetCreated(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	r := s.do(&viewerA, "GET", api+"experiments/get?experiment_id=0", nil)
	if r.status != 404 || r.body["error_code"] != CodeNotFound || r.body["message"] != "No Experiment with id=0 exists" {
		t.Fatalf("experiment 0: %d %s", r.status, r.raw)
	}
}

// TestDatasetFilters: datasets.name, digest and context filter runs by
// their dataset inputs (any input satisfying each clause), pushed down as
// run id lists; another tenant's runs never match; datasets do not order.
func TestDatasetFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "datasets")
		input := func(name, digest, context string) map[string]any {
			in := map[string]any{"dataset": map[string]any{"name": name, "digest": digest, "source_type": "local", "source": "/d"}}
			if context != "" {
				in["tags"] = []map[string]string{{"key": DatasetContextTag, "value": context}}
			}
			return in
		}
		for i, ins := range [][]map[string]any{
			{input("train", "d1", "training"), input("holdout", "d2", "eval")},
			{input("train", "d3", "")},
			nil,
		} {
			id := s.run(&memberA, exp, map[string]any{"run_name": fmt.Sprint("r", i), "start_time": 1700000000000 + i})
			if ins != nil {
				s.ok(&memberA, "POST", api+"runs/log-inputs", map[string]any{"run_id": id, "datasets": ins})
			}
		}
		search := func(p *auth.Principal, filter string) string {
			t.Helper()
			var names []string
			r := s.ok(p, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": filter, "order_by": []string{"start_time"}})
			for _, run := range r["runs"].([]any) {
				names = append(names, run.(map[string]any)["info"].(map[string]any)["run_name"].(string))
			}
			return fmt.Sprint(names)
		}
		for filter, want := range map[string]string{
			"datasets.name = 'train'":                                 "[r0 r1]",
			"dataset.name != 'train'":                                 "[r0]",
			"datasets.digest IN ('d2', 'd3')":                         "[r0 r1]",
			"datasets.digest NOT IN ('d1')":                           "[r0 r1]",
			"datasets.context = 'eval'":                               "[r0]",
			"datasets.context LIKE '%'":                               "[r0]",
			"datasets.name ILIKE 'TR%' AND datasets.context = 'eval'": "[r0]",
			"datasets.name = 'train' AND attributes.run_name = 'r1'":  "[r1]",
			"datasets.name = 'nope'":                                  "[]",
		} {
			if got := search(&viewerA, filter); got != want {
				t.Errorf("%s: got %s, want %s", filter, got, want)
			}
		}
		if got := search(&memberB, "datasets.name = 'train'"); got != "[]" {
			t.Errorf("tenant B: %s", got)
		}
		for _, bad := range []string{"datasets.source = 'x'", "datasets.name > 'a'", "datasets.name = 1"} {
			s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": bad}, 400, CodeInvalid)
		}
		s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "order_by": []string{"datasets.name"}}, 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"experiments/search", map[string]any{"filter": "datasets.name = 'train'"}, 400, CodeInvalid)
	})
}

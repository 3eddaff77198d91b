package mlflowapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/auth"
)

func (s *server) loggedModel(p *auth.Principal, body map[string]any) map[string]any {
	s.t.Helper()
	return s.ok(p, "POST", api+"logged-models", body)["model"].(map[string]any)["info"].(map[string]any)
}

func modelIDs(r map[string]any) string {
	var ids []string
	for _, m := range r["models"].([]any) {
		ids = append(ids, m.(map[string]any)["info"].(map[string]any)["name"].(string))
	}
	return strings.Join(ids, ",")
}

func TestLoggedModels(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "lm")
		run := s.run(&memberA, exp, nil)
		info := s.loggedModel(&memberA, map[string]any{"experiment_id": exp, "name": "adder", "model_type": "pyfunc",
			"source_run_id": run, "tags": []map[string]string{{"key": "team", "value": "vision"}},
			"params": []map[string]string{{"key": "lr", "value": "0.1"}}})
		id := info["model_id"].(string)
		if info["status"] != "LOGGED_MODEL_PENDING" || info["source_run_id"] != run || info["artifact_uri"] != "mlflow-artifacts:/"+exp+"/models/"+id+"/artifacts" {
			t.Fatalf("created: %v", info)
		}
		path := api + "logged-models/" + id
		got := s.ok(&viewerA, "GET", path, nil)["model"].(map[string]any)
		if fmt.Sprint(got["data"]) != "map[params:[map[key:lr value:0.1]]]" || fmt.Sprint(got["info"].(map[string]any)["tags"]) != "[map[key:team value:vision]]" {
			t.Fatalf("get: %v", got)
		}
		// Finalize, tags, params.
		fin := s.ok(&memberA, "PATCH", path, map[string]any{"model_id": id, "status": "LOGGED_MODEL_READY"})
		if fin["model"].(map[string]any)["info"].(map[string]any)["status"] != "LOGGED_MODEL_READY" {
			t.Fatalf("finalize: %v", fin)
		}
		s.fails(&memberA, "PATCH", path, map[string]any{"status": "DONE"}, 400, CodeInvalid)
		s.ok(&memberA, "PATCH", path+"/tags", map[string]any{"tags": []map[string]string{{"key": "stage", "value": "dev"}}})
		s.ok(&memberA, "DELETE", path+"/tags/team", nil)
		s.fails(&memberA, "DELETE", path+"/tags/team", nil, 404, CodeNotFound)
		s.ok(&memberA, "POST", path+"/params", map[string]any{"params": []map[string]string{{"key": "lr", "value": "0.1"}, {"key": "depth", "value": "3"}}})
		s.fails(&memberA, "POST", path+"/params", map[string]any{"params": []map[string]string{{"key": "lr", "value": "0.2"}}}, 400, CodeInvalid)
		got = s.ok(&viewerA, "GET", path, nil)["model"].(map[string]any)
		if fmt.Sprint(got["data"]) != "map[params:[map[key:depth value:3] map[key:lr value:0.1]]]" || fmt.Sprint(got["info"].(map[string]any)["tags"]) != "[map[key:stage value:dev]]" {
			t.Fatalf("after updates: %v", got)
		}
		// Files through the artifact proxy.
		base := ArtifactsPrefix + "/" + exp + "/models/" + id + "/artifacts"
		s.ok(&memberA, "PUT", base+"/MLmodel", []byte("flavors: {}"))
		s.ok(&memberA, "PUT", base+"/code/model.py", []byte("x = 1"))
		if r := s.do(&viewerA, "GET", base+"/MLmodel", nil); r.status != 200 || string(r.raw) != "flavors: {}" {
			t.Fatalf("download: %d %s", r.status, r.raw)
		}
		l := s.ok(&viewerA, "GET", ArtifactsPrefix+"?path="+exp+"/models/"+id+"/artifacts", nil)
		if got := fmt.Sprint(l["files"]); got != "[map[file_size:11 is_dir:false path:MLmodel] map[is_dir:true path:code]]" {
			t.Fatalf("list: %s", got)
		}
		s.fails(&memberA, "PUT", base+"/code", []byte("x"), 400, CodeAlreadyExists)
		s.fails(&memberA, "PUT", ArtifactsPrefix+"/"+exp+"/models/"+id+"/other/x", []byte("x"), 400, CodeInvalid)
		other := s.experiment(&memberA, "other")
		s.fails(&memberA, "GET", ArtifactsPrefix+"/"+other+"/models/"+id+"/artifacts/MLmodel", nil, 404, CodeNotFound)
		// Run outputs.
		s.ok(&memberA, "POST", api+"runs/outputs", map[string]any{"run_id": run, "models": []map[string]any{{"model_id": id, "step": 3}}})
		gr := s.ok(&viewerA, "GET", api+"runs/get?run_id="+run, nil)["run"].(map[string]any)
		if fmt.Sprint(gr["outputs"]) != fmt.Sprintf("map[model_outputs:[map[model_id:%s step:3]]]", id) {
			t.Fatalf("outputs: %v", gr["outputs"])
		}
		s.fails(&memberA, "POST", api+"runs/outputs", map[string]any{"run_id": run, "models": []map[string]any{{"model_id": "nope"}}}, 404, CodeNotFound)

		// A version registered from models:/<id> records the run that logged it;
		// another tenant registering the same source gets no run.
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "adder"})
		mv := s.ok(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "adder", "source": "models:/" + id})["model_version"].(map[string]any)
		if mv["run_id"] != run || mv["source"] != "models:/"+id {
			t.Fatalf("version from a logged model: %v", mv)
		}
		s.ok(&memberB, "POST", api+"registered-models/create", map[string]any{"name": "adder"})
		if mv := s.ok(&memberB, "POST", api+"model-versions/create", map[string]any{"name": "adder", "source": "models:/" + id})["model_version"].(map[string]any); mv["run_id"] != "" && mv["run_id"] != nil {
			t.Fatalf("another tenant's version took the run of a model it cannot see: %v", mv)
		}

		// Tenant isolation: another tenant's model is not found, for every call.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", path, nil},
			{"PATCH", path, map[string]any{"status": "LOGGED_MODEL_READY"}},
			{"PATCH", path + "/tags", map[string]any{"tags": []map[string]string{{"key": "x", "value": "y"}}}},
			{"DELETE", path + "/tags/stage", nil},
			{"POST", path + "/params", map[string]any{"params": []map[string]string{{"key": "x", "value": "y"}}}},
			{"DELETE", path, nil},
			{"GET", base + "/MLmodel", nil},
			{"PUT", base + "/evil", []byte("x")},
			{"POST", api + "logged-models", map[string]any{"experiment_id": exp}},
		} {
			s.fails(&memberB, c.method, c.path, c.body, 404, CodeNotFound)
		}
		expB := s.experiment(&memberB, "lm")
		s.fails(&memberB, "POST", api+"logged-models", map[string]any{"experiment_id": expB, "source_run_id": run}, 404, CodeNotFound)
		if r := s.ok(&memberB, "POST", api+"logged-models/search", map[string]any{"experiment_ids": []string{exp, expB}}); modelIDs(r) != "" {
			t.Fatalf("tenant b searched: %v", r)
		}
		// A viewer reads but writes nothing.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", api + "logged-models", map[string]any{"experiment_id": exp}},
			{"PATCH", path, map[string]any{"status": "LOGGED_MODEL_READY"}},
			{"PATCH", path + "/tags", map[string]any{}},
			{"DELETE", path + "/tags/stage", nil},
			{"POST", path + "/params", map[string]any{}},
			{"DELETE", path, nil},
			{"PUT", base + "/x", []byte("x")},
			{"POST", api + "runs/outputs", map[string]any{"run_id": run}},
		} {
			s.fails(&viewerA, c.method, c.path, c.body, 403, CodePermissionDenied)
		}

		// Search: filter, order, pages.
		for i := 0; i < 3; i++ {
			s.loggedModel(&memberA, map[string]any{"experiment_id": exp, "name": fmt.Sprintf("m%d", i), "params": []map[string]string{{"key": "i", "value": fmt.Sprint(i)}}})
		}
		search := func(body map[string]any) map[string]any {
			body["experiment_ids"] = []string{exp}
			return s.ok(&viewerA, "POST", api+"logged-models/search", body)
		}
		if got := modelIDs(search(map[string]any{})); got != "m2,m1,m0,adder" {
			t.Fatalf("default order: %s", got)
		}
		if got := modelIDs(search(map[string]any{"filter": "source_run_id = '" + run + "'"})); got != "adder" {
			t.Fatalf("by run: %s", got)
		}
		if got := modelIDs(search(map[string]any{"filter": "name LIKE 'm%' AND params.i != '1'", "order_by": []map[string]any{{"field_name": "name", "ascending": true}}})); got != "m0,m2" {
			t.Fatalf("filtered: %s", got)
		}
		p1 := search(map[string]any{"max_results": 3})
		p2 := search(map[string]any{"max_results": 3, "page_token": p1["next_page_token"]})
		if modelIDs(p1) != "m2,m1,m0" || modelIDs(p2) != "adder" || p2["next_page_token"] != nil {
			t.Fatalf("pages: %v / %v", p1, p2)
		}
		s.fails(&viewerA, "POST", api+"logged-models/search", map[string]any{"experiment_ids": []string{exp}, "filter": "metrics.x > 1"}, 400, CodeInvalid)
		s.fails(&viewerA, "POST", api+"logged-models/search", map[string]any{"experiment_ids": []string{exp}, "order_by": []map[string]any{{"field_name": "name", "dataset_name": "d"}}}, 400, CodeInvalid)

		// Bad input changes nothing.
		s.fails(&memberA, "POST", api+"logged-models", map[string]any{}, 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"logged-models", map[string]any{"experiment_id": exp, "name": strings.Repeat("n", 600)}, 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"logged-models", map[string]any{"experiment_id": exp, "source_run_id": "no-such-run"}, 404, CodeNotFound)
		s.fails(&memberA, "GET", api+"logged-models/"+id+"/nothing", nil, 404, CodeEndpointNotFound)
		s.fails(&memberA, "PUT", path, nil, 405, CodeBadRequest)
		if got := modelIDs(search(map[string]any{})); got != "m2,m1,m0,adder" {
			t.Fatalf("after bad input: %s", got)
		}

		// Deletion takes the files along.
		s.ok(&memberA, "DELETE", path, nil)
		s.fails(&viewerA, "GET", path, nil, 404, CodeNotFound)
		s.fails(&viewerA, "GET", base+"/MLmodel", nil, 404, CodeNotFound)
		if gr := s.ok(&viewerA, "GET", api+"runs/get?run_id="+run, nil)["run"].(map[string]any); gr["outputs"] != nil {
			t.Fatalf("outputs after delete: %v", gr["outputs"])
		}
	})
}

package mlflowapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

func TestModelRegistry(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "m")
		run := s.run(&memberA, exp, nil)
		src := "mlflow-artifacts:/" + exp + "/" + run + "/artifacts/model"
		m := s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "churn", "description": "d"})["registered_model"].(map[string]any)
		if m["name"] != "churn" || m["description"] != "d" {
			t.Fatalf("create: %v", m)
		}
		s.fails(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "churn"}, 400, CodeAlreadyExists)
		s.fails(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "t", "tags": []map[string]string{{"key": "", "value": "b"}}}, 400, CodeInvalid)
		s.ok(&memberB, "POST", api+"registered-models/create", map[string]any{"name": "churn"})
		for i := 1; i <= 3; i++ {
			v := s.ok(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "churn", "source": src, "run_id": run})["model_version"].(map[string]any)
			if v["version"] != fmt.Sprint(i) || v["status"] != "READY" || v["current_stage"] != "None" || v["run_id"] != run {
				t.Fatalf("version %d: %v", i, v)
			}
		}
		s.fails(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "nope", "source": src}, 404, CodeNotFound)
		s.fails(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "churn", "source": src, "run_id": "01900000-0000-7000-8000-000000000000"}, 400, CodeInvalid)
		// Tenant B's model cannot name tenant A's run.
		s.fails(&memberB, "POST", api+"model-versions/create", map[string]any{"name": "churn", "source": src, "run_id": run}, 400, CodeInvalid)
		s.ok(&memberA, "POST", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "champion", "version": "2"})
		s.ok(&memberA, "POST", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "old", "version": 1})
		s.fails(&memberA, "POST", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "x", "version": "9"}, 404, CodeNotFound)
		s.fails(&memberA, "POST", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "x", "version": "two"}, 400, CodeInvalid)
		v := s.ok(&viewerA, "GET", api+"registered-models/alias?name=churn&alias=champion", nil)["model_version"].(map[string]any)
		if v["version"] != "2" || fmt.Sprint(v["aliases"]) != "[champion]" {
			t.Fatalf("by alias: %v", v)
		}
		s.fails(&memberB, "GET", api+"registered-models/alias?name=churn&alias=champion", nil, 404, CodeNotFound)
		got := s.ok(&viewerA, "GET", api+"registered-models/get?name=churn", nil)["registered_model"].(map[string]any)
		if fmt.Sprint(got["aliases"]) != "[map[alias:champion version:2] map[alias:old version:1]]" ||
			len(got["latest_versions"].([]any)) != 1 {
			t.Fatalf("get: %v", got)
		}
		s.fails(&viewerA, "GET", api+"registered-models/get?name=none", nil, 404, CodeNotFound)
		lv := s.ok(&viewerA, "POST", api+"registered-models/get-latest-versions", map[string]any{"name": "churn", "stages": []string{"None"}})
		if vs := lv["model_versions"].([]any); len(vs) != 1 || vs[0].(map[string]any)["version"] != "3" {
			t.Fatalf("latest: %v", lv)
		}
		lv = s.ok(&viewerA, "POST", api+"registered-models/get-latest-versions", map[string]any{"name": "churn", "stages": []string{"Production"}})
		if len(lv["model_versions"].([]any)) != 0 {
			t.Fatalf("latest in Production: %v", lv)
		}
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "churn-b"})
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "fraud"})
		sr := s.ok(&viewerA, "GET", api+"registered-models/search?filter=name+LIKE+%27churn%25%27+AND+tags.%60mlflow.prompt.is_prompt%60+%21%3D+%27true%27&max_results=1", nil)
		if ms := sr["registered_models"].([]any); len(ms) != 1 || ms[0].(map[string]any)["name"] != "churn" || sr["next_page_token"] == nil {
			t.Fatalf("search page 1: %v", sr)
		}
		sr = s.ok(&viewerA, "GET", api+"registered-models/search?filter=name+LIKE+%27churn%25%27+AND+tags.%60mlflow.prompt.is_prompt%60+%21%3D+%27true%27&max_results=1&page_token="+sr["next_page_token"].(string), nil)
		if ms := sr["registered_models"].([]any); len(ms) != 1 || ms[0].(map[string]any)["name"] != "churn-b" || sr["next_page_token"] != nil {
			t.Fatalf("search page 2: %v", sr)
		}
		s.fails(&viewerA, "GET", api+"registered-models/search?filter=tags.x+%3D+%27y%27+AND+creation_timestamp+%3E+1", nil, 400, CodeInvalid)
		vs := s.ok(&viewerA, "GET", api+"model-versions/search?filter=name+%3D+%27churn%27+AND+version_number+%3E%3D+2", nil)["model_versions"].([]any)
		if len(vs) != 2 || vs[0].(map[string]any)["version"] != "3" {
			t.Fatalf("version search: %v", vs)
		}
		vs = s.ok(&viewerA, "GET", api+"model-versions/search?filter=run_id+%3D+%27"+run+"%27", nil)["model_versions"].([]any)
		if len(vs) != 3 {
			t.Fatalf("version search by run: %v", vs)
		}
		if vs := s.ok(&memberB, "GET", api+"model-versions/search?filter=name+%3D+%27churn%27", nil)["model_versions"].([]any); len(vs) != 0 {
			t.Fatalf("tenant B sees A's versions: %v", vs)
		}
		if u := s.ok(&viewerA, "GET", api+"model-versions/get-download-uri?name=churn&version=1", nil)["artifact_uri"]; u != src {
			t.Fatalf("download uri: %v", u)
		}
		s.fails(&viewerA, "GET", api+"model-versions/get?name=churn&version=9", nil, 404, CodeNotFound)
		s.fails(&viewerA, "GET", api+"model-versions/get?name=churn", nil, 400, CodeInvalid)
		s.fails(&viewerA, "POST", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "x", "version": "1"}, 403, CodePermissionDenied)
		s.ok(&memberA, "DELETE", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "old"})
		s.ok(&memberA, "DELETE", api+"registered-models/alias?name=churn&alias=champion", nil)
		s.fails(&memberA, "DELETE", api+"registered-models/alias?name=churn&alias=champion", nil, 404, CodeNotFound)
		s.fails(&memberA, "GET", api+"registered-models/alias?name=churn&alias=champion", nil, 404, CodeNotFound)
	})
}

// TestModelRegistryWrites: update, rename and delete of registered models
// and versions, as MLflow's client sends them; viewers are refused and
// another tenant's models are not found.
func TestModelRegistryWrites(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "churn"})
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "taken"})
		s.ok(&memberB, "POST", api+"registered-models/create", map[string]any{"name": "b-model"})
		for range 3 {
			s.ok(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "churn", "source": "s3://m"})
		}
		s.ok(&memberA, "POST", api+"registered-models/alias", map[string]any{"name": "churn", "alias": "champion", "version": "3"})
		m := s.ok(&memberA, "PATCH", api+"registered-models/update", map[string]any{"name": "churn", "description": "new"})["registered_model"].(map[string]any)
		if m["description"] != "new" {
			t.Fatalf("update: %v", m)
		}
		s.fails(&viewerA, "PATCH", api+"registered-models/update", map[string]any{"name": "churn", "description": "x"}, 403, CodePermissionDenied)
		s.fails(&memberA, "PATCH", api+"registered-models/update", map[string]any{"name": "none", "description": "x"}, 404, CodeNotFound)
		s.fails(&memberB, "PATCH", api+"registered-models/update", map[string]any{"name": "churn", "description": "x"}, 404, CodeNotFound)
		s.fails(&memberA, "POST", api+"registered-models/rename", map[string]any{"name": "churn", "new_name": "taken"}, 400, CodeAlreadyExists)
		s.fails(&memberA, "POST", api+"registered-models/rename", map[string]any{"name": "churn"}, 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"registered-models/rename", map[string]any{"name": "churn", "new_name": "a/b"}, 400, CodeInvalid)
		s.fails(&memberB, "POST", api+"registered-models/rename", map[string]any{"name": "churn", "new_name": "mine"}, 404, CodeNotFound)
		s.fails(&viewerA, "POST", api+"registered-models/rename", map[string]any{"name": "churn", "new_name": "x"}, 403, CodePermissionDenied)
		m = s.ok(&memberA, "POST", api+"registered-models/rename", map[string]any{"name": "churn", "new_name": "churn2"})["registered_model"].(map[string]any)
		if m["name"] != "churn2" || m["description"] != "new" || fmt.Sprint(m["aliases"]) != "[map[alias:champion version:3]]" {
			t.Fatalf("rename: %v", m)
		}
		s.fails(&viewerA, "GET", api+"registered-models/get?name=churn", nil, 404, CodeNotFound)
		v := s.ok(&memberA, "PATCH", api+"model-versions/update", map[string]any{"name": "churn2", "version": "2", "description": "vd"})["model_version"].(map[string]any)
		if v["description"] != "vd" || v["name"] != "churn2" || v["version"] != "2" {
			t.Fatalf("version update: %v", v)
		}
		s.fails(&memberA, "PATCH", api+"model-versions/update", map[string]any{"name": "churn2", "version": "9", "description": "x"}, 404, CodeNotFound)
		s.fails(&viewerA, "PATCH", api+"model-versions/update", map[string]any{"name": "churn2", "version": "1", "description": "x"}, 403, CodePermissionDenied)
		// Deleting the latest version: latest_versions falls back to the
		// highest left, its alias goes, and version 3 is never given again.
		s.fails(&memberB, "DELETE", api+"model-versions/delete", map[string]any{"name": "churn2", "version": "3"}, 404, CodeNotFound)
		s.fails(&viewerA, "DELETE", api+"model-versions/delete", map[string]any{"name": "churn2", "version": "3"}, 403, CodePermissionDenied)
		s.ok(&memberA, "DELETE", api+"model-versions/delete", map[string]any{"name": "churn2", "version": "3"})
		s.fails(&memberA, "DELETE", api+"model-versions/delete", map[string]any{"name": "churn2", "version": "3"}, 404, CodeNotFound)
		m = s.ok(&viewerA, "GET", api+"registered-models/get?name=churn2", nil)["registered_model"].(map[string]any)
		if lv := m["latest_versions"].([]any); len(lv) != 1 || lv[0].(map[string]any)["version"] != "2" || m["aliases"] != nil {
			t.Fatalf("after deleting version 3: %v", m)
		}
		if v := s.ok(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "churn2", "source": "s3://m"})["model_version"].(map[string]any); v["version"] != "4" {
			t.Fatalf("version after a delete: %v", v)
		}
		// Deleting the model deletes its versions; the name is free again.
		s.fails(&memberB, "DELETE", api+"registered-models/delete", map[string]any{"name": "churn2"}, 404, CodeNotFound)
		s.fails(&viewerA, "DELETE", api+"registered-models/delete", map[string]any{"name": "churn2"}, 403, CodePermissionDenied)
		s.ok(&memberA, "DELETE", api+"registered-models/delete", map[string]any{"name": "churn2"})
		s.fails(&memberA, "DELETE", api+"registered-models/delete", map[string]any{"name": "churn2"}, 404, CodeNotFound)
		s.fails(&viewerA, "GET", api+"model-versions/get?name=churn2&version=1", nil, 404, CodeNotFound)
		if vs := s.ok(&viewerA, "GET", api+"model-versions/search?filter=name+%3D+%27churn2%27", nil)["model_versions"].([]any); len(vs) != 0 {
			t.Fatalf("versions of a deleted model: %v", vs)
		}
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "churn2"})
		s.ok(&memberB, "GET", api+"registered-models/get?name=b-model", nil)
	})
}

// TestModelTagsAndStages: tags on create and by set-tag/delete-tag, shown
// on reads and searchable; stage transitions with archiving, and
// get-latest-versions by stage, as MLflow answers them.
func TestModelTagsAndStages(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		tags := []map[string]string{{"key": "team", "value": "risk"}}
		m := s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "m", "tags": tags})["registered_model"].(map[string]any)
		if fmt.Sprint(m["tags"]) != "[map[key:team value:risk]]" {
			t.Fatalf("create with tags: %v", m)
		}
		s.ok(&memberA, "POST", api+"registered-models/create", map[string]any{"name": "m2"})
		for range 3 {
			s.ok(&memberA, "POST", api+"model-versions/create", map[string]any{"name": "m", "source": "s3://m", "tags": []map[string]string{{"key": "k", "value": "v"}}})
		}
		s.ok(&memberA, "POST", api+"registered-models/set-tag", map[string]any{"name": "m", "key": "owner", "value": "ann"})
		s.fails(&viewerA, "POST", api+"registered-models/set-tag", map[string]any{"name": "m", "key": "owner", "value": "x"}, 403, CodePermissionDenied)
		s.fails(&memberB, "POST", api+"registered-models/set-tag", map[string]any{"name": "m", "key": "owner", "value": "x"}, 404, CodeNotFound)
		s.fails(&memberA, "POST", api+"registered-models/set-tag", map[string]any{"name": "m", "key": "k", "value": strings.Repeat("x", 8001)}, 400, CodeInvalid)
		sr := s.ok(&viewerA, "GET", api+"registered-models/search?filter=tags.owner+%3D+%27ann%27", nil)["registered_models"].([]any)
		if len(sr) != 1 || sr[0].(map[string]any)["name"] != "m" {
			t.Fatalf("search by tag: %v", sr)
		}
		s.ok(&memberA, "DELETE", api+"registered-models/delete-tag", map[string]any{"name": "m", "key": "owner"})
		s.fails(&memberA, "DELETE", api+"registered-models/delete-tag", map[string]any{"name": "m", "key": "owner"}, 404, CodeNotFound)
		s.fails(&memberB, "DELETE", api+"registered-models/delete-tag", map[string]any{"name": "m", "key": "team"}, 404, CodeNotFound)
		s.ok(&memberA, "POST", api+"model-versions/set-tag", map[string]any{"name": "m", "version": "2", "key": "passed", "value": "yes"})
		s.fails(&memberA, "POST", api+"model-versions/set-tag", map[string]any{"name": "m", "version": "9", "key": "passed", "value": "yes"}, 404, CodeNotFound)
		s.fails(&viewerA, "POST", api+"model-versions/set-tag", map[string]any{"name": "m", "version": "2", "key": "passed", "value": "no"}, 403, CodePermissionDenied)
		v := s.ok(&viewerA, "GET", api+"model-versions/get?name=m&version=2", nil)["model_version"].(map[string]any)
		if fmt.Sprint(v["tags"]) != "[map[key:k value:v] map[key:passed value:yes]]" {
			t.Fatalf("version tags: %v", v)
		}
		vs := s.ok(&viewerA, "GET", api+"model-versions/search?filter=tags.passed+%3D+%27yes%27", nil)["model_versions"].([]any)
		if len(vs) != 1 || vs[0].(map[string]any)["version"] != "2" {
			t.Fatalf("version search by tag: %v", vs)
		}
		s.ok(&memberA, "DELETE", api+"model-versions/delete-tag", map[string]any{"name": "m", "version": "2", "key": "passed"})
		s.fails(&memberA, "DELETE", api+"model-versions/delete-tag", map[string]any{"name": "m", "version": "2", "key": "passed"}, 404, CodeNotFound)
		// Stages.
		v = s.ok(&memberA, "POST", api+"model-versions/transition-stage", map[string]any{"name": "m", "version": "1", "stage": "production", "archive_existing_versions": false})["model_version"].(map[string]any)
		if v["current_stage"] != "Production" {
			t.Fatalf("transition: %v", v)
		}
		s.fails(&memberA, "POST", api+"model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "Shipping"}, 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "Archived", "archive_existing_versions": true}, 400, CodeInvalid)
		s.fails(&viewerA, "POST", api+"model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "Staging"}, 403, CodePermissionDenied)
		s.fails(&memberB, "POST", api+"model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "Staging"}, 404, CodeNotFound)
		s.ok(&memberA, "POST", api+"model-versions/transition-stage", map[string]any{"name": "m", "version": "2", "stage": "Production", "archive_existing_versions": true})
		if v := s.ok(&viewerA, "GET", api+"model-versions/get?name=m&version=1", nil)["model_version"].(map[string]any); v["current_stage"] != "Archived" {
			t.Fatalf("archived: %v", v)
		}
		latest := func(stages ...string) string {
			t.Helper()
			body := map[string]any{"name": "m"}
			if len(stages) > 0 {
				body["stages"] = stages
			}
			var out []string
			for _, v := range s.ok(&viewerA, "POST", api+"registered-models/get-latest-versions", body)["model_versions"].([]any) {
				out = append(out, v.(map[string]any)["version"].(string)+":"+v.(map[string]any)["current_stage"].(string))
			}
			return fmt.Sprint(out)
		}
		if got := latest(); got != "[1:Archived 2:Production 3:None]" {
			t.Fatalf("latest per stage: %s", got)
		}
		if got := latest("Production"); got != "[2:Production]" {
			t.Fatalf("latest in Production: %s", got)
		}
		if got := latest("Staging"); got != "[]" {
			t.Fatalf("latest in Staging: %s", got)
		}
		s.fails(&viewerA, "POST", api+"registered-models/get-latest-versions", map[string]any{"name": "m", "stages": []string{"Bogus"}}, 400, CodeInvalid)
		if m := s.ok(&viewerA, "GET", api+"registered-models/get?name=m", nil)["registered_model"].(map[string]any); len(m["latest_versions"].([]any)) != 3 {
			t.Fatalf("latest_versions: %v", m)
		}
	})
}

func TestLoggedModelsSearchIsEmpty(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	r := s.ok(&viewerA, "POST", api+"logged-models/search", map[string]any{"experiment_ids": []string{"1"}, "filter": "name = 'x'"})
	if fmt.Sprint(r["models"]) != "[]" {
		t.Fatalf("logged models: %v", r)
	}
	s.fails(&viewerA, "POST", api+"logged-models/search", map[string]any{}, 400, CodeInvalid)
}

package mlflowapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// server is a Handler over a migrated registry, called as principals of
// two tenants.
type server struct {
	t   testing.TB
	reg *registry.Registry
	h   *Handler
}

func newServer(t testing.TB, open func(testing.TB) *gorm.DB) *server {
	t.Helper()
	reg := newRegistry(t, open(t), tenancy.NewPlugin(), true)
	h, err := New(reg, WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return &server{t: t, reg: reg, h: h}
}

var (
	memberA = auth.Principal{UserID: "u-a", TenantID: "tenant-a", Role: auth.RoleMember}
	viewerA = auth.Principal{UserID: "v-a", TenantID: "tenant-a", Role: auth.RoleViewer}
	memberB = auth.Principal{UserID: "u-b", TenantID: "tenant-b", Role: auth.RoleMember}
)

type resp struct {
	status int
	body   map[string]any
	raw    []byte
}

func (s *server) do(p *auth.Principal, method, path string, body any) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		if _, ok := body.([]byte); !ok {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if p != nil {
		req = req.WithContext(auth.WithPrincipal(req.Context(), *p))
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	out := resp{status: w.Code, raw: w.Body.Bytes()}
	_ = json.Unmarshal(out.raw, &out.body)
	return out
}

func (s *server) ok(p *auth.Principal, method, path string, body any) map[string]any {
	s.t.Helper()
	r := s.do(p, method, path, body)
	if r.status != 200 {
		s.t.Fatalf("%s %s: %d %s", method, path, r.status, r.raw)
	}
	return r.body
}

func (s *server) fails(p *auth.Principal, method, path string, body any, status int, code string) {
	s.t.Helper()
	r := s.do(p, method, path, body)
	if r.status != status || r.body["error_code"] != code {
		s.t.Fatalf("%s %s: got %d %s, want %d %s", method, path, r.status, r.raw, status, code)
	}
	if m, _ := r.body["message"].(string); m == "" {
		s.t.Fatalf("%s %s: error without a message: %s", method, path, r.raw)
	}
}

const api = "/api/2.0/mlflow/"

func (s *server) experiment(p *auth.Principal, name string) string {
	return s.ok(p, "POST", api+"experiments/create", map[string]any{"name": name})["experiment_id"].(string)
}

func (s *server) run(p *auth.Principal, exp string, extra map[string]any) string {
	body := map[string]any{"experiment_id": exp, "start_time": 1700000000000}
	for k, v := range extra {
		body[k] = v
	}
	r := s.ok(p, "POST", api+"runs/create", body)
	return r["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
}

func forEachDB(t *testing.T, fn func(t *testing.T, s *server)) {
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newServer(t, open))
		})
	}
}

func TestExperimentsLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		id := s.experiment(&memberA, "exp")
		s.fails(&memberA, "POST", api+"experiments/create", map[string]any{"name": "exp"}, 400, CodeAlreadyExists)
		// Names are unique per tenant, not globally.
		idB := s.experiment(&memberB, "exp")
		if idB == id {
			t.Fatal("two tenants share an experiment")
		}
		e := s.ok(&viewerA, "GET", api+"experiments/get-by-name?experiment_name=exp", nil)["experiment"].(map[string]any)
		if e["experiment_id"] != id || e["lifecycle_stage"] != "active" || e["artifact_location"] != "mlflow-artifacts:/"+id {
			t.Fatalf("get-by-name: %v", e)
		}
		s.fails(&memberB, "GET", api+"experiments/get?experiment_id="+id, nil, 404, CodeNotFound)
		s.fails(&memberA, "GET", api+"experiments/get?experiment_id=nope", nil, 404, CodeNotFound)
		s.fails(&memberA, "GET", api+"experiments/get", nil, 400, CodeInvalid)
		s.ok(&memberA, "POST", api+"experiments/set-experiment-tag", map[string]any{"experiment_id": id, "key": "team", "value": "vision"})
		s.ok(&memberA, "POST", api+"experiments/update", map[string]any{"experiment_id": id, "new_name": "exp2"})
		e = s.ok(&memberA, "GET", api+"experiments/get?experiment_id="+id, nil)["experiment"].(map[string]any)
		if e["name"] != "exp2" || fmt.Sprint(e["tags"]) != "[map[key:team value:vision]]" {
			t.Fatalf("after update: %v", e)
		}
		s.ok(&memberA, "POST", api+"experiments/delete", map[string]any{"experiment_id": id})
		found := s.ok(&memberA, "POST", api+"experiments/search", map[string]any{})
		if _, ok := found["experiments"].([]any); !ok || len(found["experiments"].([]any)) != 0 {
			t.Fatalf("deleted experiment in default search: %v", found)
		}
		found = s.ok(&memberA, "POST", api+"experiments/search", map[string]any{"view_type": "DELETED_ONLY", "filter": "name = 'exp2'"})
		if len(found["experiments"].([]any)) != 1 {
			t.Fatalf("deleted-only search: %v", found)
		}
		s.fails(&memberA, "POST", api+"runs/create", map[string]any{"experiment_id": id}, 400, CodeInvalid)
		s.ok(&memberA, "POST", api+"experiments/restore", map[string]any{"experiment_id": id})
		s.run(&memberA, id, nil)
		// Tenant B sees only its own experiment.
		found = s.ok(&memberB, "POST", api+"experiments/search", map[string]any{"view_type": "ALL"})
		if exps := found["experiments"].([]any); len(exps) != 1 || exps[0].(map[string]any)["experiment_id"] != idB {
			t.Fatalf("tenant B search: %v", found)
		}
	})
}

func TestAccessRules(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	id := s.experiment(&memberA, "e")
	s.fails(nil, "GET", api+"experiments/get?experiment_id="+id, nil, 401, CodeUnauthenticated)
	s.fails(&viewerA, "POST", api+"experiments/create", map[string]any{"name": "v"}, 403, CodePermissionDenied)
	s.fails(&viewerA, "POST", api+"runs/create", map[string]any{"experiment_id": id}, 403, CodePermissionDenied)
	s.ok(&viewerA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{id}})
	s.ok(&viewerA, "GET", api+"experiments/get?experiment_id="+id, nil)
	noTenant := auth.Principal{UserID: "root", Superadmin: true}
	s.fails(&noTenant, "GET", api+"experiments/get?experiment_id="+id, nil, 403, CodePermissionDenied)
	s.fails(&memberA, "GET", api+"experiments/create", nil, 405, CodeBadRequest)
	s.fails(&memberA, "POST", api+"nope", map[string]any{}, 404, CodeEndpointNotFound)
	// Every endpoint that writes refuses a viewer before doing anything.
	for _, e := range Endpoints() {
		if !e.Write {
			continue
		}
		path := api + e.Path
		if strings.HasPrefix(e.Path, ArtifactsPrefix) {
			path = ArtifactsPrefix + "/" + id + "/x/artifacts/f"
		}
		s.fails(&viewerA, e.Method, path, map[string]any{}, 403, CodePermissionDenied)
	}
}

func TestRunsAndBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "e")
		run := s.run(&memberA, exp, map[string]any{"run_name": "first", "user_id": "ann",
			"tags": []map[string]string{{"key": "mlflow.source.type", "value": "LOCAL"}}})
		s.ok(&memberA, "POST", api+"runs/log-parameter", map[string]any{"run_id": run, "key": "lr", "value": "0.1"})
		s.ok(&memberA, "POST", api+"runs/log-parameter", map[string]any{"run_id": run, "key": "lr", "value": "0.1"})
		s.fails(&memberA, "POST", api+"runs/log-parameter", map[string]any{"run_id": run, "key": "lr", "value": "0.2"}, 400, CodeInvalid)
		// int64 fields as strings, as protobuf's JSON mapping writes them.
		s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "loss", "value": 1.5, "timestamp": "1700000001000", "step": "1"})
		s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "loss", "value": 0.5, "timestamp": 1700000002000, "step": 2})
		s.fails(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "loss", "value": "NaN", "timestamp": 1, "step": 3}, 400, CodeInvalid)
		metrics := []map[string]any{}
		for i := 0; i < 10; i++ {
			metrics = append(metrics, map[string]any{"key": "acc", "value": float64(i) / 10, "timestamp": 1700000003000 + i, "step": i})
		}
		s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": metrics,
			"params": []map[string]string{{"key": "layers", "value": "3"}},
			"tags":   []map[string]string{{"key": "stage", "value": "dev"}}})
		// MLflow's batch limits.
		big := make([]map[string]any, 1001)
		for i := range big {
			big[i] = map[string]any{"key": "m", "value": 1, "timestamp": 1, "step": i}
		}
		s.fails(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run, "metrics": big}, 400, CodeInvalid)
		params := make([]map[string]string, 101)
		for i := range params {
			params[i] = map[string]string{"key": fmt.Sprint("p", i), "value": "v"}
		}
		s.fails(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run, "params": params}, 400, CodeInvalid)
		// A batch that fails changes nothing.
		s.fails(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": run,
			"params": []map[string]string{{"key": "new", "value": "1"}, {"key": "lr", "value": "9"}}}, 400, CodeInvalid)
		s.ok(&memberA, "POST", api+"runs/set-tag", map[string]any{"run_id": run, "key": "mlflow.runName", "value": "renamed"})
		s.ok(&memberA, "POST", api+"runs/delete-tag", map[string]any{"run_id": run, "key": "stage"})
		s.fails(&memberA, "POST", api+"runs/delete-tag", map[string]any{"run_id": run, "key": "stage"}, 404, CodeNotFound)
		s.ok(&memberA, "POST", api+"runs/log-inputs", map[string]any{"run_id": run, "datasets": []map[string]any{
			{"dataset": map[string]any{"name": "train", "digest": "abc", "source_type": "local", "source": "/d"}}}})
		r := s.ok(&viewerA, "GET", api+"runs/get?run_id="+run, nil)["run"].(map[string]any)
		info, data := r["info"].(map[string]any), r["data"].(map[string]any)
		if info["run_name"] != "renamed" || info["status"] != "RUNNING" || info["user_id"] != "ann" ||
			info["artifact_uri"] != "mlflow-artifacts:/"+exp+"/"+run+"/artifacts" || info["start_time"] != float64(1700000000000) {
			t.Fatalf("run info: %v", info)
		}
		if got := fmt.Sprint(data["params"]); got != "[map[key:layers value:3] map[key:lr value:0.1]]" {
			t.Fatalf("params: %s", got)
		}
		if got := fmt.Sprint(data["metrics"]); !strings.Contains(got, "map[key:acc step:9 timestamp:1.700000003009e+12 value:0.9]") ||
			!strings.Contains(got, "map[key:loss step:2 timestamp:1.700000002e+12 value:0.5]") {
			t.Fatalf("metrics: %s", got)
		}
		tags := fmt.Sprint(data["tags"])
		if strings.Contains(tags, "stage") || !strings.Contains(tags, "map[key:mlflow.runName value:renamed]") {
			t.Fatalf("tags: %s", tags)
		}
		if got := fmt.Sprint(r["inputs"]); !strings.Contains(got, "name:train") {
			t.Fatalf("inputs: %s", got)
		}
		// Metric history, paged.
		h := s.ok(&viewerA, "GET", api+"metrics/get-history?run_id="+run+"&metric_key=acc&max_results=4", nil)
		if len(h["metrics"].([]any)) != 4 || h["next_page_token"] == nil {
			t.Fatalf("history page 1: %v", h)
		}
		var all []any
		tok := ""
		for {
			q := api + "metrics/get-history?run_id=" + run + "&metric_key=acc&max_results=4"
			if tok != "" {
				q += "&page_token=" + tok
			}
			h := s.ok(&viewerA, "GET", q, nil)
			all = append(all, h["metrics"].([]any)...)
			next, _ := h["next_page_token"].(string)
			if next == "" {
				break
			}
			tok = next
		}
		if len(all) != 10 {
			t.Fatalf("full history: %d points", len(all))
		}
		s.fails(&viewerA, "GET", api+"metrics/get-history?run_id="+run+"&metric_key=acc&page_token=junk", nil, 400, CodeInvalid)
		// Another tenant cannot see or write the run.
		s.fails(&memberB, "GET", api+"runs/get?run_id="+run, nil, 404, CodeNotFound)
		s.fails(&memberB, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "x", "value": 1, "timestamp": 1}, 404, CodeNotFound)
		s.fails(&memberB, "POST", api+"runs/create", map[string]any{"experiment_id": exp}, 404, CodeNotFound)
		// Finish, delete, restore.
		u := s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "FINISHED", "end_time": 1700000009000})
		if ri := u["run_info"].(map[string]any); ri["status"] != "FINISHED" || ri["end_time"] != float64(1700000009000) {
			t.Fatalf("update: %v", u)
		}
		s.ok(&memberA, "POST", api+"runs/delete", map[string]any{"run_id": run})
		s.fails(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "x", "value": 1, "timestamp": 1}, 400, CodeInvalid)
		s.ok(&memberA, "POST", api+"runs/restore", map[string]any{"run_id": run})
	})
}

func TestSearchRuns(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "search")
		var ids []string
		for i := 0; i < 5; i++ {
			id := s.run(&memberA, exp, map[string]any{"run_name": fmt.Sprint("run-", i), "start_time": 1700000000000 + i})
			ids = append(ids, id)
			s.ok(&memberA, "POST", api+"runs/log-batch", map[string]any{"run_id": id,
				"metrics": []map[string]any{{"key": "acc", "value": float64(i) / 10, "timestamp": 1, "step": 0}},
				"params":  []map[string]string{{"key": "model", "value": []string{"CNN", "cnn", "rnn", "MLP", "cnn-big"}[i]}},
				"tags":    []map[string]string{{"key": "my tag", "value": fmt.Sprint(i % 2)}}})
		}
		s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": ids[4], "status": "FAILED"})
		search := func(filter string, order ...string) []string {
			t.Helper()
			r := s.ok(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": filter, "order_by": order})
			var names []string
			for _, run := range r["runs"].([]any) {
				names = append(names, run.(map[string]any)["info"].(map[string]any)["run_name"].(string))
			}
			return names
		}
		cases := []struct {
			filter string
			order  []string
			want   string
		}{
			{"", nil, "[run-4 run-3 run-2 run-1 run-0]"},
			{"metrics.acc > 0.15", []string{"metrics.acc ASC"}, "[run-2 run-3 run-4]"},
			{"metrics.acc >= 0.2 and metrics.acc <= 0.3", nil, "[run-3 run-2]"},
			{"metrics.acc != 0", []string{"attributes.run_name"}, "[run-1 run-2 run-3 run-4]"},
			{"metrics.acc = 0.1", nil, "[run-1]"},
			{"metrics.acc < 0.1", nil, "[run-0]"},
			{"params.model = 'cnn'", nil, "[run-1]"},
			{"params.model != 'cnn'", []string{"run_name"}, "[run-0 run-2 run-3 run-4]"},
			{"params.model LIKE 'cnn%'", []string{"start_time"}, "[run-1 run-4]"},
			{"params.model ILIKE 'cnn%'", []string{"start_time"}, "[run-0 run-1 run-4]"},
			{"params.model LIKE '_nn'", []string{"start_time"}, "[run-1 run-2]"},
			{"tags.`my tag` = '1'", []string{"start_time"}, "[run-1 run-3]"},
			{`tags."my tag" = "0" AND params.model ILIKE "%CNN%"`, []string{"start_time"}, "[run-0 run-4]"},
			{"attributes.status = 'FAILED'", nil, "[run-4]"},
			{"status != 'FAILED' and attributes.run_name like 'run-%'", []string{"metrics.acc DESC"}, "[run-3 run-2 run-1 run-0]"},
			{"attributes.run_id IN ('" + ids[0] + "', '" + ids[2] + "')", nil, "[run-2 run-0]"},
			{"attributes.run_id NOT IN ('" + ids[0] + "')", []string{"start_time"}, "[run-1 run-2 run-3 run-4]"},
			{"attributes.start_time > 1700000000002", nil, "[run-4 run-3]"},
			{"metrics.missing > 0", nil, "[]"},
			// artifact_uri is derived here: its order reads every run.
			{"attributes.artifact_uri LIKE '%/artifacts'", []string{"attributes.artifact_uri DESC"}, "[run-4 run-3 run-2 run-1 run-0]"},
			{"metrics.acc >= 0.1", []string{"attributes.artifact_uri"}, "[run-1 run-2 run-3 run-4]"},
			{"params.model = 'nope'", nil, "[]"},
		}
		for _, c := range cases {
			if got := fmt.Sprint(search(c.filter, c.order...)); got != c.want {
				t.Errorf("filter %q order %v: got %s, want %s", c.filter, c.order, got, c.want)
			}
		}
		for _, bad := range []string{
			"metrics.acc > 'x'", "params.model > 'a'", "params.model = 3", "metrics.acc LIKE '%'",
			"foo.bar = 1", "attributes.nope = 'x'", "metrics.acc > 1 OR metrics.acc < 0", "metrics.acc >",
			"params.model = 'unterminated", "tags.x IN ('a')", "metrics.acc ~ 1",
		} {
			s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "filter": bad}, 400, CodeInvalid)
		}
		s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "order_by": []string{"metrics.acc SIDEWAYS"}}, 400, CodeInvalid)
		s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "max_results": 50001}, 400, CodeInvalid)
		// Pages: max_results and page tokens walk every run exactly once.
		var names []string
		tok := ""
		for pages := 0; ; pages++ {
			body := map[string]any{"experiment_ids": []string{exp}, "max_results": 2, "order_by": []string{"start_time ASC"}}
			if tok != "" {
				body["page_token"] = tok
			}
			r := s.ok(&memberA, "POST", api+"runs/search", body)
			for _, run := range r["runs"].([]any) {
				names = append(names, run.(map[string]any)["info"].(map[string]any)["run_name"].(string))
			}
			next, _ := r["next_page_token"].(string)
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			tok = next
		}
		if fmt.Sprint(names) != "[run-0 run-1 run-2 run-3 run-4]" {
			t.Fatalf("paged: %v", names)
		}
		// A token is bound to its search.
		r := s.ok(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "max_results": 2})
		s.fails(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "max_results": 2,
			"filter": "metrics.acc > 0", "page_token": r["next_page_token"]}, 400, CodeInvalid)
		// Another tenant searching these experiment ids finds nothing.
		rb := s.ok(&memberB, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}})
		if len(rb["runs"].([]any)) != 0 {
			t.Fatalf("tenant B sees tenant A's runs: %v", rb)
		}
		// Deleted runs: hidden by default, shown by DELETED_ONLY and ALL.
		s.ok(&memberA, "POST", api+"runs/delete", map[string]any{"run_id": ids[0]})
		if got := fmt.Sprint(search("", "start_time")); got != "[run-1 run-2 run-3 run-4]" {
			t.Fatalf("after delete: %s", got)
		}
		r = s.ok(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "run_view_type": "DELETED_ONLY"})
		if len(r["runs"].([]any)) != 1 {
			t.Fatalf("deleted only: %v", r)
		}
	})
}

func TestDefaultExperiment(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	s.fails(&viewerA, "GET", api+"experiments/get?experiment_id=0", nil, 404, CodeNotFound)
	run := s.run(&memberA, "0", nil)
	e := s.ok(&memberA, "GET", api+"experiments/get?experiment_id=0", nil)["experiment"].(map[string]any)
	if e["name"] != DefaultExperimentName {
		t.Fatalf("default experiment: %v", e)
	}
	r := s.ok(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{"0"}})
	if runs := r["runs"].([]any); len(runs) != 1 || runs[0].(map[string]any)["info"].(map[string]any)["run_id"] != run {
		t.Fatalf("search of experiment 0: %v", r)
	}
	// Each tenant has its own.
	s.run(&memberB, "0", nil)
	if idB := s.ok(&memberB, "GET", api+"experiments/get?experiment_id=0", nil)["experiment"].(map[string]any)["experiment_id"]; idB == e["experiment_id"] {
		t.Fatal("tenants share the Default experiment")
	}
}

func TestArtifactProxy(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *server) {
		exp := s.experiment(&memberA, "art")
		run := s.run(&memberA, exp, nil)
		base := ArtifactsPrefix + "/" + exp + "/" + run + "/artifacts"
		s.ok(&memberA, "PUT", base+"/model/weights.bin", []byte("weights"))
		s.ok(&memberA, "PUT", base+"/model/conf/a.yaml", []byte("a: 1"))
		s.ok(&memberA, "PUT", base+"/notes.txt", []byte("hello"))
		s.ok(&memberA, "PUT", base+"/notes.txt", []byte("hello again"))
		r := s.do(&viewerA, "GET", base+"/notes.txt", nil)
		if r.status != 200 || string(r.raw) != "hello again" {
			t.Fatalf("download: %d %q", r.status, r.raw)
		}
		l := s.ok(&viewerA, "GET", ArtifactsPrefix+"?path="+exp+"/"+run+"/artifacts", nil)
		if got := fmt.Sprint(l["files"]); got != "[map[is_dir:true path:model] map[file_size:11 is_dir:false path:notes.txt]]" {
			t.Fatalf("list root: %s", got)
		}
		l = s.ok(&viewerA, "GET", ArtifactsPrefix+"?path="+exp+"/"+run+"/artifacts/model", nil)
		if got := fmt.Sprint(l["files"]); got != "[map[is_dir:true path:conf] map[file_size:7 is_dir:false path:weights.bin]]" {
			t.Fatalf("list model: %s", got)
		}
		s.fails(&memberA, "PUT", base+"/model", []byte("x"), 400, CodeAlreadyExists)
		s.fails(&memberA, "PUT", base+"/notes.txt/inner", []byte("x"), 400, CodeAlreadyExists)
		s.fails(&memberA, "PUT", base+"/../escape", []byte("x"), 400, CodeInvalid)
		s.fails(&memberA, "GET", ArtifactsPrefix+"?path="+exp, nil, 400, CodeInvalid)
		// Another tenant, or a wrong experiment, finds nothing.
		s.fails(&memberB, "GET", base+"/notes.txt", nil, 404, CodeNotFound)
		s.fails(&memberB, "PUT", base+"/evil.txt", []byte("x"), 404, CodeNotFound)
		other := s.experiment(&memberA, "other")
		s.fails(&memberA, "GET", ArtifactsPrefix+"/"+other+"/"+run+"/artifacts/notes.txt", nil, 404, CodeNotFound)
		s.ok(&memberA, "DELETE", base+"/model", nil)
		s.fails(&memberA, "GET", base+"/model/weights.bin", nil, 404, CodeNotFound)
		s.fails(&memberA, "DELETE", base+"/model", nil, 404, CodeNotFound)
		s.fails(&viewerA, "DELETE", base+"/notes.txt", nil, 403, CodePermissionDenied)
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

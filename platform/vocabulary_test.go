package platform

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/metalearn"
)

// timeoutError is the net.Error a connection's read deadline gives.
type timeoutError struct{}

func (timeoutError) Error() string   { return "read tcp: i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// failingBody yields some bytes, then err.
type failingBody struct {
	prefix string
	err    error
}

func (b *failingBody) Read(p []byte) (int, error) {
	if b.prefix != "" {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		return n, nil
	}
	return 0, b.err
}

func (b *failingBody) Close() error { return nil }

// TestStalledBodyIsTheClients checks that a body the client stops sending
// (the read deadline's net.Error) is 408 and one that breaks off is 400,
// on a JSON route, a batch and an upload — never the 503 of a database
// outage — and that nothing is stored.
func TestStalledBodyIsTheClients(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	tid := ts.createTenant(root, "stall")
	ts.addMember(root, tid, "mia", memberPassword, "member")
	tok := ts.login("mia", memberPassword, "stall").AccessToken
	var p struct{ ID string }
	expect(t, ts.do("POST", "/api/v1/projects", tok, map[string]any{"name": "p", "problem_class": "nlp",
		"complexity_score": 3, "team_size": 2}), 201).json(t, &p)
	var a struct{ ID string }
	expect(t, ts.do("POST", "/api/v1/artifacts", tok, map[string]any{"name": "a", "type": "dataset", "version": "1"}), 201).json(t, &a)

	cases := []struct {
		method, path, ct, prefix string
	}{
		{"POST", "/api/v1/projects", "application/json", `{"name":"stalled","problem_class":"nlp"`},
		{"POST", "/api/v1/projects/" + p.ID + "/process-metrics", "application/json", `[{"metric_type":"velocity","value":1},`},
		{"PUT", "/api/v1/artifacts/" + a.ID + "/content", "application/octet-stream", "some bytes"},
	}
	for _, tc := range cases {
		for _, fail := range []struct {
			err    error
			status int
			code   string
		}{
			{timeoutError{}, http.StatusRequestTimeout, "request_timeout"},
			{io.ErrUnexpectedEOF, http.StatusBadRequest, "incomplete_body"},
			{errors.New("connection reset by peer"), http.StatusBadRequest, "incomplete_body"},
		} {
			req := httptest.NewRequest(tc.method, tc.path, &failingBody{prefix: tc.prefix, err: fail.err})
			req.Header.Set("Content-Type", tc.ct)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			ts.s.Handler().ServeHTTP(rec, req)
			res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			if res.status != fail.status {
				t.Errorf("%s %s, body failing with %v: status %d, want %d; body %s", tc.method, tc.path, fail.err, res.status, fail.status, res.body)
				continue
			}
			if got := res.problem(t).Code; got != fail.code {
				t.Errorf("%s %s: code %q, want %q", tc.method, tc.path, got, fail.code)
			}
		}
	}
	var list struct{ Items []map[string]any }
	expect(t, ts.do("GET", "/api/v1/projects", tok, nil), 200).json(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d projects after the failed uploads, want 1", len(list.Items))
	}
	var pm struct{ Items []map[string]any }
	expect(t, ts.do("GET", "/api/v1/projects/"+p.ID+"/process-metrics", tok, nil), 200).json(t, &pm)
	if len(pm.Items) != 0 {
		t.Errorf("%d process metrics after the failed batches, want 0", len(pm.Items))
	}
	var art struct {
		SizeBytes int64 `json:"size_bytes"`
	}
	expect(t, ts.do("GET", "/api/v1/artifacts/"+a.ID, tok, nil), 200).json(t, &art)
	if art.SizeBytes != 0 {
		t.Errorf("artifact has %d bytes after the failed uploads", art.SizeBytes)
	}
}

// TestListParametersOneVocabulary checks that every list answers a bad
// cursor, a bad limit and a bad filter the same way: 400
// invalid_parameter naming the parameter in errors[].
func TestListParametersOneVocabulary(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	tid := ts.createTenant(root, "vocab")
	ts.addMember(root, tid, "val", memberPassword, "admin")
	tok := ts.login("val", memberPassword, "vocab").AccessToken
	var p, e, run, a struct{ ID string }
	expect(t, ts.do("POST", "/api/v1/projects", tok, map[string]any{"name": "p", "problem_class": "nlp",
		"complexity_score": 3, "team_size": 2}), 201).json(t, &p)
	expect(t, ts.do("POST", "/api/v1/projects/"+p.ID+"/experiments", tok, map[string]any{"name": "e"}), 201).json(t, &e)
	expect(t, ts.do("POST", "/api/v1/experiments/"+e.ID+"/runs", tok, map[string]any{}), 201).json(t, &run)
	expect(t, ts.do("POST", "/api/v1/artifacts", tok, map[string]any{"name": "a", "type": "dataset", "version": "1"}), 201).json(t, &a)
	expect(t, ts.do("POST", "/api/v1/models", tok, map[string]any{"name": "m"}), 201)

	lists := []string{
		"/api/v1/auth/api-keys", "/api/v1/tenants", "/api/v1/tenants/" + tid + "/members",
		"/api/v1/projects", "/api/v1/projects/" + p.ID + "/team", "/api/v1/projects/" + p.ID + "/process-metrics",
		"/api/v1/projects/" + p.ID + "/experiments", "/api/v1/experiments/" + e.ID + "/runs",
		"/api/v1/runs/" + run.ID + "/metrics", "/api/v1/artifacts", "/api/v1/artifacts/" + a.ID + "/usages",
		"/api/v1/models", "/api/v1/models/m/versions", "/api/v1/models/m/aliases", "/api/v1/meta-models",
		"/api/v1/projects/" + p.ID + "/predictions",
	}
	for _, path := range lists {
		for _, q := range []struct{ query, param string }{
			{"cursor=not-a-cursor", "cursor"},
			{"cursor=" + strings.Repeat("x", maxCursorLen+1), "cursor"},
			{"limit=0", "limit"},
			{"limit=abc", "limit"},
		} {
			checkBadParam(t, ts.do("GET", path+"?"+q.query, tok, nil), path+"?"+q.query, q.param)
		}
	}
	for _, q := range []struct{ path, param string }{
		{"/api/v1/projects?problem_class=poetry", "problem_class"},
		{"/api/v1/projects?status=done", "status"},
		{"/api/v1/projects?tag=", "tag"},
		{"/api/v1/projects?tag=ok&tag=" + strings.Repeat("t", 65), "tag"},
		{"/api/v1/artifacts?tag=" + strings.Repeat("t", 65), "tag"},
		{"/api/v1/artifacts?type=poem", "type"},
		{"/api/v1/artifacts?min_impact=101", "min_impact"},
		{"/api/v1/artifacts/top?type=poem", "type"},
		{"/api/v1/artifacts/top?limit=0", "limit"},
		{"/api/v1/projects/" + p.ID + "/similar?limit=0", "limit"},
		{"/api/v1/runs/" + run.ID + "/metrics/loss?max_points=1", "max_points"},
	} {
		checkBadParam(t, ts.do("GET", q.path, tok, nil), q.path, q.param)
	}
}

// checkBadParam fails unless res is a 400 invalid_parameter naming param.
func checkBadParam(t *testing.T, res response, what, param string) {
	t.Helper()
	if res.status != http.StatusBadRequest {
		t.Errorf("GET %s: status %d, want 400; body %s", what, res.status, res.body)
		return
	}
	pr := res.problem(t)
	if pr.Code != "invalid_parameter" || len(pr.Errors) != 1 || pr.Errors[0].Field != param {
		t.Errorf("GET %s: %s, want invalid_parameter naming %q", what, res.body, param)
	}
}

// TestConflictSaysWhat checks that a 409 names what conflicts.
func TestConflictSaysWhat(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	tid := ts.createTenant(root, "twice")
	ts.addMember(root, tid, "cory", memberPassword, "member")
	tok := ts.login("cory", memberPassword, "twice").AccessToken
	for _, tc := range []struct {
		path, token string
		body        map[string]any
		want        string
	}{
		{"/api/v1/tenants", root, map[string]any{"name": "Again", "slug": "twice"}, `tenant slug twice already exists`},
		{"/api/v1/models", tok, map[string]any{"name": "churn"}, `model churn already exists`},
		{"/api/v1/artifacts", tok, map[string]any{"name": "feats", "type": "dataset", "version": "2"}, `artifact feats version 2 already exists`},
	} {
		if tc.path != "/api/v1/tenants" {
			expect(t, ts.do("POST", tc.path, tc.token, tc.body), 201)
		}
		p := expect(t, ts.do("POST", tc.path, tc.token, tc.body), 409).problem(t)
		if p.Code != "conflict" || p.Detail != tc.want {
			t.Errorf("POST %s again: %+v, want detail %q", tc.path, p, tc.want)
		}
	}
}

// TestFieldPathsHaveIndices checks that the fields of a batch's problem
// carry the element's index and those of a spec their section and index.
func TestFieldPathsHaveIndices(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	tid := ts.createTenant(root, "paths")
	ts.addMember(root, tid, "pat", memberPassword, "member")
	tok := ts.login("pat", memberPassword, "paths").AccessToken
	var p, e, run struct{ ID string }
	expect(t, ts.do("POST", "/api/v1/projects", tok, map[string]any{"name": "p", "problem_class": "nlp",
		"complexity_score": 3, "team_size": 2}), 201).json(t, &p)
	expect(t, ts.do("POST", "/api/v1/projects/"+p.ID+"/experiments", tok, map[string]any{"name": "e"}), 201).json(t, &e)
	expect(t, ts.do("POST", "/api/v1/experiments/"+e.ID+"/runs", tok, map[string]any{}), 201).json(t, &run)
	metrics := "/api/v1/runs/" + run.ID + "/metrics"
	for _, tc := range []struct {
		path string
		body any
		want []string
	}{
		{metrics, `[{"key":"loss","value":1},{"key":"loss","value":"high"}]`, []string{"[1].value"}},
		{metrics, `[{"key":"loss","value":1},{"key":"loss","value":2,"colour":"red"}]`, []string{"[1].colour"}},
		{metrics, `[{"key":"loss","value":1},{"key":"lo\u0000ss","value":2}]`, []string{"[1].key"}},
		{metrics, `[{"key":"loss","value":1},{"key":"loss"}]`, []string{"[1].value"}},
		{"/api/v1/projects/" + p.ID + "/process-metrics", `[{"metric_type":"velocity","value":1},{"metric_type":"velocity","value":2,"timestamp":"yesterday"}]`, []string{"[1].timestamp"}},
		{"/api/v1/projects", map[string]any{"name": "s", "problem_class": "nlp", "complexity_score": 3, "team_size": 2,
			"spec": map[string]any{"data_models": []any{map[string]any{"entity": "a"}, map[string]any{"fields": []string{"x"}}},
				"api_endpoints": []any{map[string]any{"method": "GET"}}}},
			[]string{"spec.data_models[1].entity", "spec.api_endpoints[0].path"}},
	} {
		pr := expect(t, ts.do("POST", tc.path, tok, tc.body), 422).problem(t)
		var got []string
		for _, f := range pr.Errors {
			got = append(got, f.Field)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("POST %s %v: fields %v, want %v", tc.path, tc.body, got, tc.want)
		}
	}
	var list struct{ Items []any }
	expect(t, ts.do("GET", metrics, tok, nil), 200).json(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("%d metrics stored by refused batches", len(list.Items))
	}
}

// TestFactorValuesAreNumbers checks the JSON of a factor: a numeric
// feature's value is a number, the problem class a category.
func TestFactorValuesAreNumbers(t *testing.T) {
	five := 5.0
	for _, tc := range []struct {
		f    metalearn.Factor
		want string
	}{
		{metalearn.Factor{Feature: "team_size", Value: &five, Effect: 1.5}, `{"feature":"team_size","value":5,"effect":1.5}`},
		{metalearn.Factor{Feature: "problem_class", Category: "nlp", Effect: -2}, `{"feature":"problem_class","value":null,"category":"nlp","effect":-2}`},
	} {
		b, err := json.Marshal(tc.f)
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v encodes as %s (%v), want %s", tc.f, b, err, tc.want)
		}
	}
}

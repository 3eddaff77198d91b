package mlflowapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
)

func TestNewRefusesInvalidInput(t *testing.T) {
	if _, err := New(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil registry: %v", err)
	}
	s := newServer(t, testenv.SQLite)
	if _, err := New(s.reg, WithClock(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil clock: %v", err)
	}
	if _, err := New(s.reg, WithLogger(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil logger: %v", err)
	}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h, err := New(s.reg, WithClock(func() time.Time { return fixed }))
	if err != nil {
		t.Fatal(err)
	}
	s.h = h
	exp := s.experiment(&memberA, "clock")
	run := s.run(&memberA, exp, nil)
	s.ok(&memberA, "POST", api+"runs/log-metric", map[string]any{"run_id": run, "key": "m", "value": 1})
	hist := s.ok(&memberA, "GET", api+"metrics/get-history?run_id="+run+"&metric_key=m", nil)["metrics"].([]any)
	if ts := hist[0].(map[string]any)["timestamp"]; ts != float64(fixed.UnixMilli()) {
		t.Fatalf("a metric without a timestamp takes the clock's time: %v", ts)
	}
}

// TestMalformedInput: bad bodies, types and parameters are
// INVALID_PARAMETER_VALUE, never a 5xx.
func TestMalformedInput(t *testing.T) {
	s := newServer(t, testenv.SQLite)
	exp := s.experiment(&memberA, "bad")
	run := s.run(&memberA, exp, nil)
	raw := func(method, path, ct, body string) resp {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req = req.WithContext(auth.WithPrincipal(req.Context(), memberA))
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, req)
		return resp{status: w.Code, raw: w.Body.Bytes()}
	}
	for _, c := range []struct{ method, path, ct, body string }{
		{"POST", api + "experiments/create", "application/json", `{"name": 3}`},
		{"POST", api + "experiments/create", "application/json", `[1]`},
		{"POST", api + "experiments/create", "application/json", `{"name": "x"`},
		{"POST", api + "experiments/create", "application/xml", `<x/>`},
		{"POST", api + "experiments/create", "application/json", `{}`},
		{"POST", api + "experiments/create", "application/json", `{"name": "y", "artifact_location": "s3://b/x"}`},
		{"POST", api + "experiments/create", "application/json", `{"name": "y", "tags": "nope"}`},
		{"POST", api + "experiments/create", "application/json", `{"name": "y", "tags": [{"key": 1}]}`},
		{"POST", api + "experiments/create", "application/json", `{"name": "` + strings.Repeat("n", 201) + `"}`},
		{"POST", api + "experiments/create", "application/json", `{"name": "y"` + strings.Repeat(" ", MaxBodyBytes) + `}`},
		{"GET", api + "experiments/get?experiment_id=%zz", "", ""},
		{"GET", api + "experiments/get-by-name", "", ""},
		{"POST", api + "experiments/search", "application/json", `{"max_results": "x"}`},
		{"POST", api + "experiments/search", "application/json", `{"max_results": 0}`},
		{"POST", api + "experiments/search", "application/json", `{"view_type": "SOME"}`},
		{"POST", api + "experiments/search", "application/json", `{"filter": "nope = 'x'"}`},
		{"POST", api + "experiments/search", "application/json", `{"order_by": ["nope"]}`},
		{"POST", api + "experiments/search", "application/json", `{"page_token": "bogus"}`},
		{"POST", api + "experiments/search", "application/json", `{"order_by": "name"}`},
		{"POST", api + "experiments/set-experiment-tag", "application/json", `{"experiment_id": "` + exp + `", "key": "maestro.project_id", "value": "x"}`},
		{"POST", api + "experiments/set-experiment-tag", "application/json", `{"experiment_id": "` + exp + `"}`},
		{"POST", api + "runs/create", "application/json", `{"experiment_id": "` + exp + `", "run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]}`},
		{"POST", api + "runs/create", "application/json", `{"experiment_id": "` + exp + `", "start_time": "soon"}`},
		{"POST", api + "runs/update", "application/json", `{"run_id": "` + run + `", "status": "SCHEDULED"}`},
		{"POST", api + "runs/update", "application/json", `{"run_id": "` + run + `", "status": "PAUSED"}`},
		{"POST", api + "runs/update", "application/json", `{"run_id": "` + run + `", "end_time": 1.5}`},
		{"POST", api + "runs/log-metric", "application/json", `{"run_id": "` + run + `", "value": 1}`},
		{"POST", api + "runs/log-metric", "application/json", `{"run_id": "` + run + `", "key": "m"}`},
		{"POST", api + "runs/log-metric", "application/json", `{"run_id": "` + run + `", "key": "m", "value": {}}`},
		{"POST", api + "runs/log-metric", "application/json", `{"run_id": "` + run + `", "key": "bad key!", "value": 1}`},
		{"POST", api + "runs/log-metric", "application/json", `{"key": "m", "value": 1}`},
		{"POST", api + "runs/log-parameter", "application/json", `{"run_id": "` + run + `", "value": "v"}`},
		{"POST", api + "runs/log-batch", "application/json", `{"run_id": "` + run + `", "params": [{"key": "", "value": "v"}]}`},
		{"POST", api + "runs/log-batch", "application/json", `{"run_id": "` + run + `", "params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}`},
		{"POST", api + "runs/log-batch", "application/json", `{"run_id": "` + run + `", "tags": [{"key": "", "value": "v"}]}`},
		{"POST", api + "runs/log-batch", "application/json", `{"run_id": "` + run + `", "metrics": [{"key": "m", "value": "NaN", "timestamp": 1}]}`},
		{"POST", api + "runs/log-batch", "application/json", `{"run_id": "` + run + `", "metrics": [{"key": "m", "value": 1, "timestamp": "x"}]}`},
		{"POST", api + "runs/log-inputs", "application/json", `{"run_id": "` + run + `", "datasets": [{"dataset": {"name": "d"}}]}`},
		{"POST", api + "runs/search", "application/json", `{"experiment_ids": "x"}`},
		{"POST", api + "runs/search", "application/json", `{"experiment_ids": ["` + exp + `"], "run_view_type": 7}`},
		{"GET", api + "metrics/get-history?run_id=" + run, "", ""},
		{"GET", api + "metrics/get-history?run_id=" + run + "&metric_key=m&max_results=0", "", ""},
		{"GET", api + "metrics/get-history?run_id=" + run + "&metric_key=m&max_results=x", "", ""},
	} {
		r := raw(c.method, c.path, c.ct, c.body)
		if r.status != 400 || !strings.Contains(string(r.raw), CodeInvalid) {
			t.Errorf("%s %s %.80s: %d %s", c.method, c.path, c.body, r.status, r.raw)
		}
	}
	// Numbers for enums, as protobuf's JSON mapping may send them.
	s.ok(&memberA, "POST", api+"runs/search", map[string]any{"experiment_ids": []string{exp}, "run_view_type": 3})
	s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "KILLED"})
	s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "status": "RUNNING"})
	s.ok(&memberA, "POST", api+"runs/update", map[string]any{"run_id": run, "run_name": "named"})
	if r := s.ok(&memberA, "GET", api+"runs/get?run_uuid="+run, nil)["run"].(map[string]any)["info"].(map[string]any); r["run_name"] != "named" {
		t.Fatalf("run_uuid: %v", r)
	}
	s.ok(&memberA, "POST", api+"experiments/update", map[string]any{"experiment_id": exp})
	s.experiment(&memberA, "taken")
	s.fails(&memberA, "POST", api+"experiments/update", map[string]any{"experiment_id": exp, "new_name": "taken"}, 400, CodeAlreadyExists)
	s.fails(&memberA, "GET", "/api/2.0/other", nil, 404, CodeEndpointNotFound)
	s.fails(&memberA, "POST", ArtifactsPrefix, nil, 405, CodeBadRequest)
}

// TestAuthenticate: Bearer access tokens and API keys, and Basic auth
// whose password is an API key, become the principal; anything else is
// UNAUTHENTICATED in MLflow's format.
func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	key, err := auth.NewHS256Key("k", []byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := auth.NewJWTManager(auth.NewMemoryTokenStore(), auth.WithKeys(key))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewAPIKeys(auth.NewMemoryAPIKeyStore())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := jwt.IssuePair(ctx, auth.Subject{UserID: "u1", TenantID: "t1", Role: auth.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	creator := auth.Principal{UserID: "u1", TenantID: "t1", Role: auth.RoleMember, Method: auth.MethodAccessToken, SessionID: pair.SessionID}
	apiKey, _, err := keys.Create(ctx, creator, auth.NewAPIKey{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var seen auth.Principal
	h := Authenticate(jwt, auth.WithAPIKeyVerifier(keys))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = auth.PrincipalFrom(r.Context())
	}))
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, c := range []struct {
		header string
		ok     bool
	}{
		{"Bearer " + pair.AccessToken, true},
		{"Bearer " + apiKey, true},
		{basic("anyone", apiKey), true},
		{basic("u1", "a-password"), false},
		{basic("u1", "mst_forged"), false},
		{"Bearer junk", false},
		{"", false},
	} {
		seen = auth.Principal{}
		req := httptest.NewRequest("GET", api+"runs/get", nil)
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch {
		case c.ok && (w.Code != 200 || seen.UserID != "u1" || seen.TenantID != "t1"):
			t.Errorf("%.20s: %d %s %+v", c.header, w.Code, w.Body, seen)
		case !c.ok && (w.Code != 401 || !strings.Contains(w.Body.String(), CodeUnauthenticated) || seen.UserID != ""):
			t.Errorf("%.20s: %d %s", c.header, w.Code, w.Body)
		}
	}
	for status, code := range map[int]string{403: CodePermissionDenied, 503: CodeUnavailable, 401: CodeUnauthenticated} {
		w := httptest.NewRecorder()
		AuthErrorWriter(w, nil, auth.Problem{Status: status, Detail: "d"}, nil)
		if w.Code != status || !strings.Contains(w.Body.String(), code) {
			t.Errorf("AuthErrorWriter %d: %d %s", status, w.Code, w.Body)
		}
	}
	if e := errorFor(registry.ErrConflict); e.Status != 400 || e.Code != CodeAlreadyExists || e.Error() == "" {
		t.Errorf("conflict: %+v", e)
	}
	if e := errorFor(errors.New("boom")); e.Status != 500 || e.Message != "internal error" {
		t.Errorf("unexpected error: %+v", e)
	}
}

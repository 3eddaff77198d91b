package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, open(t), testServerOptions{})
			r := expect(t, ts.do("GET", "/health/live", "", nil), 200)
			if strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
				t.Fatalf("live body %s", r.body)
			}
			r = expect(t, ts.do("GET", "/health/ready", "", nil), 200)
			var ready struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			r.json(t, &ready)
			if ready.Status != "ok" || ready.Checks["database"] != "ok" {
				t.Fatalf("ready %s", r.body)
			}
		})
	}
}

func TestReadyFailsWhenDatabaseIsDown(t *testing.T) {
	t.Parallel()
	db := testenv.PlatformSQLite(t)
	ts := newTestServer(t, db, testServerOptions{})
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.Close(); err != nil {
		t.Fatal(err)
	}
	p := expect(t, ts.do("GET", "/health/ready", "", nil), 503).problem(t)
	if p.Code != "not_ready" || !strings.Contains(p.Detail, "database") {
		t.Fatalf("problem %+v", p)
	}
	expect(t, ts.do("GET", "/health/live", "", nil), 200)
}

func TestReadyWithRedis(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{redis: true})
	r := expect(t, ts.do("GET", "/health/ready", "", nil), 200)
	if !strings.Contains(string(r.body), `"redis":"ok"`) {
		t.Fatalf("ready %s", r.body)
	}
	if err := ts.s.redis.Close(); err != nil {
		t.Fatal(err)
	}
	p := expect(t, ts.do("GET", "/health/ready", "", nil), 503).problem(t)
	if !strings.Contains(p.Detail, "redis") {
		t.Fatalf("problem %+v", p)
	}
}

func TestProblemsForUnknownRoutes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	p := expect(t, ts.do("GET", "/api/v1/nope", "", nil), 404).problem(t)
	if p.Code != "not_found" {
		t.Fatalf("404 code %s", p.Code)
	}
	// Outside /api and /health the dashboard answers, with a page.
	if r := expect(t, ts.do("GET", "/nope", "", nil), 404); !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown dashboard path: content type %q", r.header.Get("Content-Type"))
	}
	r := expect(t, ts.do("DELETE", "/health/live", "", nil), 405)
	if p := r.problem(t); p.Code != "method_not_allowed" {
		t.Fatalf("405 code %s", p.Code)
	}
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Fatalf("Allow %q", allow)
	}
	for _, path := range []string{"/health/live?q=%00", "/health/live?q=%FF", "/api/v1/tenants/%00"} {
		if p := expect(t, ts.do("GET", path, "", nil), 400).problem(t); p.Code != "malformed_url" {
			t.Fatalf("%s: %+v", path, p)
		}
	}
	// Unclean paths are redirected by the mux, not turned into 404s.
	ts.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	r = ts.do("GET", "/health/../health/live", "", nil)
	if r.status != http.StatusTemporaryRedirect && r.status != 200 {
		t.Fatalf("unclean path: %d", r.status)
	}
}

func TestRequestIDAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	r := ts.do("GET", "/health/live", "", nil, "X-Request-ID", "abc-123")
	if got := r.header.Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("request id echoed as %q", got)
	}
	r = ts.do("GET", "/health/live", "", nil, "X-Request-ID", "bad id <script>")
	if got := r.header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \n") {
		t.Fatalf("invalid request id not replaced: %q", got)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
		"Referrer-Policy": "no-referrer",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on plain HTTP")
	}
	// The access log carries the request id, never the query string.
	ts.do("GET", "/health/live?token=sekrit-value", "", nil, "X-Request-ID", "log-check-1")
	recs := ts.logs.records("request_id", "log-check-1")
	if len(recs) == 0 {
		t.Fatal("no access log record with the request id")
	}
	if strings.Contains(ts.logs.String(), "sekrit-value") {
		t.Fatal("query string logged")
	}
}

func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	s := &Server{log: slog.New(slog.NewJSONHandler(logs, nil)), now: timeNow}
	h := withRequestID(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(logs.String(), "panic in handler") {
		t.Fatal("panic not logged")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{notFound("project"), 404, "not_found"},
		{fmt.Errorf("wrapped: %w", notFound("project")), 404, "not_found"},
		{fmt.Errorf("x: %w", tenancy.ErrNoTenant), 403, "tenant_required"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 503, "unavailable"},
		{errors.New("disk on fire"), 500, "internal"},
	}
	for _, tc := range cases {
		e := classify(tc.err)
		if e.status != tc.status || e.code != tc.code {
			t.Errorf("classify(%v) = %d %s", tc.err, e.status, e.code)
		}
	}
	if e := classify(fmt.Errorf("x: %w", tenancy.ErrConflict)); e.detail != "it already exists" || e.cause == nil {
		t.Fatalf("mapped problem %+v", e)
	}
}

func TestProblemHeaders(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeProblem(rec, tooManyRequests(1500_000_000))
	if rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	rec = httptest.NewRecorder()
	writeProblem(rec, unauthorized())
	if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Fatal("401 without WWW-Authenticate")
	}
	v := &validator{}
	v.check(true, "a", "fine")
	if v.err() != nil {
		t.Fatal("validator with passing checks failed")
	}
	v.check(false, "b", "bad")
	var e *apiError
	if !errors.As(v.err(), &e) || e.status != 422 || e.fields[0].Field != "b" {
		t.Fatalf("validator error %v", v.err())
	}
}

func TestOnlyExpectedRoutesArePublic(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	want := map[string]bool{
		"GET /health/live": true, "GET /health/ready": true,
		"POST /api/v1/auth/login": true, "POST /api/v1/auth/refresh": true,
		"GET /api/v1/openapi.json": true,
	}
	for _, r := range Routes() {
		if (r.Access == Public) != want[r.Pattern] {
			t.Errorf("%s: public=%t", r.Pattern, r.Access == Public)
		}
		if r.Access != Public {
			// Every protected route answers 401 without a credential.
			method, path, _ := strings.Cut(r.Pattern, " ")
			path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "00000000-0000-0000-0000-000000000000")
			if res := ts.do(method, path, "", nil); res.status != 401 {
				t.Errorf("%s without a credential: %d", r.Pattern, res.status)
			}
		}
	}
}

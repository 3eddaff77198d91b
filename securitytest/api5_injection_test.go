package securitytest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
)

// testFunctionLevel calls every route with every role below the one it
// needs and expects 403 — derived from the server's route table, so a new
// route is covered by construction — then checks nothing changed.
func testFunctionLevel(t *testing.T, w *world, sk *skipped) {
	a := w.a
	callers := []*user{a.viewer, a.member, a.admin}
	routes := serverRoutes()
	for _, pattern := range sortedRoutes() {
		need := required(routes[pattern])
		if need == "public" || need == "viewer" {
			continue
		}
		method, path := fillPath(pattern, a)
		body := bodyFor(method, path, a)
		for _, u := range callers {
			if roleRank[u.role] >= roleRank[need] {
				continue
			}
			r := w.do(t, u, method, path, body)
			if r.status != http.StatusForbidden {
				t.Errorf("%s (needs %s) as %s: %d, want 403: %.200s", pattern, need, u.role, r.status, r.body)
			}
		}
	}
	// A viewer API key is a viewer, whoever created it.
	k, err := a.admin.api.CreateAPIKey(context.Background(), client.APIKeyInput{Name: "viewer key", Role: "viewer", CurrentPassword: a.admin.password})
	if err != nil {
		t.Fatalf("viewer key: %v", err)
	}
	key := k.Key
	w.p.scan.forbidValue("an API key", key)
	for _, c := range []struct{ method, path string }{
		{"POST", "/api/v1/projects"}, {"DELETE", "/api/v1/projects/" + a.project},
		{"GET", "/api/v1/tenants/" + a.id + "/members"}, {"POST", "/api/v1/meta-models/rollback"},
	} {
		r := w.p.do(t, req{method: c.method, path: c.path, token: key, owner: a.slug,
			body: bodyFor(c.method, c.path, a)})
		want(t, r, http.StatusForbidden, "viewer API key: "+c.method+" "+c.path)
	}
	w.checkIntact(t, a)
}

// injectionPayloads are SQL, LIKE, NoSQL and template metacharacters.
var injectionPayloads = []string{
	"'", `"`, "' OR '1'='1", "' OR 1=1 --", "') OR ('1'='1", "1) OR (1=1", "%", "_", "%%", "*", `\`, `\'`,
	"%' OR tenant_id <> '' --", "'; DROP TABLE projects; --", "\"; DROP TABLE projects; --",
	"' UNION SELECT id, name, tenant_id FROM projects --", "'||(SELECT tenant_id FROM projects LIMIT 1)||'",
	"1; SELECT pg_sleep(3)", "' AND 1=(SELECT 1 FROM pg_sleep(3)) --", "x\x00y", "{\"$ne\":null}", "${jndi:ldap://x/a}",
	"<script>alert(1)</script>", "../../etc/passwd", strings.Repeat("A", 300), "ñ😀", "\u202e",
}

// testInjection sends every payload through every filter, search and
// cursor parameter as tenant B, plus tenant A's markers and cursor: the
// answer is 4xx or B's own data, never a 5xx, never A's data (the scanner
// checks every body), and never slow enough to betray pg_sleep.
func testInjection(t *testing.T, w *world) {
	a, b := w.a, w.b
	u := b.member
	gets := []struct{ path, param string }{
		{"/api/v1/projects", "q"}, {"/api/v1/projects", "tag"}, {"/api/v1/projects", "problem_class"},
		{"/api/v1/projects", "status"}, {"/api/v1/projects", "cursor"},
		{"/api/v1/artifacts", "q"}, {"/api/v1/artifacts", "tag"}, {"/api/v1/artifacts", "type"},
		{"/api/v1/artifacts", "min_impact"}, {"/api/v1/artifacts", "cursor"},
		{"/api/v1/artifacts/top", "type"},
		{"/api/v1/models", "cursor"}, {"/api/v1/tenants", "cursor"},
		{"/api/v1/projects/" + b.project + "/process-metrics", "metric_type"},
		{"/api/v1/experiments/" + b.experiment + "/runs", "cursor"},
	}
	payloads := append([]string{a.marker, a.id, a.project, a.cursor, "MARK%"}, injectionPayloads...)
	for _, g := range gets {
		caller := u
		for _, pl := range payloads {
			path := g.path + "?" + g.param + "=" + url.QueryEscape(pl)
			start := time.Now()
			r := w.do(t, caller, "GET", path, nil)
			// pg_sleep(3) payloads would take 3 s if they ran.
			if d := time.Since(start); strings.Contains(pl, "pg_sleep") && d >= 3*time.Second {
				t.Errorf("GET %s took %v: time-based injection?", path, d)
			}
			if r.status >= 500 {
				continue // reported by the scanner
			}
			if r.status == http.StatusOK && (pl == a.marker || pl == "MARK%") && strings.Contains(string(r.body), a.marker) {
				t.Errorf("GET %s as B found A's data", path)
			}
		}
	}
	// Path parameters.
	for _, pl := range injectionPayloads {
		seg := url.PathEscape(pl)
		for _, path := range []string{"/api/v1/projects/" + seg, "/api/v1/models/" + seg, "/api/v1/artifacts/" + seg,
			"/api/v1/runs/" + b.run + "/metrics/" + seg, "/api/v1/models/" + url.PathEscape(b.model) + "/aliases/" + seg} {
			r := w.do(t, u, "GET", path, nil)
			if r.status != http.StatusNotFound && r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d, want 404 or 400", path, r.status)
			}
		}
	}
	// Free text in bodies: search and login.
	for i, pl := range append([]string{a.marker}, injectionPayloads...) {
		r := w.do(t, u, "POST", "/api/v1/specs/similar", map[string]any{"text": pl, "limit": 50})
		_ = r // scanner: no 5xx, no A data
		if i%5 != 1 {
			continue // a login costs a password hash: a sample suffices
		}
		// A random suffix: failures are remembered per account name for a
		// day, in Redis across runs too.
		name := "admin' --" + pl + randHex(3)
		lr := w.p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: w.p.newClient(randomLoopback()),
			body: map[string]any{"username": name, "password": pl + "x"}})
		if lr.status != http.StatusUnauthorized && lr.status != http.StatusUnprocessableEntity && lr.status != http.StatusBadRequest {
			t.Errorf("login with username %q: %d, want 401", name, lr.status)
		}
	}
	// Stored payloads come back as data, not as behaviour.
	name := "x' OR '1'='1 " + b.marker
	r := w.do(t, u, "POST", "/api/v1/projects", map[string]any{"name": name, "problem_class": "other",
		"complexity_score": 1, "team_size": 1, "tags": []string{"' OR 1=1 --"}})
	if r.status == http.StatusCreated {
		w.p.scan.own(b.slug, r.str(t, "id"))
		r = w.do(t, u, "GET", "/api/v1/projects?tag="+url.QueryEscape("' OR 1=1 --"), nil)
		if r.status != http.StatusOK || strings.Count(string(r.body), `"problem_class"`) != 1 {
			t.Errorf("tag filter with a stored payload: %d %.300s", r.status, r.body)
		}
	}
	// The database is intact.
	r = w.do(t, a.member, "GET", "/api/v1/projects?limit=1000", nil)
	if r.status != http.StatusOK || strings.Count(string(r.body), a.marker) < 3 {
		t.Errorf("tenant A's projects after the injection cases: %d", r.status)
	}
}

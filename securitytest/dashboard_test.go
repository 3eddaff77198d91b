package securitytest

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/platform"
)

// csrfField finds the CSRF token in a dashboard page.
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// testDashboard walks the web dashboard's page table
// (platform.DashboardRoutes) as tenant B's admin, who holds every role
// of B: each page or form target naming an object by id answers A's ids
// with 404 and nothing of A (the scanner checks every answer), even with
// a valid CSRF token from this origin; each state change without the
// token is refused with 403; each answer carries the dashboard's
// Content-Security-Policy. The session is B's access token in the
// dashboard's cookie, as signing in through the form would set it.
func testDashboard(t *testing.T, w *world) {
	a, b := w.a, w.b.admin
	cookie := "maestro_session=" + b.access
	origin := map[string]string{"Cookie": cookie, "Origin": w.p.base, "Sec-Fetch-Site": "same-origin"}
	home := w.p.do(t, req{method: "GET", path: "/", header: origin, owner: w.b.slug})
	mustStatus(t, home, http.StatusOK, "the dashboard's home page as B's admin")
	m := csrfField.FindSubmatch(home.body)
	if m == nil {
		t.Fatalf("no CSRF token on the home page: %.300s", home.body)
	}
	token := string(m[1])
	send := func(method, path, csrf string) response {
		rq := req{method: method, path: path, header: map[string]string{}, owner: w.b.slug}
		for k, v := range origin {
			rq.header[k] = v
		}
		switch method {
		case "POST":
			// A valid form for every target, so that only the id can refuse it.
			form := url.Values{"name": {"x"}, "role": {"viewer"}, "tenant": {a.slug}, "status": {"cancelled"},
				"problem_class": {"nlp"}, "complexity_score": {"3"}, "team_size": {"2"}, "experience_level": {"mid"},
				"model_performance": {"0.5"}, "business_impact": {"0.5"}, "deployment_days": {"10"}, "compute_cost": {"100"}}
			if csrf != "" {
				form.Set("csrf", csrf)
			}
			rq.body, rq.contentType = form.Encode(), "application/x-www-form-urlencoded"
		case "PUT":
			rq.body, rq.contentType = "x", "application/octet-stream"
			if csrf != "" {
				rq.header["X-CSRF-Token"] = csrf
			}
		}
		return w.p.do(t, rq)
	}
	ids := map[string]string{"/projects/": a.project, "/experiments/": a.experiment, "/runs/": a.run,
		"/artifacts/": a.artifact, "/account/api-keys/": a.apiKeyID}
	walked := 0
	for _, rt := range platform.DashboardRoutes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		if rt.Access == platform.Public {
			continue
		}
		if method != "GET" {
			if r := send(method, strings.NewReplacer("{id}", a.project, "{user_id}", a.member.id, "{version}", "1").Replace(path), ""); r.status != http.StatusForbidden {
				t.Errorf("%s without a CSRF token: %d, want 403", rt.Pattern, r.status)
			}
		}
		if !strings.Contains(path, "{") || strings.Contains(path, "{version}") {
			continue // {version} names B's own meta-model versions
		}
		for prefix, id := range ids {
			if strings.HasPrefix(path, prefix) {
				path = strings.Replace(path, "{id}", id, 1)
			}
		}
		path = strings.Replace(path, "{user_id}", a.member.id, 1)
		path = strings.Replace(path, "{id}", "00000000-0000-4000-8000-000000000000", 1) // a job: none of A's is known
		r := send(method, path, token)
		if r.status != http.StatusNotFound {
			t.Errorf("%s with A's id as B's admin: %d, want 404", rt.Pattern, r.status)
		}
		if got := r.header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy %q", rt.Pattern, got)
		}
		walked++
	}
	if walked < 10 {
		t.Fatalf("only %d dashboard routes with an id walked", walked)
	}
}

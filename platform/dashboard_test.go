package platform

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
)

// page is a dashboard answer.
type webPage struct {
	status int
	header http.Header
	body   string
}

// webClient is a browser-like client of the dashboard: a cookie jar, no
// automatic redirects, and the CSRF token of the last page it read.
type webClient struct {
	t    *testing.T
	base string // server URL and mount prefix
	c    *http.Client
	csrf string
}

// newWebClient returns a client of the dashboard served at base.
func newWebClient(t *testing.T, base string, hc *http.Client) *webClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: hc.Transport, Timeout: hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &webClient{t: t, base: base, c: c}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
var loginInput = regexp.MustCompile(`name="login_token" value="([^"]+)"`)

// send sends a request and reads the answer; a page's CSRF token is kept.
func (w *webClient) send(req *http.Request) webPage {
	w.t.Helper()
	res, err := w.c.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfInput.FindStringSubmatch(string(b)); m != nil {
		w.csrf = m[1]
	}
	return webPage{status: res.StatusCode, header: res.Header, body: string(b)}
}

// get reads a page.
func (w *webClient) get(path string) webPage {
	w.t.Helper()
	req, _ := http.NewRequest("GET", w.base+path, nil)
	return w.send(req)
}

// post sends a form as from the dashboard's own page (same Origin), with
// the last CSRF token unless the form has one.
func (w *webClient) post(path string, form url.Values, hdr ...string) webPage {
	w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && w.csrf != "" {
		form.Set("csrf", w.csrf)
	}
	req, _ := http.NewRequest("POST", w.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, _ := url.Parse(w.base)
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.send(req)
}

// put sends body as a script of the dashboard's page would (same Origin,
// the last CSRF token in the X-CSRF-Token header).
func (w *webClient) put(path, body string) webPage {
	w.t.Helper()
	req, _ := http.NewRequest("PUT", w.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	u, _ := url.Parse(w.base)
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if w.csrf != "" {
		req.Header.Set(csrfHeader, w.csrf)
	}
	return w.send(req)
}

// scriptRoutes are the patterns of the dashboard's rows that its script
// calls (problems answer as problem+json).
var scriptRoutes = func() map[string]bool {
	m := map[string]bool{}
	for _, pr := range dashboardTable() {
		if pr.script {
			m[pr.Pattern] = true
		}
	}
	return m
}()

// signIn signs in through the form and checks the redirect.
func (w *webClient) signIn(username, password, tenant string) {
	w.t.Helper()
	lp := w.get("/login")
	m := loginInput.FindStringSubmatch(lp.body)
	if m == nil {
		w.t.Fatalf("no login token on the sign-in page: %s", lp.body)
	}
	r := w.post("/login", url.Values{"login_token": {m[1]}, "username": {username}, "password": {password}, "tenant": {tenant}})
	if r.status != http.StatusSeeOther {
		w.t.Fatalf("sign-in of %s: %d %s", username, r.status, r.body)
	}
	w.get("/") // the home page, for the CSRF token
}

// cookie finds the Set-Cookie named name in h.
func cookieIn(h http.Header, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestDashboardPages runs the dashboard's HTTP-level cases on one served
// platform (the users of newRegEnv), one after the other: each signs in
// its own clients, and the cases touch disjoint data.
func TestDashboardPages(t *testing.T) {
	t.Parallel()
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{})
	for _, c := range []struct {
		name string
		run  func(*testing.T, *regEnv)
	}{
		{"SessionCookies", testDashboardSessionCookies},
		{"CSRF", testDashboardCSRF},
		{"AccessRules", testDashboardAccessRules},
		{"EscapesAndErrors", testDashboardEscapesAndErrors},
		{"MountedUnderAPrefix", testDashboardMountedUnderAPrefix},
		{"Writes", testDashboardWrites},
		{"LibraryPages", testDashboardLibraryPages},
		{"TenantSwitch", testDashboardTenantSwitch},
		{"ScriptCalls", testDashboardScriptCalls},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, e) })
	}
}

func TestDashboardHeadersAndTemplates(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	w := newWebClient(t, ts.url, ts.client)
	p := w.get("/login")
	if p.status != 200 || p.header.Get("Content-Security-Policy") != dashboardCSP {
		t.Fatalf("sign-in page: %d, CSP %q", p.status, p.header.Get("Content-Security-Policy"))
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(dashboardCSP, bad) {
			t.Errorf("the dashboard's CSP allows %q", bad)
		}
	}
	if got := ts.do("GET", "/health/live", "", nil).header.Get("Content-Security-Policy"); got != apiCSP {
		t.Errorf("the API's CSP is %q", got)
	}
	for path, ct := range map[string]string{"/static/app.css": "text/css", "/static/app.js": "text/javascript", "/static/favicon.svg": "image/svg+xml"} {
		r := w.get(path)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), ct) {
			t.Errorf("%s: %d %q", path, r.status, r.header.Get("Content-Type"))
		}
	}
	if r := w.get("/static/..%2fdashboard.go"); r.status != 404 {
		t.Errorf("a path outside the static files: %d", r.status)
	}
	// No template holds inline script, inline style or event handlers:
	// the CSP would block them.
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]|<script>|<style|\sstyle=|\son[a-z]+=|javascript:`)
	err := fs.WalkDir(webFiles, "web/templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(webFiles, path)
		if loc := inline.FindString(string(b)); loc != "" {
			t.Errorf("%s has inline code %q", path, loc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testDashboardSessionCookies(t *testing.T, e *regEnv) {
	w := newWebClient(t, e.url, e.client)
	lp := w.get("/login")
	token := loginInput.FindStringSubmatch(lp.body)[1]
	r := w.post("/login", url.Values{"login_token": {token}, "username": {"alice"}, "password": {memberPassword}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q", r.status, r.header.Get("Location"))
	}
	for _, name := range []string{accessCookie, refreshCookie} {
		c := cookieIn(r.header, name)
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || c.Value == "" {
			t.Fatalf("cookie %s over HTTP: %+v", name, c)
		}
	}
	// The access cookie is the platform's own access token.
	if got := e.me(cookieIn(r.header, accessCookie).Value); got.User.Username != "alice" {
		t.Fatalf("the session cookie is not alice's access token: %+v", got)
	}

	// Over TLS the cookies are Secure too.
	tls := httptest.NewTLSServer(e.s.Handler())
	t.Cleanup(tls.Close)
	wt := newWebClient(t, tls.URL, tls.Client())
	lp = wt.get("/login")
	if c := cookieIn(lp.header, loginCookie); c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("login cookie over TLS: %+v", c)
	}
	r = wt.post("/login", url.Values{"login_token": {loginInput.FindStringSubmatch(lp.body)[1]}, "username": {"alice"}, "password": {memberPassword}})
	if c := cookieIn(r.header, accessCookie); r.status != http.StatusSeeOther || c == nil || !c.Secure {
		t.Fatalf("session cookie over TLS: %d %+v", r.status, c)
	}

	// A wrong password: the same plain words for every failure, no cookie.
	w2 := newWebClient(t, e.url, e.client)
	lp = w2.get("/login")
	r = w2.post("/login", url.Values{"login_token": {loginInput.FindStringSubmatch(lp.body)[1]}, "username": {"alice"}, "password": {"wrong-password-123"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "The username or password is wrong.") || cookieIn(r.header, accessCookie) != nil {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}

	// An access token that no longer verifies is replaced from the
	// refresh cookie, and the page answers.
	u, _ := url.Parse(e.url)
	w.c.Jar.SetCookies(u, []*http.Cookie{{Name: accessCookie, Value: "expired.or.forged", Path: "/"}})
	p := w.get("/projects")
	if p.status != 200 || cookieIn(p.header, accessCookie) == nil || cookieIn(p.header, refreshCookie) == nil {
		t.Fatalf("refresh from the cookie: %d, cookies %v", p.status, p.header["Set-Cookie"])
	}

	// Signing out ends the session: its tokens stop working.
	access := ""
	for _, c := range w.c.Jar.Cookies(u) {
		if c.Name == accessCookie {
			access = c.Value
		}
	}
	if r := w.post("/logout", nil); r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "/login") {
		t.Fatalf("sign-out: %d %q", r.status, r.header.Get("Location"))
	}
	if res := e.do("GET", "/api/v1/auth/me", access, nil); res.status != 401 {
		t.Fatalf("the signed-out session's token still works: %d", res.status)
	}
	if p := w.get("/projects"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out /projects: %d", p.status)
	}
}

func testDashboardCSRF(t *testing.T, e *regEnv) {
	w := newWebClient(t, e.url, e.client)
	w.signIn("alice", memberPassword, "")
	form := func() url.Values {
		return url.Values{"name": {"csrf target"}, "problem_class": {"nlp"}, "complexity_score": {"3"}, "team_size": {"2"}}
	}
	count := func() int {
		return len(items[map[string]any](t, e.do("GET", "/api/v1/projects?q=csrf+target", e.member, nil)))
	}
	withToken := func(tok string) url.Values { f := form(); f.Set("csrf", tok); return f }
	other := newWebClient(t, e.url, e.client)
	other.signIn("victor", memberPassword, "")
	for name, r := range map[string]webPage{
		"no token":                w.post("/projects", withToken("")),
		"wrong token":             w.post("/projects", withToken("AAAA"+w.csrf[4:])),
		"another session's token": w.post("/projects", withToken(other.csrf)),
		"another origin":          w.post("/projects", form(), "Origin", "http://evil.example"),
		"a cross-site fetch":      w.post("/projects", form(), "Sec-Fetch-Site", "cross-site"),
		"an opaque origin":        w.post("/projects", form(), "Origin", "null"),
	} {
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "data-testid=\"error-detail\"") {
			t.Errorf("%s: %d", name, r.status)
		}
	}
	if n := count(); n != 0 {
		t.Fatalf("%d projects created by refused forms", n)
	}
	if r := w.post("/projects", form()); r.status != http.StatusSeeOther {
		t.Fatalf("a proper form: %d %s", r.status, r.body)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d projects after the proper form", n)
	}
	// Sign-in without the login cookie's value.
	anon := newWebClient(t, e.url, e.client)
	if r := anon.post("/login", url.Values{"login_token": {"guess"}, "username": {"alice"}, "password": {memberPassword}}); r.status != http.StatusForbidden {
		t.Fatalf("sign-in without the login cookie: %d", r.status)
	}
	// The sign-in page never sends the browser to another site.
	for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "/ok\r\nX: y"} {
		if got := safeNext(next); got != "/" {
			t.Errorf("next=%q is kept as %q", next, got)
		}
	}
	a := newWebClient(t, e.url, e.client)
	lp := a.get("/login?next=" + url.QueryEscape("//evil.example/x"))
	tok := loginInput.FindStringSubmatch(lp.body)[1]
	r := a.post("/login", url.Values{"login_token": {tok}, "username": {"alice"}, "password": {memberPassword}, "next": {"//evil.example/x"}})
	if loc := r.header.Get("Location"); r.status != http.StatusSeeOther || loc != "/" {
		t.Errorf("next=//evil.example/x redirects to %q", loc)
	}
	if got := safeNext("/projects?q=a"); got != "/projects?q=a" {
		t.Errorf("a local next is changed to %q", got)
	}
}

// testDashboardAccessRules walks the dashboard's table: every page but the
// public ones sends an anonymous visitor to the sign-in page; every page
// registered for member or admin refuses a viewer (403) and admin pages a
// member, with a valid CSRF token and before anything changes; every page
// with an id answers another tenant's ids with the 404 page.
func testDashboardAccessRules(t *testing.T, e *regEnv) {
	project := e.create(t, "/api/v1/projects", e.member, projectBody("Default's project", 4))
	exp := e.create(t, "/api/v1/projects/"+project+"/experiments", e.member, map[string]any{"name": "exp"})
	run := e.create(t, "/api/v1/experiments/"+exp+"/runs", e.member, map[string]any{"name": "run"})
	e.create(t, "/api/v1/models", e.member, map[string]any{"name": "default-model"})
	aliceID := e.me(e.member).User.ID
	keyID := e.create(t, "/api/v1/auth/api-keys", e.member, map[string]any{"name": "k", "current_password": memberPassword})
	artifact := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "rules-artifact", "type": "notebook", "version": "1.0"})
	fill := func(pattern string) (string, string) {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.TrimSuffix(path, "{$}")
		switch {
		case strings.HasPrefix(path, "/projects/"):
			path = strings.Replace(path, "{id}", project, 1)
		case strings.HasPrefix(path, "/experiments/"):
			path = strings.Replace(path, "{id}", exp, 1)
		case strings.HasPrefix(path, "/runs/"):
			path = strings.Replace(path, "{id}", run, 1)
		case strings.HasPrefix(path, "/account/api-keys/"):
			path = strings.Replace(path, "{id}", keyID, 1)
		case strings.HasPrefix(path, "/artifacts/"):
			path = strings.Replace(path, "{id}", artifact, 1)
		case strings.HasPrefix(path, "/meta-models/jobs/"):
			path = strings.Replace(path, "{id}", "00000000-0000-4000-8000-000000000000", 1)
		}
		path = strings.Replace(path, "{version}", "1", 1)
		path = strings.Replace(path, "{user_id}", aliceID, 1)
		path = strings.Replace(path, "{name}", "default-model", 1)
		path = strings.Replace(path, "{file}", "app.css", 1)
		return method, path
	}
	snapshot := func() string {
		return string(expect(t, e.do("GET", "/api/v1/projects/"+project, e.member, nil), 200).body) +
			string(expect(t, e.do("GET", "/api/v1/artifacts/"+artifact, e.member, nil), 200).body) +
			string(expect(t, e.do("GET", "/api/v1/tenants/"+e.me(e.admin).Tenant.ID+"/members", e.admin, nil), 200).body)
	}
	before := snapshot()
	anon := newWebClient(t, e.url, e.client)
	viewer := newWebClient(t, e.url, e.client)
	viewer.signIn("victor", memberPassword, "")
	member := newWebClient(t, e.url, e.client)
	member.signIn("alice", memberPassword, "")
	intruder := newWebClient(t, e.url, e.client) // bob, a member of beta
	intruder.signIn("bob", memberPassword, "")
	admin := newWebClient(t, e.url, e.client) // every role of default
	admin.signIn("admin", testAdminPassword, "")
	call := func(w *webClient, method, path string) webPage {
		switch method {
		case "GET":
			return w.get(path)
		case "PUT":
			return w.put(path, "new content")
		}
		// A valid form for every page, so that only the rule can refuse it.
		return w.post(path, url.Values{"name": {"x"}, "role": {"admin"}, "status": {"cancelled"},
			"problem_class": {"nlp"}, "complexity_score": {"3"}, "team_size": {"2"}, "experience_level": {"mid"},
			"model_performance": {"0.5"}, "business_impact": {"0.5"}, "deployment_days": {"10"}, "compute_cost": {"100"}})
	}
	n := 0
	for _, rt := range DashboardRoutes() {
		method, path := fill(rt.Pattern)
		if rt.Access == Public {
			continue
		}
		n++
		r := call(anon, method, path)
		switch {
		case scriptRoutes[rt.Pattern]:
			// Called by the page's script: a problem, not a redirect.
			if r.status != http.StatusUnauthorized || r.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s anonymous: %d %q, want a 401 problem", rt.Pattern, r.status, r.header.Get("Content-Type"))
			}
		case r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "/login"):
			t.Errorf("%s anonymous: %d to %q", rt.Pattern, r.status, r.header.Get("Location"))
		}
		if r.header.Get("Content-Security-Policy") != dashboardCSP || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: CSP %q, nosniff %q", rt.Pattern, r.header.Get("Content-Security-Policy"), r.header.Get("X-Content-Type-Options"))
		}
		if method != "GET" {
			// Every state change needs the session's CSRF token, whatever
			// the caller's role.
			token := admin.csrf
			admin.csrf = ""
			if r := call(admin, method, path); r.status != http.StatusForbidden {
				t.Errorf("%s without a CSRF token: %d, want 403", rt.Pattern, r.status)
			}
			admin.csrf = token
		}
		if method != "GET" && rt.Access == Viewer && !strings.HasPrefix(path, "/recommend") && path != "/logout" && !strings.HasPrefix(path, "/account/") {
			t.Errorf("%s changes data but is open to viewers", rt.Pattern)
		}
		if rt.Access == Member || rt.Access == Admin {
			if r := call(viewer, method, path); r.status != http.StatusForbidden {
				t.Errorf("%s as a viewer: %d, want 403", rt.Pattern, r.status)
			}
		}
		if rt.Access == Admin {
			if r := call(member, method, path); r.status != http.StatusForbidden {
				t.Errorf("%s as a member: %d, want 403", rt.Pattern, r.status)
			}
		}
		if strings.Contains(strings.TrimSuffix(rt.Pattern, "{$}"), "{") && rt.Access != Admin {
			r := call(intruder, method, path)
			if r.status != http.StatusNotFound || strings.Contains(r.body, "Default's project") {
				t.Errorf("%s with another tenant's id: %d, want the 404 page", rt.Pattern, r.status)
			}
		}
	}
	if n < 25 {
		t.Fatalf("only %d protected pages", n)
	}
	if after := snapshot(); after != before {
		t.Fatalf("refused requests changed data:\n%s\n%s", before, after)
	}
}

func testDashboardEscapesAndErrors(t *testing.T, e *regEnv) {
	w := newWebClient(t, e.url, e.client)
	w.signIn("alice", memberPassword, "")
	evil := `<script>alert("x")</script>`
	r := w.post("/projects", url.Values{"name": {evil}, "problem_class": {"nlp"}, "complexity_score": {"3"}, "team_size": {"2"},
		"description": {`"><img src=x onerror=alert(1)>`}, "user_stories": {"<b>bold</b>"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/projects", r.header.Get("Location")} {
		p := w.get(path)
		if strings.Contains(p.body, evil) || strings.Contains(p.body, "<img src=x") || strings.Contains(p.body, "<b>bold") {
			t.Fatalf("%s renders stored markup", path)
		}
		if !strings.Contains(p.body, "&lt;script&gt;") {
			t.Fatalf("%s does not show the name escaped", path)
		}
	}
	// Invalid fields show the form again with the problem in plain words.
	p := w.post("/projects", url.Values{"name": {""}, "problem_class": {"astrology"}, "complexity_score": {"eleven"}, "team_size": {"2"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="form-errors"`) || !strings.Contains(p.body, "complexity score") {
		t.Fatalf("invalid form: %d %s", p.status, p.body)
	}
	// A recommendation before any training says what to do.
	p = w.post("/recommend", url.Values{"problem_class": {"nlp"}, "complexity_score": {"3"}, "team_size": {"2"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Train one on the Meta-models page") {
		t.Fatalf("recommendation without a model: %d %s", p.status, p.body)
	}
	// Training with too short a history names the minimum.
	p = w.post("/meta-models/train", nil)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "at least 20 completed projects") {
		t.Fatalf("training without history: %d %s", p.status, p.body)
	}
	// Unknown pages and ids are the 404 page; methods a page lacks 405.
	for _, path := range []string{"/nowhere", "/projects/not-a-uuid", "/projects/00000000-0000-0000-0000-000000000000", "/models/none"} {
		if p := w.get(path); p.status != 404 || !strings.Contains(p.body, "Not found") {
			t.Errorf("%s: %d", path, p.status)
		}
	}
	req, _ := http.NewRequestWithContext(context.Background(), "DELETE", e.url+"/projects", nil)
	if p := w.send(req); p.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /projects: %d", p.status)
	}
}

func testDashboardMountedUnderAPrefix(t *testing.T, e *regEnv) {
	mux := http.NewServeMux()
	mux.Handle("/maestro/", http.StripPrefix("/maestro", e.s.Handler()))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	w := newWebClient(t, hs.URL+"/maestro", hs.Client())
	lp := w.get("/login")
	if !strings.Contains(lp.body, `href="/maestro/static/app.css"`) || !strings.Contains(lp.body, `action="/maestro/login"`) {
		t.Fatalf("links are not under the prefix: %s", lp.body)
	}
	if c := cookieIn(lp.header, loginCookie); c == nil || c.Path != "/maestro/" {
		t.Fatalf("login cookie %+v", c)
	}
	w.signIn("alice", memberPassword, "")
	p := w.get("/projects")
	if p.status != 200 || !strings.Contains(p.body, `href="/maestro/projects/new"`) {
		t.Fatalf("projects under the prefix: %d", p.status)
	}
	anon := newWebClient(t, hs.URL+"/maestro", hs.Client())
	if r := anon.get("/projects"); r.header.Get("Location") != "/maestro/login?next=%2Fprojects" {
		t.Fatalf("anonymous redirect %q", r.header.Get("Location"))
	}
	if r := anon.get("/api/v1/auth/me"); r.status != 401 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("the API under the prefix: %d %q", r.status, r.header.Get("Content-Type"))
	}
}

func TestChartScales(t *testing.T) {
	t.Parallel()
	if got := niceTicks(-0.15, 3.15, 5); len(got) < 3 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("ticks %v", got)
	}
	if got := niceTicks(0, 499, 5); got[1] != 100 || got[len(got)-1] != 400 {
		t.Fatalf("ticks %v", got)
	}
	if niceTicks(1, 1, 5) != nil {
		t.Fatal("ticks of an empty range")
	}
	c := drawChart("loss", []curve{{name: "a", points: []registry.MetricValue{{Step: 0, Value: 1}, {Step: 10, Value: 0}}},
		{name: "b", points: []registry.MetricValue{{Step: 5, Value: 0.5}}}})
	if len(c.Series) != 2 || c.Series[0].Points != "56.0,22.7 628.0,237.3" || c.YTicks[0].Label != "0" || c.Series[1].Count != 1 || c.Empty {
		t.Fatalf("chart %+v", c)
	}
	if !drawChart("empty", nil).Empty {
		t.Fatal("a chart without points is not empty")
	}
}

// testDashboardWrites submits each write form of the dashboard as a
// browser would and checks the result through the API.
func testDashboardWrites(t *testing.T, e *regEnv) {
	m := newWebClient(t, e.url, e.client)
	m.signIn("alice", memberPassword, "")
	project := e.create(t, "/api/v1/projects", e.member, projectBody("Writes", 4))
	path := "/projects/" + project
	seeOther := func(what string, r webPage) string {
		t.Helper()
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		return r.header.Get("Location")
	}
	seeOther("team", m.post(path+"/team", url.Values{"name": {"Ann"}, "role": {"ml_engineer"}, "experience_level": {"senior"}, "contribution_hours": {"12.5"}}))
	if team := items[map[string]any](t, e.do("GET", "/api/v1"+path+"/team", e.member, nil)); len(team) != 1 || team[0]["role"] != "ml_engineer" {
		t.Fatalf("team %v", team)
	}
	if r := m.post(path+"/outcome", url.Values{"model_performance": {"high"}}); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad outcome: %d", r.status)
	}
	seeOther("outcome", m.post(path+"/outcome", url.Values{"model_performance": {"0.9"}, "business_impact": {"50000"}, "deployment_days": {"20"}, "compute_cost": {"900"}}))
	if p := m.get(path); !strings.Contains(p.body, `data-testid="success-score"`) || !strings.Contains(p.body, "Ann") {
		t.Fatalf("the project page lacks the outcome or the team")
	}
	loc := seeOther("experiment", m.post(path+"/experiments", url.Values{"name": {"sweep"}}))
	if p := m.get(loc); p.status != 200 || !strings.Contains(p.body, "No runs yet") {
		t.Fatalf("new experiment page: %d", p.status)
	}
	seeOther("edit", m.post(path, url.Values{"name": {"Writes 2"}, "problem_class": {"nlp"}, "complexity_score": {"5"}, "team_size": {"3"}, "tags": {"a, b"}}))
	var got map[string]any
	e.getJSON(t, "/api/v1"+path, e.member, &got)
	if got["name"] != "Writes 2" || got["problem_class"] != "nlp" || got["status"] != "completed" {
		t.Fatalf("after the edit %v", got)
	}

	// API keys: a wrong password keeps the form; the key is shown once.
	if r := m.post("/account/api-keys", url.Values{"name": {"bot"}, "role": {"viewer"}, "current_password": {"not-my-password"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "does not match") {
		t.Fatalf("key with a wrong password: %d", r.status)
	}
	r := m.post("/account/api-keys", url.Values{"name": {"bot"}, "role": {"viewer"}, "expires_in_days": {"7"}, "current_password": {memberPassword}})
	key := regexp.MustCompile(`value="(mst_[^"]+)"`).FindStringSubmatch(r.body)
	if r.status != http.StatusCreated || key == nil {
		t.Fatalf("key creation: %d", r.status)
	}
	if e.do("GET", "/api/v1/projects", key[1], nil).status != 200 {
		t.Fatal("the key shown does not work")
	}
	// Other tests share the server and the member: pick this key by its
	// prefix, not by its place in the list.
	keyID := ""
	for _, k := range items[map[string]any](t, e.do("GET", "/api/v1/auth/api-keys?limit=1000", e.member, nil)) {
		if p, _ := k["prefix"].(string); p != "" && strings.HasPrefix(key[1], p) {
			keyID = k["id"].(string)
		}
	}
	if keyID == "" {
		t.Fatal("the new key is not listed")
	}
	seeOther("revoke", m.post("/account/api-keys/"+keyID+"/revoke", nil))
	if e.do("GET", "/api/v1/projects", key[1], nil).status != 401 {
		t.Fatal("the revoked key still works")
	}

	// Members: add, change the role, remove (as the tenant's admin).
	a := newWebClient(t, e.url, e.client)
	a.signIn("admin", testAdminPassword, "")
	if r := a.post("/admin/members", url.Values{"username": {"alice"}, "role": {"viewer"}}); r.status != http.StatusConflict {
		t.Fatalf("adding an existing member: %d", r.status)
	}
	if r := a.post("/admin/members", url.Values{"username": {"newbie"}, "password": {"short"}, "role": {"viewer"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `data-testid="form-errors"`) {
		t.Fatalf("a weak password: %d", r.status)
	}
	seeOther("add member", a.post("/admin/members", url.Values{"username": {"newbie"}, "password": {memberPassword}, "role": {"member"}}))
	nw := newWebClient(t, e.url, e.client)
	nw.signIn("newbie", memberPassword, "")
	admin := a.get("/admin")
	id := regexp.MustCompile(`action="/admin/members/([0-9a-f-]{36})"[^>]*><input type="hidden" name="csrf" value="[^"]+"><label class="sr-only" for="role-[0-9a-f-]+">Role of newbie`).FindStringSubmatch(admin.body)
	if id == nil {
		t.Fatalf("newbie is not listed: %s", admin.body)
	}
	seeOther("role", a.post("/admin/members/"+id[1], url.Values{"role": {"viewer"}}))
	if p := nw.get("/projects"); p.status != http.StatusSeeOther {
		t.Fatalf("a demoted member's session still answers: %d", p.status)
	}
	seeOther("remove", a.post("/admin/members/"+id[1]+"/remove", nil))
	if strings.Contains(a.get("/admin").body, "newbie") {
		t.Fatal("the removed member is still listed")
	}
}

func testDashboardLibraryPages(t *testing.T, e *regEnv) {
	w := newWebClient(t, e.url, e.client)
	w.signIn("victor", memberPassword, "")
	e.create(t, "/api/v1/models", e.member, map[string]any{"name": "churn classifier", "description": "gradient boosting"})
	for range 2 {
		expect(t, e.do("POST", "/api/v1/models/"+url.PathEscape("churn classifier")+"/versions", e.member, map[string]any{"source": "s3://models/churn"}), 201)
	}
	expect(t, e.do("PUT", "/api/v1/models/"+url.PathEscape("churn classifier")+"/aliases/champion", e.member, map[string]any{"version": 1}), 200)
	p := w.get("/models")
	if !strings.Contains(p.body, `href="/models/churn%20classifier"`) {
		t.Fatalf("model link: %s", p.body)
	}
	p = w.get("/models/churn%20classifier")
	if p.status != 200 || strings.Count(p.body, "s3://models/churn") != 2 || !strings.Contains(p.body, `<span class="tag">champion</span>`) {
		t.Fatalf("model page: %d %s", p.status, p.body)
	}
	a := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "tokenizer", "type": "feature_pipeline", "version": "2", "tags": []string{"nlp"}})
	expect(t, e.do("PUT", "/api/v1/artifacts/"+a+"/content", e.member, "0123456789"), 200)
	if p := w.get("/artifacts?type=feature_pipeline&tag=nlp&q=token"); !strings.Contains(p.body, "tokenizer") || !strings.Contains(p.body, "10 B") {
		t.Fatalf("artifacts: %s", p.body)
	}
	if p := w.get("/artifacts?min_impact=50"); !strings.Contains(p.body, "No artifact matches these filters.") {
		t.Fatal("no empty state for a filter without results")
	}
	if p := w.get("/artifacts?type=poetry"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "unknown artifact type") {
		t.Fatalf("bad filter: %d", p.status)
	}
	if p := w.get("/projects?status=dreaming"); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad project filter: %d", p.status)
	}
	if p := w.get("/recommend"); !strings.Contains(p.body, "tokenizer 2") {
		t.Fatal("the recommendation form does not offer the library's artifacts")
	}
}

// sessionCookie is the client's current value of cookie name.
func (w *webClient) sessionCookie(name string) string {
	u, _ := url.Parse(w.base)
	for _, c := range w.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// testDashboardTenantSwitch: a user of two tenants moves the session to
// the other one from the header; the new session has the membership's
// role there and the old one ends. A tenant the user is not a member of
// is the 404 page, and a switch without the CSRF token is refused; both
// leave the session as it was.
func testDashboardTenantSwitch(t *testing.T, e *regEnv) {
	home, beta := e.me(e.admin).Tenant.ID, e.me(e.other).Tenant.ID
	e.addMember(e.admin, home, "dora", memberPassword, "member")
	e.addMember(e.admin, beta, "dora", "", "viewer")
	e.createTenant(e.admin, "gamma")
	w := newWebClient(t, e.url, e.client)
	w.signIn("dora", memberPassword, "default")
	home1 := w.get("/")
	if !strings.Contains(home1.body, `name="tenant"`) || !strings.Contains(home1.body, `value="beta"`) {
		t.Fatalf("the header offers no switch to beta: %s", home1.body)
	}
	old := w.sessionCookie(accessCookie)

	for _, c := range []struct {
		name   string
		form   url.Values
		status int
	}{
		{"not a member", url.Values{"tenant": {"gamma"}}, http.StatusNotFound},
		{"unknown", url.Values{"tenant": {"no-such-tenant"}}, http.StatusNotFound},
		{"no CSRF token", url.Values{"tenant": {"beta"}, "csrf": {""}}, http.StatusForbidden},
	} {
		if r := w.post("/tenant", c.form); r.status != c.status {
			t.Fatalf("switch, %s: %d, want %d", c.name, r.status, c.status)
		}
		if got := e.me(w.sessionCookie(accessCookie)); got.Tenant.Slug != "default" {
			t.Fatalf("after a refused switch (%s) the session is in %q", c.name, got.Tenant.Slug)
		}
	}

	r := w.post("/tenant", url.Values{"tenant": {"beta"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("switch: %d to %q", r.status, r.header.Get("Location"))
	}
	now := w.sessionCookie(accessCookie)
	if now == old || cookieIn(r.header, refreshCookie) == nil {
		t.Fatal("the switch issued no new session cookies")
	}
	if got := e.me(now); got.Tenant.Slug != "beta" || got.Role == nil || *got.Role != "viewer" {
		t.Fatalf("after the switch: tenant %q role %v, want beta viewer", got.Tenant.Slug, got.Role)
	}
	if r := e.do("GET", "/api/v1/auth/me", old, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("the old session still works after the switch: %d", r.status)
	}
	// As a viewer of beta the member pages of default are out of reach.
	w.get("/")
	if r := w.post("/projects", url.Values{"name": {"x"}, "problem_class": {"nlp"}, "complexity_score": {"3"}, "team_size": {"2"}}); r.status != http.StatusForbidden {
		t.Fatalf("a viewer after the switch creates a project: %d", r.status)
	}
}

// testDashboardScriptCalls covers the rows the pages' script calls: an
// upload needs the CSRF token in its header and this origin, answers
// problems as problem+json and stores the body as sent; a training job is
// read only by its own tenant.
func testDashboardScriptCalls(t *testing.T, e *regEnv) {
	art := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "script-artifact", "type": "dataset", "version": "1"})
	w := newWebClient(t, e.url, e.client)
	w.signIn("alice", memberPassword, "")
	if p := w.get("/artifacts/" + art); p.status != 200 || !strings.Contains(p.body, `data-upload-url="/artifacts/`+art+`/content"`) {
		t.Fatalf("artifact page: %d without the upload form", p.status)
	}
	token := w.csrf
	refused := []struct {
		name string
		hdr  []string
	}{
		{"no token", []string{csrfHeader, ""}},
		{"another session's token", []string{csrfHeader, "AAAA"}},
		{"another origin", []string{"Origin", "https://evil.example"}},
		{"another site", []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, c := range refused {
		req, _ := http.NewRequest("PUT", e.url+"/artifacts/"+art+"/content", strings.NewReader("forged"))
		req.Header.Set(csrfHeader, token)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		r := w.send(req)
		if r.status != http.StatusForbidden || r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("upload, %s: %d %q, want a 403 problem", c.name, r.status, r.header.Get("Content-Type"))
		}
	}
	w.csrf = token
	if r := w.put("/artifacts/"+art+"/content", "the content"); r.status != 200 || !strings.Contains(r.body, `"size_bytes":11`) {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := w.get("/artifacts/" + art + "/content"); r.status != 200 || r.body != "the content" || r.header.Get("Content-Disposition") != "attachment" {
		t.Fatalf("download: %d %q %q", r.status, r.body, r.header.Get("Content-Disposition"))
	}

	// Beta's training job: its own members follow it, alice gets 404.
	seedHistory(t, e, e.other, 20)
	var started struct {
		Job struct {
			ID string `json:"id"`
		} `json:"job"`
	}
	expect(t, e.do("POST", "/api/v1/meta-models/train", e.other, nil), http.StatusAccepted).json(t, &started)
	bob := newWebClient(t, e.url, e.client)
	bob.signIn("bob", memberPassword, "")
	if r := bob.get("/meta-models/jobs/" + started.Job.ID); r.status != 200 || !strings.Contains(r.body, `"progress"`) {
		t.Fatalf("bob reads his job: %d %s", r.status, r.body)
	}
	if r := bob.get("/meta-models?job=" + started.Job.ID); r.status != 200 || !strings.Contains(r.body, `data-testid="job-progress"`) {
		t.Fatalf("bob's meta-model page does not follow the job: %d", r.status)
	}
	if r := w.get("/meta-models/jobs/" + started.Job.ID); r.status != 404 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("alice reads beta's job: %d %q", r.status, r.header.Get("Content-Type"))
	}
	if r := w.get("/meta-models?job=" + started.Job.ID); r.status != 404 {
		t.Fatalf("alice's meta-model page follows beta's job: %d", r.status)
	}
}

// TestRetryAfterRounding checks that the API's problems and the
// dashboard's error pages say the same Retry-After for the same wait:
// whole seconds rounded up, never 0.
func TestRetryAfterRounding(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	for wait, want := range map[time.Duration]string{
		100 * time.Microsecond:             "1",
		time.Second:                        "1",
		time.Second + 100*time.Microsecond: "2",
		2500 * time.Millisecond:            "3",
	} {
		for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			e := newAPIError(status, "busy", "retry later")
			e.retryAfter = wait
			api := httptest.NewRecorder()
			writeProblem(api, e)
			page := httptest.NewRecorder()
			ts.s.pageFail(page, httptest.NewRequest("GET", "/projects", nil), e)
			if a, p := api.Header().Get("Retry-After"), page.Header().Get("Retry-After"); a != want || p != want || page.Code != status {
				t.Errorf("%d after %v: the API says Retry-After %q, the page %q (status %d); want %q", status, wait, a, p, page.Code, want)
			}
		}
	}
}

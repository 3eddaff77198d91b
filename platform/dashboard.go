package platform

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/maestro-ml/maestro/auth"
)

// The web dashboard is a set of server-rendered pages (html/template, a
// stylesheet and a small script, all embedded in the module) served by
// the same Handler as the API, at every path outside /api and /health.
//
// Its pages are rows of their own table (dashboardTable), with the same
// Access rules as the API's routes and enforced by the same chain
// (Server.authenticated): a page's rule is its whole rule. The pages call
// the library, as the API's handlers do; the API's route table stays the
// API's, so the security suite's route-driven cases keep meaning HTTP API
// routes, and DashboardRoutes lists the pages for their own suite.
//
// Sessions: signing in issues the platform's own token pair (the API's
// login, signIn), kept in two cookies that scripts cannot read (HttpOnly),
// sent only to this site (SameSite=Strict) and only over TLS when served
// over TLS (Secure). An expired access token is refreshed from the refresh
// cookie. Every state-changing request carries a CSRF token bound to the
// session (an HMAC of its id) and must come from this origin.

//go:embed web
var webFiles embed.FS

// Cookie and form names of the dashboard.
const (
	accessCookie  = "maestro_session"
	refreshCookie = "maestro_refresh"
	// loginCookie holds the random value the sign-in form must echo
	// (there is no session yet to bind a CSRF token to).
	loginCookie = "maestro_login"
	csrfField   = "csrf"
	// csrfHeader carries the CSRF token of a script's request whose body
	// is not a form (an upload).
	csrfHeader = "X-CSRF-Token"
	// maxFormBody bounds a dashboard form.
	maxFormBody = 1 << 20
)

// webDeps is what the dashboard adds to a Server.
type webDeps struct {
	views   views  // parsed page templates
	csrfKey []byte // derived from the JWT secret
}

// pageFunc is a dashboard page handler: it writes the page or returns an
// error, which the table answers with an error page in plain words.
type pageFunc func(s *Server, w http.ResponseWriter, r *http.Request) error

// pageRoute is a row of the dashboard's table.
type pageRoute struct {
	Route
	handle pageFunc
	heavy  bool
	script bool
}

// pg is a row of the dashboard's table.
func pg(pattern string, a Access, summary string, h pageFunc) pageRoute {
	return pageRoute{Route: Route{Pattern: pattern, Access: a, Summary: summary}, handle: h}
}

// heavyPage marks a dashboard row as heavy (training, recommendations):
// the longer deadline and a concurrency limit of its own, as for the API.
func heavyPage(p pageRoute) pageRoute {
	p.heavy = true
	return p
}

// scriptCall marks a dashboard row as called by the pages' script rather
// than navigated to (a job's progress, an upload): its problems answer as
// problem+json, not as pages, and a state change carries its CSRF token in
// the X-CSRF-Token header, its body being its own (not a form).
func scriptCall(p pageRoute) pageRoute {
	p.script = true
	return p
}

// DashboardRoutes returns the web dashboard's pages, sorted by pattern:
// every page and form target the Handler serves outside /api and /health,
// with who may call it. Patterns are relative to where the handler is
// mounted.
func DashboardRoutes() []Route {
	rs := dashboardTable()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	slices.SortFunc(out, func(a, b Route) int { return strings.Compare(a.Pattern, b.Pattern) })
	return out
}

// dashboardTable is every page of the dashboard; the handlers live in
// dashboard_*.go, grouped like the API's files.
func dashboardTable() []pageRoute {
	return []pageRoute{
		pg("GET /static/{file}", Public, "The dashboard's stylesheet and script.", (*Server).pageStatic),
		pg("GET /login", Public, "The sign-in form.", (*Server).pageLogin),
		pg("POST /login", Public, "Sign in; with several tenants, choose one.", (*Server).pageLoginSubmit),
		pg("POST /logout", Viewer, "Sign out: the session ends.", (*Server).pageLogout),
		pg("POST /tenant", Session, "Switch to another of the user's tenants: a new session there, and this one ends.", (*Server).pageTenantSwitch),
		pg("GET /{$}", Viewer, "Home: the current user and tenant, and where to go.", (*Server).pageHome),

		pg("GET /projects", Viewer, "Projects, filtered by problem class and status, searched by text.", (*Server).pageProjects),
		pg("GET /projects/new", Member, "The form of a new project.", (*Server).pageProjectNew),
		pg("POST /projects", Member, "Create a project.", (*Server).pageProjectCreate),
		pg("GET /projects/{id}", Viewer, "A project: spec, outcome, team, process metrics, predictions, similar projects, experiments.", (*Server).pageProject),
		pg("GET /projects/{id}/edit", Member, "The form editing a project.", (*Server).pageProjectEdit),
		pg("POST /projects/{id}", Member, "Update a project.", (*Server).pageProjectUpdate),
		pg("POST /projects/{id}/outcome", Member, "Record a project's outcome.", (*Server).pageProjectOutcome),
		pg("POST /projects/{id}/team", Member, "Add a team member.", (*Server).pageTeamAdd),
		pg("POST /projects/{id}/experiments", Member, "Create an experiment.", (*Server).pageExperimentCreate),
		heavyPage(pg("POST /projects/{id}/predictions", Member, "Predict the project's success and store the prediction.", (*Server).pageProjectPredict)),

		pg("GET /experiments/{id}", Viewer, "An experiment: its runs side by side and their metric curves.", (*Server).pageExperiment),
		pg("GET /runs/{id}", Viewer, "A run: parameters, metrics and curves.", (*Server).pageRun),

		pg("GET /meta-models", Viewer, "The tenant's meta-models with their cross-validated figures.", (*Server).pageMetaModels),
		pg("POST /meta-models/train", Member, "Start a job training the tenant's next meta-model; the page follows its progress.", (*Server).pageTrain),
		scriptCall(pg("GET /meta-models/jobs/{id}", Viewer, "A training job's status and progress (JSON, polled by the meta-model page).", (*Server).pageTrainingJob)),
		pg("POST /meta-models/{version}/pin", Admin, "Pin a meta-model version as the active one.", (*Server).pageMetaModelPin),
		pg("POST /meta-models/unpin", Admin, "Unpin: the newest meta-model is active again.", (*Server).pageMetaModelUnpin),
		pg("POST /meta-models/rollback", Admin, "Make the version before the active one active.", (*Server).pageMetaModelRollback),
		pg("GET /recommend", Viewer, "The recommendation form.", (*Server).pageRecommend),
		heavyPage(pg("POST /recommend", Viewer, "Recommend for a described project; stores nothing.", (*Server).pageRecommendSubmit)),

		pg("GET /artifacts", Viewer, "The artifact library, searched and filtered.", (*Server).pageArtifacts),
		pg("GET /artifacts/{id}", Viewer, "An artifact: metadata, content, the projects that used it with their impact, the impact summary.", (*Server).pageArtifact),
		heavyPage(pg("GET /artifacts/{id}/content", Viewer, "Download an artifact's content.", (*Server).pageArtifactDownload)),
		heavyPage(scriptCall(pg("PUT /artifacts/{id}/content", Member, "Upload an artifact's content (the raw body; the page's script shows the progress).", (*Server).pageArtifactUpload))),
		pg("GET /models", Viewer, "Registered models.", (*Server).pageModels),
		pg("GET /models/{name}", Viewer, "A model's versions and aliases.", (*Server).pageModel),

		pg("GET /account", Viewer, "The caller's account and API keys.", (*Server).pageAccount),
		pg("POST /account/api-keys", TenantSession, "Create an API key (shown once).", (*Server).pageAPIKeyCreate),
		pg("POST /account/api-keys/{id}/revoke", Viewer, "Revoke an API key.", (*Server).pageAPIKeyRevoke),

		pg("GET /admin", Admin, "Tenant administration: quota use, members and roles.", (*Server).pageAdmin),
		pg("POST /admin/members", Admin, "Add a member to the tenant.", (*Server).pageMemberAdd),
		pg("POST /admin/members/{user_id}", Admin, "Change a member's role.", (*Server).pageMemberRole),
		pg("POST /admin/members/{user_id}/remove", Admin, "Remove a member from the tenant.", (*Server).pageMemberRemove),
	}
}

// isAPIPath reports whether path belongs to the API (and its health
// checks) rather than to the dashboard.
func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/health" || strings.HasPrefix(p, "/health/")
}

// apiOrDashboard sends API paths to api and every other path to dash.
func apiOrDashboard(api, dash http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		dash.ServeHTTP(w, r)
	})
}

// dashboard builds the dashboard's handler: each page behind the same
// authentication and access chain as the API's routes, fed from the
// session cookie, with problems of that chain shown as pages.
func (s *Server) dashboard() (http.Handler, error) {
	views, err := parseViews()
	if err != nil {
		return nil, err
	}
	s.web = &webDeps{views: views, csrfKey: deriveKey(s.cfg.JWTSecret, "maestro dashboard csrf v1")}
	mux := http.NewServeMux()
	for _, pr := range dashboardTable() {
		handle, heavy, script, pattern := pr.handle, pr.heavy, pr.script, pr.Pattern
		fail := s.pageFail
		if script {
			fail = s.fail
		}
		timeout := s.timeouts[0]
		var slots chan struct{}
		if heavy {
			timeout = s.timeouts[1]
			slots = make(chan struct{}, s.heavyLimit)
		}
		var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slots != nil {
				select {
				case slots <- struct{}{}:
					defer func() { <-slots }()
				default:
					fail(w, r, busy())
					return
				}
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			r = r.WithContext(ctx)
			if r.Method == http.MethodPost {
				if err := parseForm(w, r); err != nil {
					fail(w, r, err)
					return
				}
			}
			if err := handle(s, w, r); err != nil {
				fail(w, r, err)
			}
		})
		if pr.Access != Public {
			if !strings.HasPrefix(pattern, "GET ") {
				next = s.requireCSRF(next, fail)
			}
			next = s.authenticated(pr.Access, next)
			if !script {
				next = s.problemsAsPages(next)
			}
			next = s.sessionFromCookies(next)
		}
		mux.Handle(pattern, next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, p := mux.Handler(r)
		if p == "" {
			// Unknown path or method: a page, not the mux's plain text.
			rec := &headerRecorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			switch {
			case rec.status == http.StatusMethodNotAllowed:
				w.Header().Set("Allow", rec.header.Get("Allow"))
				s.pageFail(w, r, newAPIError(http.StatusMethodNotAllowed, "method_not_allowed", "this page does not take that method"))
			case rec.status >= 300 && rec.status < 400:
				h.ServeHTTP(w, r)
			default:
				s.pageFail(w, r, notFound("page"))
			}
			return
		}
		r.Header.Del("Authorization") // pages authenticate by their session cookie only
		mux.ServeHTTP(w, r)
	}), nil
}

// deriveKey derives a purpose-bound key from the server's secret.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// parseForm reads a dashboard form (URL-encoded, at most maxFormBody).
func parseForm(w http.ResponseWriter, r *http.Request) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return newAPIError(http.StatusUnsupportedMediaType, "unsupported_media_type", "the form must be sent as a web form")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		return badRequest("malformed_form", "the form could not be read")
	}
	for k, vs := range r.PostForm {
		for _, v := range append(vs, k) {
			if !cleanText(v) {
				return invalid(fieldError{Field: k, Message: "must not contain NUL characters or invalid UTF-8"})
			}
		}
	}
	return nil
}

// basePath is the prefix the dashboard is mounted under: the part of the
// request's original path that an http.StripPrefix in front of the
// handler removed ("" at the root). Links and cookie paths start with it.
func basePath(r *http.Request) string {
	raw := r.RequestURI
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if !strings.HasPrefix(raw, "/") {
		if u, err := url.Parse(raw); err == nil {
			raw = u.EscapedPath()
		}
	}
	ep := r.URL.EscapedPath()
	if !strings.HasSuffix(raw, ep) {
		return ""
	}
	base := strings.TrimSuffix(raw[:len(raw)-len(ep)], "/")
	if !validBase.MatchString(base) {
		return ""
	}
	return base
}

// validBase accepts mount prefixes that are safe in a cookie path and a URL.
var validBase = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)*$`)

// secureRequest reports whether the request came over TLS: cookies are
// then Secure.
func secureRequest(r *http.Request) bool { return r.TLS != nil }

// setCookie sets a dashboard cookie: HttpOnly, SameSite=Strict, Secure over
// TLS, scoped to the dashboard's base path. maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- HttpOnly and SameSite=Strict always; Secure whenever the request came over TLS (plain HTTP is loopback development)
		Name: name, Value: value, Path: basePath(r) + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteStrictMode,
	})
}

// setSessionCookies stores a token pair in the session cookies. Both live
// as long as the refresh token: an expired access token is refreshed.
func (s *Server) setSessionCookies(w http.ResponseWriter, r *http.Request, p auth.Pair) {
	age := int(s.identity.tokens.RefreshTTL().Seconds())
	setCookie(w, r, accessCookie, p.AccessToken, age)
	setCookie(w, r, refreshCookie, p.RefreshToken, age)
}

// clearSessionCookies deletes the session cookies.
func clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	setCookie(w, r, accessCookie, "", -1)
	setCookie(w, r, refreshCookie, "", -1)
}

// sessionFromCookies presents the session cookie's access token to the
// authentication chain as the bearer credential. An access token that no
// longer verifies is replaced by spending the refresh cookie (the new pair
// goes back into the cookies); when that fails too, the cookies are
// cleared and the request goes on without a credential (and is sent to
// the sign-in page).
func (s *Server) sessionFromCookies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := cookieValue(r, accessCookie)
		if token != "" {
			if _, err := s.identity.tokens.VerifyAccess(r.Context(), token); err != nil {
				token = ""
				if rt := cookieValue(r, refreshCookie); rt != "" {
					if pair, err := s.identity.tokens.Refresh(r.Context(), rt); err == nil {
						s.setSessionCookies(w, r, pair)
						token = pair.AccessToken
					} else if errors.Is(err, auth.ErrRefreshReuse) {
						s.audit(r.Context(), auditRefreshReuse)
					}
				}
				if token == "" {
					clearSessionCookies(w, r)
				}
			}
		}
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		next.ServeHTTP(w, r)
	})
}

// cookieValue is the value of cookie name, or "".
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// csrfToken is the CSRF token of a session: an HMAC of its id under a key
// derived from the server's secret. It is the same for the session's
// lifetime (refreshing keeps the session id) and useless for any other.
func (s *Server) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.web.csrfKey)
	m.Write([]byte("session\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameOrigin refuses a state-changing request that a browser says came
// from another site, or whose Origin is not this server's.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return forbidden("the form was sent from another site; open the page on this site and send it again")
	}
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "http"
		if secureRequest(r) {
			scheme = "https"
		}
		if o != scheme+"://"+r.Host {
			return forbidden("the form was sent from another site; open the page on this site and send it again")
		}
	}
	return nil
}

// requireCSRF refuses a state-changing request without the session's CSRF
// token, or from another origin (403). A POST is a form and carries the
// token in it; any other method (a script's upload) carries it in the
// X-CSRF-Token header, which another site cannot set without this
// server's leave (there is no CORS).
func (s *Server) requireCSRF(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r); err != nil {
			fail(w, r, err)
			return
		}
		got := r.Header.Get(csrfHeader)
		if r.Method == http.MethodPost {
			if err := parseForm(w, r); err != nil {
				fail(w, r, err)
				return
			}
			got = r.PostFormValue(csrfField)
		}
		p := principal(r)
		if p.SessionID == "" || !hmac.Equal([]byte(got), []byte(s.csrfToken(p.SessionID))) {
			fail(w, r, newAPIError(http.StatusForbidden, "csrf",
				"the form has expired or did not come from this site; reload the page and send it again"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// problemsAsPages shows the problems that the authentication and access
// chain writes (problem+json) as pages: a missing or invalid session
// sends the browser to the sign-in page, anything else is an error page
// with the problem's detail.
func (s *Server) problemsAsPages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pw := &problemWriter{ResponseWriter: w}
		next.ServeHTTP(pw, r)
		if !pw.problem {
			return
		}
		var pd problemDetail
		_ = json.Unmarshal(pw.buf.Bytes(), &pd)
		w.Header().Del("WWW-Authenticate")
		w.Header().Del("Content-Type")
		if pw.status == http.StatusUnauthorized {
			if cookieValue(r, accessCookie) != "" || cookieValue(r, refreshCookie) != "" {
				clearSessionCookies(w, r)
			}
			target := basePath(r) + "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther) // #nosec G710 -- the sign-in page under the validated mount prefix; next is query-escaped and checked as local on use
			return
		}
		s.pageFail(w, r, newAPIError(pw.status, pd.Code, pd.Detail))
	})
}

// problemWriter holds back a problem+json answer so that problemsAsPages
// can answer with a page instead; everything else passes through.
type problemWriter struct {
	http.ResponseWriter
	problem bool
	status  int
	buf     bytes.Buffer
}

func (p *problemWriter) WriteHeader(code int) {
	if code >= 400 && p.Header().Get("Content-Type") == "application/problem+json" {
		p.problem, p.status = true, code
		return
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if p.problem {
		return p.buf.Write(b)
	}
	return p.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (p *problemWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// pageFail answers err with an error page: the problem's status and its
// detail in plain words (classify: a 500 says nothing more).
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	if e.status >= 500 {
		s.logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "dashboard page failed",
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	}
	setRetryAfter(w.Header(), e)
	title := http.StatusText(e.status)
	switch e.status {
	case http.StatusNotFound:
		title = "Not found"
	case http.StatusForbidden:
		title = "Not allowed"
	}
	s.render(w, r, e.status, "error", title, errorView{Status: e.status, Detail: e.detail, Fields: e.fields})
}

// errorView is the data of the error page.
type errorView struct {
	Status int
	Detail string
	Fields []fieldError
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pageStatic serves the embedded stylesheet and script.
func (s *Server) pageStatic(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	b, err := fs.ReadFile(webFiles, "web/static/"+path.Base(name))
	if err != nil || path.Base(name) != name {
		return notFound("file")
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b) // #nosec G705 -- bytes of an embedded static file, chosen by a validated base name, served with its own content type
	return nil
}

// views are the parsed page templates, one set per page (each with the
// layout).
type views map[string]*template.Template

// parseViews parses every page of web/templates with the layout and the
// partials.
func parseViews() (views, error) {
	entries, err := fs.ReadDir(webFiles, "web/templates")
	if err != nil {
		return nil, err
	}
	out := views{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" || strings.HasPrefix(name, "part_") {
			continue // the layout and partials (part_*.html) are in every set
		}
		t, err := template.New(name).Funcs(viewFuncs).ParseFS(webFiles,
			"web/templates/layout.html", "web/templates/part_*.html", "web/templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("dashboard template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

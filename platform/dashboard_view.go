package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
)

// layoutView is what every page's template sees: the page's own data in
// Page, and around it who is signed in, where the dashboard is mounted and
// the session's CSRF token for its forms.
type layoutView struct {
	Title string
	Base  string // mount prefix; every link starts with it
	Me    *sessionView
	CSRF  string
	Page  any
}

// sessionView is the signed-in user as the layout shows it, with what
// the role allows (write controls are shown only to those who may write;
// the server refuses the others anyway).
type sessionView struct {
	UserID     string
	Username   string
	Superadmin bool
	TenantName string
	TenantSlug string
	Role       string
	CanWrite   bool
	IsAdmin    bool
	Others     []tenantRef // the user's other active tenants, for the switch
}

// viewFuncs are the template helpers.
var viewFuncs = template.FuncMap{
	"f1":         func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"f3":         func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) },
	"pf1":        optFloat(1),
	"pct":        func(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" },
	"signed":     func(v float64) string { return fmt.Sprintf("%+.1f", v) },
	"date":       func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"datetime":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"pdatetime":  func(t *time.Time) string { return optTime(t) },
	"pathEscape": url.PathEscape,
	"lines":      func(xs []string) string { return strings.Join(xs, "\n") },
	"join":       strings.Join,
	"words":      func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"bytes":      humanBytes,
	"shortID":    func(id string) string { return id[:min(8, len(id))] },
	"list3":      func() []string { return []string{"viewer", "member", "admin"} },
	"improvement": func(model, baseline float64) string {
		if baseline <= 0 {
			return "—"
		}
		return fmt.Sprintf("%+.0f%%", (baseline-model)/baseline*100)
	},
}

// optFloat formats an optional number with the given decimals, "—" for nil.
func optFloat(decimals int) func(*float64) string {
	return func(v *float64) string {
		if v == nil {
			return "—"
		}
		return strconv.FormatFloat(*v, 'f', decimals, 64)
	}
}

// optTime formats an optional time, "—" for nil.
func optTime(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// humanBytes writes a size in B, KiB, MiB or GiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v /= 1024
		unit = u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// render writes page name with data inside the layout, with status. The
// page is rendered into a buffer first, so a template error is a clean
// 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	t, ok := s.web.views[name]
	if !ok {
		panic("dashboard: no template " + name)
	}
	v := layoutView{Title: title, Base: basePath(r), Page: data}
	if p, ok := auth.PrincipalFrom(r.Context()); ok {
		v.Me = s.sessionView(r, p)
		v.CSRF = s.csrfToken(p.SessionID)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.logger(r.Context()).Error("dashboard template failed", "template", name, "error", err.Error())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "internal server error\n")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// sessionView describes principal p for the layout. Lookups that fail
// leave the names empty: the page itself reports its own errors.
func (s *Server) sessionView(r *http.Request, p auth.Principal) *sessionView {
	sv := &sessionView{UserID: p.UserID, Superadmin: p.Superadmin}
	if u, err := s.user(r.Context(), p.UserID); err == nil {
		sv.Username = u.Username
	}
	if p.TenantID != "" {
		if t, err := s.tenant(r.Context(), p.TenantID); err == nil {
			sv.TenantName, sv.TenantSlug = t.Name, t.Slug
		}
		sv.Role = p.Role.String()
		sv.CanWrite = p.Role.AtLeast(auth.RoleMember)
		sv.IsAdmin = p.Role.AtLeast(auth.RoleAdmin)
	}
	if p.Method == auth.MethodAccessToken {
		if trs, err := s.tenants.UserTenants(r.Context(), p.UserID); err == nil {
			for _, tr := range trs {
				if tr.Tenant.ID != p.TenantID && !tr.Tenant.Disabled {
					sv.Others = append(sv.Others, tenantRef{ID: tr.Tenant.ID, Slug: tr.Tenant.Slug, Name: tr.Tenant.Name})
				}
			}
		}
	}
	return sv
}

// redirect answers 303 to path under the dashboard's base.
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, basePath(r)+path, http.StatusSeeOther) // #nosec G710 -- a local path under the validated mount prefix; callers pass server-chosen paths
}

// form reads typed fields from a parsed form, collecting field errors.
type form struct {
	r *http.Request
	v validator
}

// str is the trimmed text of field name.
func (f *form) str(name string) string { return strings.TrimSpace(f.r.PostFormValue(name)) }

// integer is field name as an integer; a missing or malformed one is an
// error of the field.
func (f *form) integer(name string) int {
	s := f.str(name)
	n, err := strconv.Atoi(s)
	f.v.check(err == nil, name, "must be a whole number")
	return n
}

// number is field name as a finite number; a missing or malformed one is
// an error of the field.
func (f *form) number(name string) float64 {
	s := f.str(name)
	x, err := strconv.ParseFloat(s, 64)
	f.v.check(err == nil && !math.IsInf(x, 0) && !math.IsNaN(x), name, "must be a number")
	return x
}

// list splits field name into its non-empty lines.
func (f *form) list(name string) []string {
	var out []string
	for _, l := range strings.Split(f.r.PostFormValue(name), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// tags splits field name at commas.
func (f *form) tags(name string) []string {
	var out []string
	for _, t := range strings.Split(f.r.PostFormValue(name), ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// apiRecorder is the ResponseWriter of an in-process call of an API
// handler (callAPI).
type apiRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *apiRecorder) Header() http.Header { return a.header }
func (a *apiRecorder) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}
func (a *apiRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

// callAPI runs the API handler h in-process for the caller of r — the
// access rule of the dashboard's page has admitted them, as the API's row
// would — with body as its JSON body and values as its path parameters,
// and decodes its JSON answer into out (when not nil). Membership and API
// key administration go through the API's handlers this way, so that their
// rules (role caps, re-authentication, ending a demoted member's access,
// the audit log) stay in one place. The handler's error is returned as is.
func (s *Server) callAPI(r *http.Request, h handlerFunc, values map[string]string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
	req.Header = http.Header{"Content-Type": {"application/json"}}
	req.URL = &url.URL{Path: r.URL.Path}
	for k, v := range values {
		req.SetPathValue(k, v)
	}
	rec := &apiRecorder{header: http.Header{}}
	if err := h(s, rec, req); err != nil {
		return err
	}
	if rec.status >= 400 {
		return fmt.Errorf("dashboard: API handler answered %d", rec.status)
	}
	if out != nil && rec.body.Len() > 0 {
		return json.Unmarshal(rec.body.Bytes(), out)
	}
	return nil
}

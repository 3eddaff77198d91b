package platform

import (
	"context"
	"crypto/hmac"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
)

// loginView is the data of the sign-in page.
type loginView struct {
	Token    string // echoes the login cookie (CSRF before a session exists)
	Next     string
	Username string
	Tenants  []tenantRef // set when the user must choose a tenant
	Tenant   string
	Error    string
}

// safeNext returns next when it is a path of this dashboard ("/..."), and
// "/" otherwise: the sign-in page never redirects to another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// pageLogin shows the sign-in form, with a fresh value in the login cookie
// that the form must echo.
func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) error {
	tok := randomToken()
	setCookie(w, r, loginCookie, tok, int((30 * time.Minute).Seconds()))
	s.render(w, r, http.StatusOK, "login", "Sign in", loginView{Token: tok, Next: safeNext(r.URL.Query().Get("next"))})
	return nil
}

// pageLoginSubmit signs in with the API's login (signIn: throttling, the
// same answer for every failure, the audit log). A user of several
// tenants is asked to choose one — only after the password was right —
// and types the password again: it is never echoed into the page.
func (s *Server) pageLoginSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	cookie, field := cookieValue(r, loginCookie), r.PostFormValue("login_token")
	if cookie == "" || !hmac.Equal([]byte(cookie), []byte(field)) {
		return newAPIError(http.StatusForbidden, "csrf", "the sign-in form has expired; reload the page and sign in again")
	}
	in := loginRequest{Username: strings.TrimSpace(r.PostFormValue("username")), Password: r.PostFormValue("password"),
		Tenant: r.PostFormValue("tenant")}
	view := loginView{Token: cookie, Next: safeNext(r.PostFormValue("next")), Username: in.Username, Tenant: in.Tenant}
	if in.Username == "" || len(in.Username) > 256 || in.Password == "" {
		view.Error = "Enter your username and password."
		s.render(w, r, http.StatusUnprocessableEntity, "login", "Sign in", view)
		return nil
	}
	pair, err := s.signIn(r.Context(), clientIP(r), in)
	if err != nil {
		e := classify(err)
		switch {
		case e.code == "tenant_required":
			if view.Tenants, err = s.loginTenants(r, in.Username); err != nil {
				return err
			}
			view.Error = "You belong to several tenants: choose one and enter your password again."
			s.render(w, r, http.StatusOK, "login", "Sign in", view)
			return nil
		case e.status == http.StatusUnauthorized:
			view.Error = "The username or password is wrong."
		case e.status == http.StatusTooManyRequests:
			secs := retryAfterSeconds(e.retryAfter)
			view.Error = fmt.Sprintf("Too many failed attempts. Try again in %d seconds.", secs)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		default:
			return err
		}
		s.render(w, r, e.status, "login", "Sign in", view)
		return nil
	}
	setCookie(w, r, loginCookie, "", -1)
	s.setSessionCookies(w, r, pair)
	redirect(w, r, view.Next)
	return nil
}

// loginTenants lists the active tenants of a user whose password signIn
// has just verified, for the tenant choice.
func (s *Server) loginTenants(r *http.Request, username string) ([]tenantRef, error) {
	u, err := s.tenants.UserByUsername(r.Context(), username)
	if err != nil {
		return nil, err
	}
	trs, err := s.tenants.UserTenants(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	var out []tenantRef
	for _, tr := range trs {
		if !tr.Tenant.Disabled {
			out = append(out, tenantRef{ID: tr.Tenant.ID, Slug: tr.Tenant.Slug, Name: tr.Tenant.Name})
		}
	}
	return out, nil
}

// pageLogout ends the session (its refresh token and access token stop
// working, as with the API's logout) and clears the cookies.
func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	claims := auth.Claims{Subject: auth.Subject{UserID: p.UserID}, SessionID: p.SessionID, TokenID: p.TokenID}
	if err := s.identity.tokens.Logout(r.Context(), claims); err != nil {
		return err
	}
	s.audit(r.Context(), auditLogout, slog.String("session_id", p.SessionID))
	clearSessionCookies(w, r)
	redirect(w, r, "/login")
	return nil
}

// homeView is the data of the home page: the tenant's overview.
type homeView struct {
	Projects  int
	HasMore   bool
	Active    string // the active meta-model, if any
	NoTenant  bool
	ByStatus  []statusCount
	ByMonth   []monthCount
	Recent    []registry.Project
	Training  *metalearn.Job // the training job running now, if any
	Health    []healthRow
	Completed int
}

// statusCount is how many projects have a status (at most overviewCap,
// More when there are more).
type statusCount struct {
	Status registry.ProjectStatus
	N      int
	More   bool
	Share  float64 // of the largest count, for the bar
}

// monthCount is how many of the newest projects were created in a month.
type monthCount struct {
	Month string // 2006-01
	N     int
	Share float64
}

// healthRow is one dependency of the server with its state.
type healthRow struct {
	Name string
	OK   bool
}

// overviewCap bounds the projects the overview reads per count (one page
// of the registry's largest size).
const overviewCap = registry.MaxLimit

// overviewMonths is how many months the projects-over-time chart covers.
const overviewMonths = 12

// pageHome shows the tenant's overview: projects by status and over the
// last months, the newest projects, the meta-model's state (the active
// version, a training running) and the server's health (its dependencies
// answer), with where to go.
func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	var v homeView
	for _, c := range s.readiness() {
		cctx, cancel := context.WithTimeout(ctx, readyTimeout)
		v.Health = append(v.Health, healthRow{Name: c.name, OK: c.check(cctx) == nil})
		cancel()
	}
	if p.TenantID == "" {
		v.NoTenant = true
		s.render(w, r, http.StatusOK, "home", "Home", v)
		return nil
	}
	ps, err := s.reg.reg.ListProjects(ctx, registry.ProjectFilter{Limit: overviewCap})
	if err != nil {
		return err
	}
	v.Projects, v.HasMore = len(ps.Items), ps.NextCursor != ""
	if len(ps.Items) > 0 {
		v.Recent = ps.Items[:min(5, len(ps.Items))]
	}
	v.ByMonth = projectsByMonth(ps.Items, time.Now().UTC())
	most := 0
	for _, st := range allStatuses {
		sp, err := s.reg.reg.ListProjects(ctx, registry.ProjectFilter{Status: st, Limit: overviewCap})
		if err != nil {
			return err
		}
		v.ByStatus = append(v.ByStatus, statusCount{Status: st, N: len(sp.Items), More: sp.NextCursor != ""})
		most = max(most, len(sp.Items))
	}
	for i := range v.ByStatus {
		if most > 0 {
			v.ByStatus[i].Share = float64(v.ByStatus[i].N) / float64(most)
		}
	}
	infos, err := s.learn.models.List(ctx)
	if err != nil {
		return err
	}
	for _, info := range infos {
		if info.Active {
			v.Active = fmt.Sprintf("version %d, trained %s on %d projects", info.Version,
				info.TrainedAt.UTC().Format("2006-01-02 15:04 UTC"), info.NProjects)
		}
	}
	if s.learn.jobs != nil {
		job, running, err := s.learn.jobs.Active(ctx)
		if err != nil {
			return err
		}
		if running {
			v.Training = &job
		}
	}
	s.render(w, r, http.StatusOK, "home", "Home", v)
	return nil
}

// projectsByMonth counts projects by the month they were created in, for
// the overviewMonths months up to now (oldest first, empty months
// included).
func projectsByMonth(ps []registry.Project, now time.Time) []monthCount {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(overviewMonths - 1), 0)
	out := make([]monthCount, overviewMonths)
	for i := range out {
		out[i].Month = first.AddDate(0, i, 0).Format("2006-01")
	}
	most := 0
	for _, p := range ps {
		c := p.CreatedAt.UTC()
		i := (c.Year()-first.Year())*12 + int(c.Month()) - int(first.Month())
		if i >= 0 && i < overviewMonths {
			out[i].N++
			most = max(most, out[i].N)
		}
	}
	for i := range out {
		if most > 0 {
			out[i].Share = float64(out[i].N) / float64(most)
		}
	}
	return out
}

// errNoModelPage is the dashboard's words for metalearn.ErrNoModel.
var errNoModelPage = newAPIError(http.StatusConflict, "no_model",
	"No meta-model has been trained for this tenant yet. Train one on the Meta-models page first.")

// pageError rewrites the errors whose API wording names API routes.
func pageError(err error) error {
	if e := classify(err); e.code == "no_model" {
		return errNoModelPage
	}
	return err
}

// pageTenantSwitch moves the session to another tenant of the user
// without signing out: the user and the chosen membership are read again
// (a disabled user, a disabled tenant or a tenant the user does not
// belong to is 404, as for an unknown one), a new token pair is issued
// for that tenant with the membership's current role, the cookies take
// it, and the old session ends.
func (s *Server) pageTenantSwitch(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	slug := strings.TrimSpace(r.PostFormValue("tenant"))
	u, err := s.tenants.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	if u.Disabled {
		return unauthorized()
	}
	trs, err := s.tenants.UserTenants(ctx, p.UserID)
	if err != nil {
		return err
	}
	sub := auth.Subject{UserID: u.ID, Superadmin: u.IsSuperadmin}
	for _, tr := range trs {
		if tr.Tenant.Slug == slug && !tr.Tenant.Disabled {
			sub.TenantID, sub.Role = tr.Tenant.ID, tr.Role
		}
	}
	if sub.TenantID == "" {
		return notFound("tenant")
	}
	pair, err := s.identity.tokens.IssuePair(ctx, sub)
	if err != nil {
		return err
	}
	old := auth.Claims{Subject: auth.Subject{UserID: p.UserID}, SessionID: p.SessionID, TokenID: p.TokenID}
	if err := s.identity.tokens.Logout(ctx, old); err != nil {
		return err
	}
	s.audit(ctx, auditLogout, slog.String("session_id", p.SessionID))
	s.audit(ctx, auditLoginSuccess, slog.String("user_id", sub.UserID),
		slog.String("tenant_id", sub.TenantID), slog.String("session_id", pair.SessionID))
	s.setSessionCookies(w, r, pair)
	redirect(w, r, "/")
	return nil
}

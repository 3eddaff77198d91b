package securitytest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// user is a test user with a login session.
type user struct {
	name, password string
	id             string
	tenant         *tenant
	role           string // viewer, member, admin
	access         string
	refresh        string
}

// tenant is a test tenant and what the suite created in it.
type tenant struct {
	name, slug, id string
	admin, member  *user
	viewer         *user  // may be nil
	marker         string // a unique string in the names of everything created

	project, teamMember, experiment, run string
	artifact, model, apiKeyID, apiKey    string
	cursor                               string // a next_cursor of this tenant's project list
}

// world is the platform with two tenants, A and B, each with users and one
// of every kind of resource.
type world struct {
	p          *proc
	superadmin *user
	a, b       *tenant
}

// newWorld creates tenants A and B through the API as the bootstrap
// superadmin, their users (A: admin, member, viewer; B: admin, member),
// logs them in, and creates one of every resource in each tenant.
func newWorld(t testing.TB, p *proc) *world {
	t.Helper()
	w := &world{p: p}
	sa := &user{name: "admin", password: p.adminPassword}
	sa.access, sa.refresh = p.login(t, "admin", p.adminPassword, "")
	w.superadmin = sa
	w.a = w.newTenant(t, "a", true)
	w.b = w.newTenant(t, "b", false)
	for _, tn := range []*tenant{w.a, w.b} {
		w.populate(t, tn)
	}
	return w
}

func (w *world) newTenant(t testing.TB, label string, withViewer bool) *tenant {
	t.Helper()
	suffix := randHex(4)
	tn := &tenant{name: "Tenant " + strings.ToUpper(label) + " " + suffix, slug: "sec-" + label + "-" + suffix,
		marker: "MARK" + strings.ToUpper(label) + randHex(6)}
	r := w.p.do(t, req{method: "POST", path: "/api/v1/tenants", token: w.superadmin.access,
		body: map[string]string{"name": tn.name, "slug": tn.slug}})
	mustStatus(t, r, http.StatusCreated, "create tenant "+label)
	tn.id = r.str(t, "id")
	tn.admin = w.addUser(t, tn, label+"admin", "admin")
	tn.member = w.addUser(t, tn, label+"member", "member")
	if withViewer {
		tn.viewer = w.addUser(t, tn, label+"viewer", "viewer")
	}
	w.p.scan.own(tn.slug, tn.id, tn.slug, tn.marker)
	return tn
}

// addUser creates a user in tn with role (as tn's admin once it exists,
// else as the superadmin) and logs it in.
func (w *world) addUser(t testing.TB, tn *tenant, label, role string) *user {
	t.Helper()
	u := &user{name: "sec" + label + randHex(4), password: strongPassword(), tenant: tn, role: role}
	tok := w.superadmin.access
	if tn.admin != nil {
		tok = tn.admin.access
	}
	r := w.p.do(t, req{method: "POST", path: "/api/v1/tenants/" + tn.id + "/members", token: tok,
		body: map[string]string{"username": u.name, "password": u.password, "role": role}})
	mustStatus(t, r, http.StatusCreated, "add member "+u.name)
	u.id = r.str(t, "user_id")
	w.p.scan.forbidValue("the password of "+u.name, u.password)
	u.access, u.refresh = w.p.login(t, u.name, u.password, "")
	w.p.scan.own(tn.slug, u.id, u.name)
	return u
}

// as returns a request template for u.
func as(u *user) req { return req{token: u.access, owner: u.tenant.slug} }

// call sends method path with body as u.
func (w *world) call(t testing.TB, u *user, method, path string, body any) response {
	t.Helper()
	rq := as(u)
	rq.method, rq.path, rq.body = method, path, body
	return w.p.do(t, rq)
}

// populate creates one of every resource in tn as its member.
func (w *world) populate(t testing.TB, tn *tenant) {
	t.Helper()
	m := tn.member
	mk := tn.marker
	spec := map[string]any{
		"user_stories":            []string{"As an analyst " + mk + " I forecast churn"},
		"functional_requirements": []string{"train a churn model", "serve predictions"},
		"data_models":             []map[string]any{{"entity": "Customer", "fields": []string{"id", "tenure"}}},
		"api_endpoints":           []map[string]any{{"method": "POST", "path": "/predict", "purpose": "score"}},
	}
	for i := 0; i < 3; i++ { // three, so that lists have more than one page at limit=1
		r := w.call(t, m, "POST", "/api/v1/projects", map[string]any{
			"name": fmt.Sprintf("churn %s %d", mk, i), "problem_class": "classification", "complexity_score": 5,
			"team_size": 3, "description": "churn prediction " + mk, "spec": spec, "tags": []string{"sec", mk},
		})
		mustStatus(t, r, http.StatusCreated, "create project")
		id := r.str(t, "id")
		w.p.scan.own(tn.slug, id)
		if i == 0 {
			tn.project = id
		}
	}
	r := w.call(t, m, "POST", "/api/v1/projects/"+tn.project+"/team",
		map[string]any{"name": "Ada " + mk, "role": "ml_engineer", "experience_level": "senior"})
	mustStatus(t, r, http.StatusCreated, "add team member")
	tn.teamMember = r.str(t, "id")
	r = w.call(t, m, "POST", "/api/v1/projects/"+tn.project+"/process-metrics",
		[]map[string]any{{"metric_type": "velocity", "value": 3.5}})
	mustStatus(t, r, http.StatusNoContent, "process metrics")
	r = w.call(t, m, "POST", "/api/v1/projects/"+tn.project+"/experiments", map[string]any{"name": "exp " + mk})
	mustStatus(t, r, http.StatusCreated, "create experiment")
	tn.experiment = r.str(t, "id")
	r = w.call(t, m, "POST", "/api/v1/experiments/"+tn.experiment+"/runs", map[string]any{"name": "run " + mk})
	mustStatus(t, r, http.StatusCreated, "create run")
	tn.run = r.str(t, "id")
	r = w.call(t, m, "POST", "/api/v1/runs/"+tn.run+"/metrics", []map[string]any{{"key": "loss", "value": 0.5, "step": 1}})
	mustStatus(t, r, http.StatusNoContent, "log metrics")
	r = w.call(t, m, "POST", "/api/v1/artifacts",
		map[string]any{"name": "features " + mk, "type": "feature_pipeline", "version": "1.0.0", "tags": []string{mk}})
	mustStatus(t, r, http.StatusCreated, "create artifact")
	tn.artifact = r.str(t, "id")
	rq := as(m)
	rq.method, rq.path, rq.body, rq.contentType = "PUT", "/api/v1/artifacts/"+tn.artifact+"/content", []byte("content of "+mk), "application/octet-stream"
	mustStatus(t, w.p.do(t, rq), http.StatusOK, "artifact content")
	r = w.call(t, m, "POST", "/api/v1/artifacts/"+tn.artifact+"/usages",
		map[string]any{"project_id": tn.project, "impact_score": 80})
	mustStatus(t, r, http.StatusCreated, "artifact usage")
	tn.model = "model-" + mk
	r = w.call(t, m, "POST", "/api/v1/models", map[string]any{"name": tn.model})
	mustStatus(t, r, http.StatusCreated, "create model")
	w.p.scan.own(tn.slug, r.str(t, "id"))
	r = w.call(t, m, "POST", "/api/v1/models/"+url.PathEscape(tn.model)+"/versions",
		map[string]any{"source": "s3://bucket/" + mk, "run_id": tn.run})
	mustStatus(t, r, http.StatusCreated, "create model version")
	r = w.call(t, m, "PUT", "/api/v1/models/"+url.PathEscape(tn.model)+"/aliases/prod", map[string]any{"version": 1})
	mustStatus(t, r, http.StatusOK, "set alias")
	r = w.call(t, m, "POST", "/api/v1/auth/api-keys", map[string]any{"name": "ci " + mk, "current_password": m.password})
	mustStatus(t, r, http.StatusCreated, "create API key")
	tn.apiKeyID, tn.apiKey = r.str(t, "id"), r.str(t, "key")
	w.p.scan.forbidValue("an API key", tn.apiKey)
	w.p.scan.forbidValue("the SHA-256 of an API key", sha256hex(tn.apiKey))
	w.p.scan.own(tn.slug, tn.project, tn.teamMember, tn.experiment, tn.run, tn.artifact, tn.apiKeyID)
	r = w.call(t, m, "GET", "/api/v1/projects?limit=1", nil)
	mustStatus(t, r, http.StatusOK, "list projects")
	tn.cursor, _ = r.json(t)["next_cursor"].(string)
	if tn.cursor == "" {
		t.Fatalf("a list of 3 projects at limit=1 has no next_cursor: %s", r.body)
	}
}

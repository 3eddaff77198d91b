package securitytest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/client"
)

// user is a test user with a login session.
type user struct {
	name, password string
	id             string
	tenant         *tenant
	role           string // viewer, member, admin
	access         string
	refresh        string
	api            *client.Client // authenticated with access; its answers are scanned
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
	sa.api = p.api(t, sa.access, "")
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
	created, err := w.superadmin.api.CreateTenant(context.Background(), client.TenantInput{Name: tn.name, Slug: tn.slug})
	if err != nil {
		t.Fatalf("create tenant %s: %v", label, err)
	}
	tn.id = created.ID
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
	by := w.superadmin.api
	if tn.admin != nil {
		by = tn.admin.api
	}
	w.p.scan.forbidValue("the password of "+u.name, u.password)
	m, err := by.AddMember(context.Background(), tn.id, client.MemberInput{Username: u.name, Password: u.password, Role: role})
	if err != nil {
		t.Fatalf("add member %s: %v", u.name, err)
	}
	u.id = m.UserID
	u.access, u.refresh = w.p.login(t, u.name, u.password, "")
	u.api = w.p.api(t, u.access, tn.slug)
	w.p.scan.own(tn.slug, u.id, u.name)
	return u
}

// as returns a request template for u.
func as(u *user) req { return req{token: u.access, owner: u.tenant.slug} }

// populate creates one of every resource in tn as its member, through
// the client.
func (w *world) populate(t testing.TB, tn *tenant) {
	t.Helper()
	ctx := context.Background()
	c := tn.member.api
	mk := tn.marker
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	spec := &client.SpecInput{
		UserStories:            []string{"As an analyst " + mk + " I forecast churn"},
		FunctionalRequirements: []string{"train a churn model", "serve predictions"},
		DataModels:             []client.DataModelInput{{Entity: "Customer", Fields: []string{"id", "tenure"}}},
		APIEndpoints:           []client.APIEndpointInput{{Method: "POST", Path: "/predict", Purpose: "score"}},
	}
	for i := range 3 { // three, so that lists have more than one page at limit=1
		p, err := c.CreateProject(ctx, client.ProjectInput{Name: fmt.Sprintf("churn %s %d", mk, i), ProblemClass: "classification",
			ComplexityScore: 5, TeamSize: 3, Description: "churn prediction " + mk, Spec: spec, Tags: []string{"sec", mk}})
		must("create project", err)
		w.p.scan.own(tn.slug, p.ID)
		if i == 0 {
			tn.project = p.ID
		}
	}
	tm, err := c.AddTeamMember(ctx, tn.project, client.TeamMemberInput{Name: "Ada " + mk, Role: "ml_engineer", ExperienceLevel: "senior"})
	must("add team member", err)
	tn.teamMember = tm.ID
	must("process metrics", c.RecordProcessMetrics(ctx, tn.project, []client.ProcessMetricPoint{{MetricType: "velocity", Value: 3.5}}))
	exp, err := c.CreateExperiment(ctx, tn.project, client.ExperimentInput{Name: "exp " + mk})
	must("create experiment", err)
	tn.experiment = exp.ID
	run, err := c.CreateRun(ctx, tn.experiment, client.RunInput{Name: "run " + mk})
	must("create run", err)
	tn.run = run.ID
	must("log metrics", c.LogMetrics(ctx, tn.run, []client.MetricPoint{{Key: "loss", Value: 0.5, Step: 1}}))
	art, err := c.CreateArtifact(ctx, client.ArtifactInput{Name: "features " + mk, Type: "feature_pipeline", Version: "1.0.0", Tags: []string{mk}})
	must("create artifact", err)
	tn.artifact = art.ID
	_, err = c.UploadArtifactContent(ctx, tn.artifact, strings.NewReader("content of "+mk))
	must("artifact content", err)
	_, err = c.RecordArtifactUsage(ctx, tn.artifact, client.ArtifactUsageInput{ProjectID: tn.project, ImpactScore: 80})
	must("artifact usage", err)
	tn.model = "model-" + mk
	model, err := c.CreateModel(ctx, client.ModelInput{Name: tn.model})
	must("create model", err)
	w.p.scan.own(tn.slug, model.ID)
	_, err = c.CreateModelVersion(ctx, tn.model, client.ModelVersionInput{Source: "s3://bucket/" + mk, RunID: tn.run})
	must("create model version", err)
	_, err = c.SetModelAlias(ctx, tn.model, "prod", 1)
	must("set alias", err)
	key, err := c.CreateAPIKey(ctx, client.APIKeyInput{Name: "ci " + mk, CurrentPassword: tn.member.password})
	must("create API key", err)
	tn.apiKeyID, tn.apiKey = key.ID, key.Key
	w.p.scan.forbidValue("an API key", tn.apiKey)
	w.p.scan.forbidValue("the SHA-256 of an API key", sha256hex(tn.apiKey))
	w.p.scan.own(tn.slug, tn.project, tn.teamMember, tn.experiment, tn.run, tn.artifact, tn.apiKeyID)
	page, err := c.ListProjects(ctx, client.ProjectFilter{PageRequest: client.PageRequest{Limit: 1}})
	must("list projects", err)
	tn.cursor = page.NextCursor
	if tn.cursor == "" {
		t.Fatalf("a list of 3 projects at limit=1 has no next_cursor: %+v", page)
	}
}

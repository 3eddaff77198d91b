package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/platform"
)

// memberPassword is the password of the users the tests add.
const memberPassword = "Client-Member-Pass-91x!"

// world is what the route table's calls share: the clients of the users
// and the ids of what earlier calls created.
type world struct {
	t        *testing.T
	ts       *testServer
	contract *contract      // the validating transport of every client
	admin    *client.Client // the superadmin, logged in WithLogin
	alice    *client.Client // an admin of the home tenant, WithLogin
	home     *client.Tenant
	beta     *client.Tenant
	aliceID  string

	project, experiment, run, otherRun, artifact, teamMember, apiKey, job string
	history                                                               []string // completed projects for training
	firstModel                                                            int
}

// call is a row of the coverage table: a route and a client call that
// exercises it, checking what it answers.
type call struct {
	route string
	do    func(ctx context.Context, w *world) error
}

// check returns an error unless ok, naming what was wrong.
func check(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// calls is the coverage table: one row per route of platform.Routes, in
// an order where each call finds what it needs. A new route is a new row.
func calls() []call {
	return []call{
		{"GET /health/live", func(ctx context.Context, w *world) error {
			l, err := w.admin.Live(ctx)
			return errors.Join(err, check(err == nil && l.Status == "ok", "live %+v", l))
		}},
		{"GET /health/ready", func(ctx context.Context, w *world) error {
			r, err := w.admin.Ready(ctx)
			return errors.Join(err, check(err == nil && r.Status == "ok" && r.Checks["database"] == "ok", "ready %+v", r))
		}},
		{"GET /api/v1/openapi.json", func(ctx context.Context, w *world) error {
			b, err := w.admin.OpenAPI(ctx)
			return errors.Join(err, check(bytes.Contains(b, []byte(`"openapi": "3.1`)) || bytes.Contains(b, []byte(`"openapi":"3.1`)), "document %.100s", b))
		}},
		{"POST /api/v1/auth/login", func(ctx context.Context, w *world) error {
			pair, err := w.admin.Login(ctx, "admin", adminPassword, "")
			return errors.Join(err, check(err == nil && pair.AccessToken != "" && w.admin.Tokens() == *pair, "login kept %+v", pair))
		}},
		{"POST /api/v1/auth/refresh", func(ctx context.Context, w *world) error {
			plain, err := client.New(w.ts.url, client.WithHTTPClient(w.contract.client()))
			if err != nil {
				return err
			}
			pair, err := plain.Login(ctx, "admin", adminPassword, "")
			if err != nil {
				return err
			}
			next, err := plain.Refresh(ctx, pair.RefreshToken)
			if err != nil {
				return err
			}
			_, reuse := plain.Refresh(ctx, pair.RefreshToken) // rotated: the spent one is refused
			return errors.Join(check(next.RefreshToken != pair.RefreshToken, "refresh token not rotated"),
				check(errors.Is(reuse, client.ErrUnauthorized), "spent refresh token: %v", reuse))
		}},
		{"GET /api/v1/auth/me", func(ctx context.Context, w *world) error {
			me, err := w.admin.Me(ctx)
			if err != nil {
				return err
			}
			w.home = &client.Tenant{ID: me.Tenant.ID, Slug: me.Tenant.Slug, Name: me.Tenant.Name}
			return check(me.User.Username == "admin" && me.User.IsSuperadmin, "me %+v", me.User)
		}},
		{"POST /api/v1/tenants", func(ctx context.Context, w *world) error {
			var err error
			w.beta, err = w.admin.CreateTenant(ctx, client.TenantInput{Name: "Beta", Slug: "beta"})
			if err != nil {
				return err
			}
			_, dup := w.admin.CreateTenant(ctx, client.TenantInput{Name: "Beta again", Slug: "beta"})
			return check(errors.Is(dup, client.ErrConflict), "duplicate slug: %v", dup)
		}},
		{"GET /api/v1/tenants", func(ctx context.Context, w *world) error {
			p, err := w.admin.ListTenants(ctx, client.PageRequest{Limit: 1})
			if err != nil {
				return err
			}
			var slugs []string
			for tn, err := range w.admin.ListTenantsAll(ctx) {
				if err != nil {
					return err
				}
				slugs = append(slugs, tn.Slug)
			}
			first := ""
			for tn, err := range w.admin.ListTenantsAll(ctx) {
				if first != "" || err != nil {
					break // stopping early stops the iterator
				}
				first = tn.Slug
			}
			if len(slugs) == 0 || first != slugs[0] {
				return fmt.Errorf("first tenant %q, want %q", first, slugs[0])
			}
			return check(len(p.Items) == 1 && p.NextCursor != "" && len(slugs) == 2 && slices.Contains(slugs, "beta"), "tenants %v, page %+v", slugs, p)
		}},
		{"GET /api/v1/tenants/{id}", func(ctx context.Context, w *world) error {
			tn, err := w.admin.GetTenant(ctx, w.beta.ID)
			return errors.Join(err, check(err == nil && tn.Slug == "beta", "tenant %+v", tn))
		}},
		{"PATCH /api/v1/tenants/{id}", func(ctx context.Context, w *world) error {
			name := "Beta Corp"
			tn, err := w.admin.UpdateTenant(ctx, w.beta.ID, client.TenantPatch{Name: &name})
			return errors.Join(err, check(err == nil && tn.Name == name && tn.Slug == "beta", "updated %+v", tn))
		}},
		{"PUT /api/v1/tenants/{id}/quota", func(ctx context.Context, w *world) error {
			q, err := w.admin.SetQuota(ctx, w.home.ID, client.QuotaLimits{Projects: 500})
			return errors.Join(err, check(err == nil && q.Limits.Projects == 500 && q.Limits.Users == 0, "quota %+v", q))
		}},
		{"GET /api/v1/tenants/{id}/quota", func(ctx context.Context, w *world) error {
			q, err := w.admin.GetQuota(ctx, w.home.ID)
			return errors.Join(err, check(err == nil && q.Limits.Projects == 500 && q.Usage.Users >= 1, "quota %+v", q))
		}},
		{"POST /api/v1/tenants/{id}/members", func(ctx context.Context, w *world) error {
			m, err := w.admin.AddMember(ctx, w.home.ID, client.MemberInput{Username: "alice", Email: "alice@example.com", Password: memberPassword, Role: "member"})
			if err != nil {
				return err
			}
			w.aliceID = m.UserID
			w.alice, err = client.New(w.ts.url, client.WithHTTPClient(w.contract.client()), client.WithLogin("alice", memberPassword, w.home.Slug))
			return err
		}},
		{"GET /api/v1/tenants/{id}/members", func(ctx context.Context, w *world) error {
			var names []string
			for m, err := range w.admin.ListMembersAll(ctx, w.home.ID) {
				if err != nil {
					return err
				}
				names = append(names, m.Username)
			}
			return check(slices.Contains(names, "alice") && slices.Contains(names, "admin"), "members %v", names)
		}},
		{"PATCH /api/v1/tenants/{id}/members/{user_id}", func(ctx context.Context, w *world) error {
			m, err := w.admin.UpdateMember(ctx, w.home.ID, w.aliceID, "admin")
			return errors.Join(err, check(err == nil && m.Role == "admin", "member %+v", m))
		}},
		{"POST /api/v1/auth/api-keys", func(ctx context.Context, w *world) error {
			k, err := w.alice.CreateAPIKey(ctx, client.APIKeyInput{CurrentPassword: memberPassword, Name: "ci", Role: "viewer", ExpiresInDays: 7})
			if err != nil {
				return err
			}
			w.apiKey = k.ID
			keyed, err := client.New(w.ts.url, client.WithHTTPClient(w.contract.client()), client.WithToken(k.Key))
			if err != nil {
				return err
			}
			me, err := keyed.Me(ctx)
			if err != nil {
				return err
			}
			_, denied := keyed.CreateProject(ctx, client.ProjectInput{Name: "nope", ProblemClass: "other", ComplexityScore: 1, TeamSize: 1})
			return errors.Join(check(me.Role != nil && *me.Role == "viewer", "key's role %v", me.Role),
				check(errors.Is(denied, client.ErrForbidden), "viewer key created a project: %v", denied))
		}},
		{"GET /api/v1/auth/api-keys", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListAPIKeys(ctx, client.PageRequest{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListAPIKeysAll(ctx))
			return errors.Join(err, check(len(p.Items) == 1 && p.Items[0].Key == "" && p.Items[0].Name == "ci" && n == 1, "keys %+v, %d", p, n))
		}},
		{"POST /api/v1/projects", func(ctx context.Context, w *world) error {
			p, err := w.alice.CreateProject(ctx, client.ProjectInput{Name: "churn", ProblemClass: "classification", ComplexityScore: 6, TeamSize: 4,
				Description: "Predict which customers leave", Tags: []string{"crm"},
				Spec: &client.SpecInput{UserStories: []string{"As an analyst I see the churn risk of each customer"}}})
			if err != nil {
				return err
			}
			w.project = p.ID
			_, bad := w.alice.CreateProject(badRequest(ctx), client.ProjectInput{Name: "", ProblemClass: "classification", ComplexityScore: 60, TeamSize: 1})
			e, ok := errorsAs[*client.Error](bad)
			return errors.Join(check(ok && errors.Is(bad, client.ErrInvalid) && e.Code != "" && len(e.Errors) > 0, "invalid project: %v", bad))
		}},
		{"GET /api/v1/projects", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListProjects(ctx, client.ProjectFilter{Tags: []string{"crm"}, Status: "active"})
			if err != nil {
				return err
			}
			n := 0
			for _, err := range w.alice.ListProjectsAll(ctx, client.ProjectFilter{Q: "nothing matches this"}) {
				if err != nil {
					return err
				}
				n++
			}
			return check(len(p.Items) == 1 && p.Items[0].ID == w.project && n == 0, "projects %+v, %d", p, n)
		}},
		{"GET /api/v1/projects/{id}", func(ctx context.Context, w *world) error {
			p, err := w.alice.GetProject(ctx, w.project)
			if err != nil {
				return err
			}
			_, missing := w.alice.GetProject(ctx, "00000000-0000-0000-0000-000000000000")
			return errors.Join(check(p.Name == "churn" && len(p.Spec.UserStories) == 1, "project %+v", p),
				check(errors.Is(missing, client.ErrNotFound), "unknown project: %v", missing))
		}},
		{"PATCH /api/v1/projects/{id}", func(ctx context.Context, w *world) error {
			status, tags := "on_hold", []string{"crm", "q3"}
			p, err := w.alice.UpdateProject(ctx, w.project, client.ProjectPatch{Status: &status, Tags: tags})
			return errors.Join(err, check(err == nil && p.Status == status && len(p.Tags) == 2 && p.Name == "churn", "updated %+v", p))
		}},
		{"POST /api/v1/projects/{id}/team", func(ctx context.Context, w *world) error {
			m, err := w.alice.AddTeamMember(ctx, w.project, client.TeamMemberInput{Name: "Ada", Role: "ml_engineer", ExperienceLevel: "senior", ContributionHours: 120})
			if err == nil {
				w.teamMember = m.ID
			}
			return err
		}},
		{"GET /api/v1/projects/{id}/team", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListTeam(ctx, w.project, client.PageRequest{})
			return errors.Join(err, check(err == nil && len(p.Items) == 1 && p.Items[0].Name == "Ada", "team %+v", p))
		}},
		{"DELETE /api/v1/projects/{id}/team/{member_id}", func(ctx context.Context, w *world) error {
			if err := w.alice.RemoveTeamMember(ctx, w.project, w.teamMember); err != nil {
				return err
			}
			n := 0
			for _, err := range w.alice.ListTeamAll(ctx, w.project) {
				if err != nil {
					return err
				}
				n++
			}
			return check(n == 0, "%d team members after removal", n)
		}},
		{"POST /api/v1/projects/{id}/process-metrics", func(ctx context.Context, w *world) error {
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			return w.alice.RecordProcessMetrics(ctx, w.project, []client.ProcessMetricPoint{
				{MetricType: "velocity", Value: 21.5, Timestamp: &at}, {MetricType: "velocity", Value: 23},
				{MetricType: "bugs", Value: 4}})
		}},
		{"GET /api/v1/projects/{id}/process-metrics", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListProcessMetrics(ctx, w.project, "velocity", client.PageRequest{Limit: 1})
			if err != nil {
				return err
			}
			n := 0
			for _, err := range w.alice.ListProcessMetricsAll(ctx, w.project, "") {
				if err != nil {
					return err
				}
				n++
			}
			return check(len(p.Items) == 1 && p.NextCursor != "" && n == 3, "process metrics %+v, all %d", p, n)
		}},
		{"GET /api/v1/projects/{id}/process-metrics/summary", func(ctx context.Context, w *world) error {
			s, err := w.alice.SummarizeProcessMetrics(ctx, w.project)
			return errors.Join(err, check(err == nil && len(s.Metrics) == 2, "summary %+v", s))
		}},
		{"POST /api/v1/projects/{id}/experiments", func(ctx context.Context, w *world) error {
			e, err := w.alice.CreateExperiment(ctx, w.project, client.ExperimentInput{Name: "baseline", Description: "logistic regression"})
			if err == nil {
				w.experiment = e.ID
			}
			return err
		}},
		{"GET /api/v1/projects/{id}/experiments", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListExperiments(ctx, w.project, client.ExperimentListFilter{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListExperimentsAll(ctx, w.project, client.ExperimentListFilter{}))
			return errors.Join(err, check(len(p.Items) == 1 && p.Items[0].ID == w.experiment && n == 1, "experiments %+v, %d", p, n))
		}},
		{"GET /api/v1/experiments/{id}", func(ctx context.Context, w *world) error {
			e, err := w.alice.GetExperiment(ctx, w.experiment)
			return errors.Join(err, check(err == nil && e.ProjectID == w.project, "experiment %+v", e))
		}},
		{"GET /api/v1/experiments", func(ctx context.Context, w *world) error {
			p, err := w.alice.SearchExperiments(ctx, client.ExperimentFilter{ProjectID: w.project, Q: "BASE"})
			if err != nil {
				return err
			}
			n, err := count(w.alice.SearchExperimentsAll(ctx, client.ExperimentFilter{Lifecycle: "deleted"}))
			if err != nil {
				return err
			}
			_, missing := w.alice.SearchExperiments(ctx, client.ExperimentFilter{ProjectID: "00000000-0000-0000-0000-000000000000"})
			return errors.Join(check(len(p.Items) == 1 && p.Items[0].ID == w.experiment && p.Items[0].Lifecycle == "active" && n == 0, "experiments %+v, deleted %d", p, n),
				check(errors.Is(missing, client.ErrNotFound), "unknown project: %v", missing))
		}},
		{"PATCH /api/v1/experiments/{id}", func(ctx context.Context, w *world) error {
			desc := "logistic regression, class weights"
			e, err := w.alice.UpdateExperiment(ctx, w.experiment, client.ExperimentPatch{Description: &desc})
			if err != nil {
				return err
			}
			if _, err := w.alice.CreateExperiment(ctx, w.project, client.ExperimentInput{Name: "other"}); err != nil {
				return err
			}
			_, dup := w.alice.UpdateExperiment(ctx, w.experiment, client.ExperimentPatch{Name: ptr("other")})
			return errors.Join(check(e.Description == desc && e.Name == "baseline", "updated %+v", e),
				check(errors.Is(dup, client.ErrConflict), "duplicate name: %v", dup))
		}},
		{"POST /api/v1/experiments/{id}/runs", func(ctx context.Context, w *world) error {
			r, err := w.alice.CreateRun(ctx, w.experiment, client.RunInput{Name: "lr-0.1", Params: map[string]string{"lr": "0.1"}})
			if err == nil {
				w.run = r.ID
			}
			return err
		}},
		{"GET /api/v1/experiments/{id}/runs", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListRuns(ctx, w.experiment, client.RunFilter{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListRunsAll(ctx, w.experiment, client.RunFilter{}))
			return errors.Join(err, check(len(p.Items) == 1 && p.Items[0].Params["lr"] == "0.1" && n == 1, "runs %+v, %d", p, n))
		}},
		{"GET /api/v1/runs/{id}", func(ctx context.Context, w *world) error {
			r, err := w.alice.GetRun(ctx, w.run)
			return errors.Join(err, check(err == nil && r.Status == "running", "run %+v", r))
		}},
		{"POST /api/v1/runs/{id}/metrics", func(ctx context.Context, w *world) error {
			var pts []client.MetricPoint
			for i := range 50 {
				pts = append(pts, client.MetricPoint{Key: "val/loss", Value: 1 / float64(i+1), Step: i},
					client.MetricPoint{Key: "accuracy", Value: float64(i) / 50, Step: i})
			}
			return w.alice.LogMetrics(ctx, w.run, pts)
		}},
		{"GET /api/v1/runs/{id}/metrics", func(ctx context.Context, w *world) error {
			var keys []string
			for m, err := range w.alice.ListMetricsAll(ctx, w.run) {
				if err != nil {
					return err
				}
				keys = append(keys, fmt.Sprintf("%s:%d:%d", m.Key, m.Count, m.LastStep))
			}
			slices.Sort(keys)
			return check(slices.Equal(keys, []string{"accuracy:50:49", "val/loss:50:49"}), "metrics %v", keys)
		}},
		{"GET /api/v1/runs/{id}/metrics/{key...}", func(ctx context.Context, w *world) error {
			h, err := w.alice.MetricHistory(ctx, w.run, "val/loss", 5)
			if err != nil {
				return err
			}
			n := len(h.Points)
			return check(h.Key == "val/loss" && n >= 2 && n <= 5 && h.Points[0].Step == 0 && h.Points[n-1].Step == 49, "history %+v", h)
		}},
		{"PATCH /api/v1/runs/{id}", func(ctx context.Context, w *world) error {
			r, err := w.alice.UpdateRun(ctx, w.run, client.RunPatch{Status: "finished"})
			if err != nil {
				return err
			}
			end := r.StartedAt.Add(90 * time.Second)
			r2, err := w.alice.UpdateRun(ctx, w.run, client.RunPatch{Name: "lr-0.1-final", EndedAt: &end, Params: map[string]string{"epochs": "50"}})
			if err != nil {
				return err
			}
			_, changed := w.alice.UpdateRun(ctx, w.run, client.RunPatch{Params: map[string]string{"lr": "0.2"}})
			return errors.Join(check(r.EndedAt != nil && r2.Status == "finished" && r2.Name == "lr-0.1-final" && r2.EndedAt.Equal(end) &&
				r2.Params["lr"] == "0.1" && r2.Params["epochs"] == "50", "runs %+v %+v", r, r2),
				check(errors.Is(changed, client.ErrInvalid), "changed parameter: %v", changed))
		}},
		{"PUT /api/v1/runs/{id}/tags/{key...}", func(ctx context.Context, w *world) error {
			first, err := w.alice.SetRunTag(ctx, w.run, "team/owner", "ada")
			if err != nil {
				return err
			}
			r, err := w.alice.SetRunTag(ctx, w.run, "stage", "candidate")
			if err != nil {
				return err
			}
			return check(len(first.Tags) == 1 && first.Tags["team/owner"] == "ada" && r.Tags["team/owner"] == "ada" && r.Tags["stage"] == "candidate", "tags %v, then %v", first.Tags, r.Tags)
		}},
		{"DELETE /api/v1/runs/{id}/tags/{key...}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteRunTag(ctx, w.run, "stage"); err != nil {
				return err
			}
			r, err := w.alice.GetRun(ctx, w.run)
			return errors.Join(err, check(err == nil && len(r.Tags) == 1 && r.Tags["team/owner"] == "ada", "tags %+v", r))
		}},
		{"POST /api/v1/experiments/{id}/runs/search", func(ctx context.Context, w *world) error {
			other, err := w.alice.CreateRun(ctx, w.experiment, client.RunInput{Name: "lr-0.01", Params: map[string]string{"lr": "0.01"}})
			if err != nil {
				return err
			}
			w.otherRun = other.ID
			if err := w.alice.LogMetrics(ctx, other.ID, []client.MetricPoint{{Key: "accuracy", Value: 0.5, Step: 3}}); err != nil {
				return err
			}
			good, err := w.alice.SearchRuns(ctx, w.experiment, client.RunSearch{Status: []string{"finished"},
				Filter: []client.RunClause{client.MetricClause("accuracy", ">", 0.9), client.TagClause("team/owner", "=", "ada")}})
			if err != nil {
				return err
			}
			var order []string
			for r, err := range w.alice.SearchRunsAll(ctx, w.experiment, client.RunSearch{Limit: 1,
				Filter: []client.RunClause{client.ParamClause("lr", "!=", "1")}, OrderBy: []client.RunOrder{{Metric: "accuracy", Direction: "desc"}}}) {
				if err != nil {
					return err
				}
				order = append(order, r.ID)
			}
			_, bad := w.alice.SearchRuns(ctx, w.experiment, client.RunSearch{Filter: []client.RunClause{client.ParamClause("lr", "<", "1")}})
			return errors.Join(check(len(good.Items) == 1 && good.Items[0].ID == w.run && good.NextCursor == "", "search %+v", good),
				check(slices.Equal(order, []string{w.run, other.ID}), "by accuracy %v", order),
				check(errors.Is(bad, client.ErrInvalid), "< on a parameter: %v", bad))
		}},
		{"POST /api/v1/runs/metrics/latest", func(ctx context.Context, w *world) error {
			rs, err := w.alice.LatestMetrics(ctx, []string{w.otherRun, "00000000-0000-0000-0000-000000000000", w.run}, []string{"accuracy", "val/loss"})
			if err != nil {
				return err
			}
			return check(len(rs) == 2 && rs[0].RunID == w.otherRun && rs[0].Metrics["accuracy"].Value == 0.5 && len(rs[0].Metrics) == 1 &&
				rs[1].RunID == w.run && rs[1].Metrics["accuracy"].Step == 49 && rs[1].Metrics["val/loss"].Value == 1.0/50, "latest %+v", rs)
		}},
		{"DELETE /api/v1/runs/{id}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteRun(ctx, w.otherRun); err != nil {
				return err
			}
			n, err := count(w.alice.ListRunsAll(ctx, w.experiment, client.RunFilter{}))
			if err != nil {
				return err
			}
			deleted, err := w.alice.SearchRuns(ctx, w.experiment, client.RunSearch{Lifecycle: "deleted"})
			if err != nil {
				return err
			}
			listed, err := w.alice.ListRuns(ctx, w.experiment, client.RunFilter{Lifecycle: "deleted"})
			if err != nil {
				return err
			}
			every, err := count(w.alice.ListRunsAll(ctx, w.experiment, client.RunFilter{Lifecycle: "all", PageRequest: client.PageRequest{Limit: 1}}))
			if err != nil {
				return err
			}
			return errors.Join(check(n == 1 && len(deleted.Items) == 1 && deleted.Items[0].ID == w.otherRun && deleted.Items[0].Lifecycle == "deleted",
				"active %d, deleted %+v", n, deleted),
				check(len(listed.Items) == 1 && listed.Items[0].ID == w.otherRun && listed.Items[0].Lifecycle == "deleted" && every == 2,
					"listed deleted %+v, all %d", listed, every))
		}},
		{"POST /api/v1/runs/{id}/restore", func(ctx context.Context, w *world) error {
			r, err := w.alice.RestoreRun(ctx, w.otherRun)
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListRunsAll(ctx, w.experiment, client.RunFilter{}))
			return errors.Join(err, check(r.Lifecycle == "active" && n == 2, "restored %+v, %d runs", r, n))
		}},
		{"DELETE /api/v1/experiments/{id}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteExperiment(ctx, w.experiment); err != nil {
				return err
			}
			n, err := count(w.alice.ListExperimentsAll(ctx, w.project, client.ExperimentListFilter{}))
			if err != nil {
				return err
			}
			deleted, err := w.alice.ListExperiments(ctx, w.project, client.ExperimentListFilter{Lifecycle: "deleted", Q: "BASE"})
			if err != nil {
				return err
			}
			every, err := count(w.alice.ListExperimentsAll(ctx, w.project, client.ExperimentListFilter{Lifecycle: "all", PageRequest: client.PageRequest{Limit: 1}}))
			if err != nil {
				return err
			}
			e, err := w.alice.GetExperiment(ctx, w.experiment)
			return errors.Join(err, check(err == nil && e.Lifecycle == "deleted" && n == 1, "deleted %+v, %d listed", e, n),
				check(len(deleted.Items) == 1 && deleted.Items[0].ID == w.experiment && every == 2, "listed deleted %+v, all %d", deleted, every))
		}},
		{"POST /api/v1/experiments/{id}/restore", func(ctx context.Context, w *world) error {
			e, err := w.alice.RestoreExperiment(ctx, w.experiment)
			if err != nil {
				return err
			}
			r, err := w.alice.GetRun(ctx, w.run)
			return errors.Join(err, check(err == nil && e.Lifecycle == "active" && r.Lifecycle == "active", "restored %+v, run %+v", e, r))
		}},
		{"POST /api/v1/artifacts", func(ctx context.Context, w *world) error {
			a, err := w.alice.CreateArtifact(ctx, client.ArtifactInput{Name: "feature-store", Type: "feature_pipeline", Version: "1", Tags: []string{"fs"}})
			if err == nil {
				w.artifact = a.ID
			}
			return err
		}},
		{"GET /api/v1/artifacts", func(ctx context.Context, w *world) error {
			p, err := w.alice.SearchArtifacts(ctx, client.ArtifactFilter{Type: "feature_pipeline", Tag: "fs"})
			if err != nil {
				return err
			}
			n := 0
			for _, err := range w.alice.SearchArtifactsAll(ctx, client.ArtifactFilter{Type: "notebook"}) {
				if err != nil {
					return err
				}
				n++
			}
			return check(len(p.Items) == 1 && n == 0, "artifacts %+v, notebooks %d", p, n)
		}},
		{"PUT /api/v1/artifacts/{id}/content", func(ctx context.Context, w *world) error {
			a, err := w.alice.UploadArtifactContent(ctx, w.artifact, strings.NewReader("feature store code"))
			return errors.Join(err, check(err == nil && a.SizeBytes == 18 && a.ContentSHA256 != "", "uploaded %+v", a))
		}},
		{"GET /api/v1/artifacts/{id}/content", func(ctx context.Context, w *world) error {
			rc, err := w.alice.DownloadArtifactContent(ctx, w.artifact)
			if err != nil {
				return err
			}
			defer rc.Close()
			b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
			return errors.Join(err, check(string(b) == "feature store code", "content %q", b))
		}},
		{"POST /api/v1/artifacts/{id}/usages", func(ctx context.Context, w *world) error {
			_, err := w.alice.RecordArtifactUsage(ctx, w.artifact, client.ArtifactUsageInput{ProjectID: w.project, ImpactScore: 80, Context: "features"})
			return err
		}},
		{"GET /api/v1/artifacts/{id}/usages", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListArtifactUsages(ctx, w.artifact, client.PageRequest{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListArtifactUsagesAll(ctx, w.artifact))
			return errors.Join(err, check(len(p.Items) == 1 && p.Items[0].ProjectID == w.project && n == 1, "usages %+v, %d", p, n))
		}},
		{"GET /api/v1/artifacts/{id}", func(ctx context.Context, w *world) error {
			a, err := w.alice.GetArtifact(ctx, w.artifact)
			return errors.Join(err, check(err == nil && a.UsageCount == 1 && a.AvgImpactScore != nil && *a.AvgImpactScore == 80, "artifact %+v", a))
		}},
		{"GET /api/v1/artifacts/top", func(ctx context.Context, w *world) error {
			top, err := w.alice.TopArtifacts(ctx, "", 3)
			return errors.Join(err, check(err == nil && len(top) == 1 && top[0].ID == w.artifact, "top %+v", top))
		}},
		{"POST /api/v1/models", func(ctx context.Context, w *world) error {
			m, err := w.alice.CreateModel(ctx, client.ModelInput{Name: "churn-model", Description: "gbm"})
			return errors.Join(err, check(err == nil && m.LatestVersion == 0, "model %+v", m))
		}},
		{"GET /api/v1/models", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListModels(ctx, client.PageRequest{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListModelsAll(ctx))
			return errors.Join(err, check(len(p.Items) == 1 && n == 1, "models %+v, %d", p, n))
		}},
		{"POST /api/v1/models/{name}/versions", func(ctx context.Context, w *world) error {
			for range 2 {
				if _, err := w.alice.CreateModelVersion(ctx, "churn-model", client.ModelVersionInput{Source: "s3://models/churn", RunID: w.run}); err != nil {
					return err
				}
			}
			return nil
		}},
		{"GET /api/v1/models/{name}", func(ctx context.Context, w *world) error {
			m, err := w.alice.GetModel(ctx, "churn-model")
			return errors.Join(err, check(err == nil && m.LatestVersion == 2, "model %+v", m))
		}},
		{"GET /api/v1/models/{name}/versions", func(ctx context.Context, w *world) error {
			n := 0
			for v, err := range w.alice.ListModelVersionsAll(ctx, "churn-model") {
				if err != nil {
					return err
				}
				n += v.Version
			}
			return check(n == 3, "versions sum %d", n)
		}},
		{"GET /api/v1/models/{name}/versions/{version}", func(ctx context.Context, w *world) error {
			v, err := w.alice.GetModelVersion(ctx, "churn-model", 2)
			return errors.Join(err, check(err == nil && v.Version == 2 && v.RunID != nil && *v.RunID == w.run, "version %+v", v))
		}},
		{"PATCH /api/v1/models/{name}/versions/{version}", func(ctx context.Context, w *world) error {
			v, err := w.alice.UpdateModelVersion(ctx, "churn-model", 2, client.ModelVersionUpdate{Description: ptr("tuned"), Stage: ptr("staging")})
			return errors.Join(err, check(err == nil && v.Stage == "Staging" && v.Description == "tuned" && v.Source == "s3://models/churn", "updated version %+v", v))
		}},
		{"PUT /api/v1/models/{name}/versions/{version}/tags/{key...}", func(ctx context.Context, w *world) error {
			v, err := w.alice.SetModelVersionTag(ctx, "churn-model", 2, "validated", "yes")
			return errors.Join(err, check(err == nil && v.Tags["validated"] == "yes", "tagged version %+v", v))
		}},
		{"DELETE /api/v1/models/{name}/versions/{version}/tags/{key...}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteModelVersionTag(ctx, "churn-model", 2, "validated"); err != nil {
				return err
			}
			v, err := w.alice.GetModelVersion(ctx, "churn-model", 2)
			return errors.Join(err, check(err == nil && len(v.Tags) == 0, "untagged version %+v", v))
		}},
		{"PUT /api/v1/models/{name}/tags/{key...}", func(ctx context.Context, w *world) error {
			m, err := w.alice.SetModelTag(ctx, "churn-model", "team", "growth")
			return errors.Join(err, check(err == nil && m.Tags["team"] == "growth", "tagged model %+v", m))
		}},
		{"DELETE /api/v1/models/{name}/tags/{key...}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteModelTag(ctx, "churn-model", "team"); err != nil {
				return err
			}
			again := w.alice.DeleteModelTag(ctx, "churn-model", "team")
			return check(errors.Is(again, client.ErrNotFound), "deleting a deleted tag: %v", again)
		}},
		{"PUT /api/v1/models/{name}/aliases/{alias}", func(ctx context.Context, w *world) error {
			a, err := w.alice.SetModelAlias(ctx, "churn-model", "champion", 1)
			return errors.Join(err, check(err == nil && a.Version == 1, "alias %+v", a))
		}},
		{"GET /api/v1/models/{name}/aliases", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListModelAliases(ctx, "churn-model", client.PageRequest{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListModelAliasesAll(ctx, "churn-model"))
			return errors.Join(err, check(len(p.Items) == 1 && p.Items[0].Alias == "champion" && n == 1, "aliases %+v, %d", p, n))
		}},
		{"GET /api/v1/models/{name}/aliases/{alias}", func(ctx context.Context, w *world) error {
			v, err := w.alice.GetModelAlias(ctx, "churn-model", "champion")
			return errors.Join(err, check(err == nil && v.Version == 1 && v.Alias == "champion", "aliased %+v", v))
		}},
		{"DELETE /api/v1/models/{name}/aliases/{alias}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteModelAlias(ctx, "churn-model", "champion"); err != nil {
				return err
			}
			_, gone := w.alice.GetModelAlias(ctx, "churn-model", "champion")
			return check(errors.Is(gone, client.ErrNotFound), "deleted alias: %v", gone)
		}},
		{"PATCH /api/v1/models/{name}", func(ctx context.Context, w *world) error {
			m, err := w.alice.UpdateModel(ctx, "churn-model", client.ModelUpdate{Name: ptr("churn"), Description: ptr("weekly churn")})
			if err != nil {
				return err
			}
			v, err := w.alice.GetModelVersion(ctx, "churn", 2) // versions follow the rename
			return errors.Join(err, check(err == nil && m.Name == "churn" && m.Description == "weekly churn" && v.ModelID == m.ID, "renamed %+v, version %+v", m, v))
		}},
		{"DELETE /api/v1/models/{name}/versions/{version}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteModelVersion(ctx, "churn", 2); err != nil {
				return err
			}
			next, err := w.alice.CreateModelVersion(ctx, "churn", client.ModelVersionInput{Source: "s3://models/churn-3"})
			return errors.Join(err, check(err == nil && next.Version == 3, "the number after a deleted version: %+v", next))
		}},
		{"DELETE /api/v1/models/{name}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteModel(ctx, "churn"); err != nil {
				return err
			}
			_, gone := w.alice.GetModel(ctx, "churn")
			return check(errors.Is(gone, client.ErrNotFound), "deleted model: %v", gone)
		}},
		{"PUT /api/v1/projects/{id}/outcome", func(ctx context.Context, w *world) error {
			ids, err := seedHistory(ctx, w.alice, 24)
			w.history = ids
			if err != nil {
				return err
			}
			p, err := w.alice.GetProject(ctx, ids[0])
			return errors.Join(err, check(err == nil && p.Status == "completed" && p.SuccessScore != nil, "completed %+v", p))
		}},
		{"POST /api/v1/meta-models/train", func(ctx context.Context, w *world) error {
			j, err := w.alice.TrainMetaModel(ctx)
			if err != nil {
				return err
			}
			w.job = j.ID
			return check(j.Status == client.JobQueued || j.Status == client.JobRunning, "new job %+v", j)
		}},
		{"GET /api/v1/meta-models/jobs/{id}", func(ctx context.Context, w *world) error {
			j, err := w.alice.WaitTrainingJob(ctx, w.job, 20*time.Millisecond)
			if err != nil {
				return err
			}
			w.firstModel = j.Model.Version
			// A second model, so that rollback has one to go back to.
			j2, err := w.alice.TrainMetaModel(ctx)
			if err != nil {
				return err
			}
			if j2, err = w.alice.WaitTrainingJob(ctx, j2.ID, 20*time.Millisecond); err != nil {
				return err
			}
			return check(j.Done() && j.Progress == 1 && j.Model.NProjects == 24 && j2.Model.Version == j.Model.Version+1, "jobs %+v %+v", j, j2)
		}},
		{"GET /api/v1/meta-models", func(ctx context.Context, w *world) error {
			var active []int
			for m, err := range w.alice.ListMetaModelsAll(ctx) {
				if err != nil {
					return err
				}
				if m.Active {
					active = append(active, m.Version)
				}
			}
			return check(slices.Equal(active, []int{w.firstModel + 1}), "active %v", active)
		}},
		{"GET /api/v1/meta-models/{version}", func(ctx context.Context, w *world) error {
			m, err := w.alice.GetMetaModel(ctx, w.firstModel)
			if err != nil {
				return err
			}
			_, missing := w.alice.GetMetaModel(ctx, w.firstModel+100)
			return errors.Join(check(m.Version == w.firstModel && !m.Active && m.NProjects == 24, "meta-model %+v", m),
				check(errors.Is(missing, client.ErrNotFound), "unknown version: %v", missing))
		}},
		{"POST /api/v1/meta-models/{version}/pin", func(ctx context.Context, w *world) error {
			m, err := w.alice.PinMetaModel(ctx, w.firstModel)
			return errors.Join(err, check(err == nil && m.Pinned && m.Active, "pinned %+v", m))
		}},
		{"DELETE /api/v1/meta-models/pin", func(ctx context.Context, w *world) error {
			return w.alice.UnpinMetaModel(ctx)
		}},
		{"POST /api/v1/meta-models/rollback", func(ctx context.Context, w *world) error {
			m, err := w.alice.RollbackMetaModel(ctx)
			return errors.Join(err, check(err == nil && m.Version == w.firstModel && m.Active, "rolled back to %+v", m))
		}},
		{"POST /api/v1/recommendations", func(ctx context.Context, w *world) error {
			size := 3
			r, err := w.alice.Recommend(ctx, client.RecommendationRequest{ProblemClass: "classification", ComplexityScore: ptr(3.0), TeamSize: &size})
			return errors.Join(err, check(err == nil && r.ModelVersion == w.firstModel && r.Interval.Low != nil && r.PredictionID == "", "recommendation %+v", r))
		}},
		{"POST /api/v1/projects/{id}/recommendations", func(ctx context.Context, w *world) error {
			r, err := w.alice.RecommendProject(ctx, w.project)
			return errors.Join(err, check(err == nil && r.PredictionID != "", "stored recommendation %+v", r))
		}},
		{"GET /api/v1/projects/{id}/predictions", func(ctx context.Context, w *world) error {
			p, err := w.alice.ListPredictions(ctx, w.project, client.PageRequest{})
			if err != nil {
				return err
			}
			n, err := count(w.alice.ListPredictionsAll(ctx, w.project))
			return errors.Join(err, check(len(p.Items) == 1 && p.Items[0].ProjectID == w.project && n == 1, "predictions %+v, %d", p, n))
		}},
		{"GET /api/v1/projects/{id}/similar", func(ctx context.Context, w *world) error {
			ms, err := w.alice.SimilarProjects(ctx, w.history[0], 3)
			return errors.Join(err, check(err == nil && len(ms) == 3 && ms[0].Similarity >= ms[2].Similarity, "similar %+v", ms))
		}},
		{"POST /api/v1/specs/similar", func(ctx context.Context, w *world) error {
			ms, err := w.alice.SimilarSpecs(ctx, client.SimilarSpecsRequest{Text: "churn risk of each customer", Limit: ptr(2)})
			return errors.Join(err, check(err == nil && len(ms) >= 1 && len(ms) <= 2, "similar specs %+v", ms))
		}},
		{"POST /api/v1/specs/overlap", func(ctx context.Context, w *world) error {
			r, err := w.alice.SpecOverlap(ctx, client.OverlapRequest{ProjectID: w.project,
				Spec: &client.SpecInput{UserStories: []string{"As an analyst I see the churn risk of each customer"}}})
			return errors.Join(err, check(err == nil && r.Sections["user_stories"].Reused == 1, "overlap %+v", r))
		}},
		{"DELETE /api/v1/artifacts/{id}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteArtifact(ctx, w.artifact); err != nil {
				return err
			}
			_, gone := w.alice.GetArtifact(ctx, w.artifact)
			return check(errors.Is(gone, client.ErrNotFound), "deleted artifact: %v", gone)
		}},
		{"DELETE /api/v1/projects/{id}", func(ctx context.Context, w *world) error {
			if err := w.alice.DeleteProject(ctx, w.project); err != nil {
				return err
			}
			_, gone := w.alice.GetExperiment(ctx, w.experiment)
			return check(errors.Is(gone, client.ErrNotFound), "experiment of a deleted project: %v", gone)
		}},
		{"DELETE /api/v1/auth/api-keys/{id}", func(ctx context.Context, w *world) error {
			return w.alice.DeleteAPIKey(ctx, w.apiKey)
		}},
		{"POST /api/v1/auth/password", func(ctx context.Context, w *world) error {
			next := memberPassword + "-2"
			if err := w.alice.ChangePassword(ctx, memberPassword, next); err != nil {
				return err
			}
			_, old := w.alice.Login(ctx, "alice", memberPassword, w.home.Slug)
			if !errors.Is(old, client.ErrUnauthorized) {
				return fmt.Errorf("old password: %v", old)
			}
			_, err := w.alice.Login(ctx, "alice", next, w.home.Slug)
			return err
		}},
		{"POST /api/v1/auth/logout", func(ctx context.Context, w *world) error {
			spent := w.alice.Tokens()
			if err := w.alice.Logout(ctx); err != nil {
				return err
			}
			plain, err := client.New(w.ts.url, client.WithHTTPClient(w.contract.client()))
			if err != nil {
				return err
			}
			_, refused := plain.Refresh(ctx, spent.RefreshToken)
			return check(errors.Is(refused, client.ErrUnauthorized) && w.alice.Tokens() == client.TokenPair{}, "refresh after logout: %v", refused)
		}},
		{"DELETE /api/v1/tenants/{id}/members/{user_id}", func(ctx context.Context, w *world) error {
			return w.admin.RemoveMember(ctx, w.home.ID, w.aliceID)
		}},
		{"DELETE /api/v1/tenants/{id}", func(ctx context.Context, w *world) error {
			if err := w.admin.DeleteTenant(ctx, w.beta.ID); err != nil {
				return err
			}
			_, gone := w.admin.GetTenant(ctx, w.beta.ID)
			return check(errors.Is(gone, client.ErrNotFound), "deleted tenant: %v", gone)
		}},
	}
}

// count counts the items of seq, stopping at its first error.
func count[T any](seq iter.Seq2[T, error]) (int, error) {
	n := 0
	for _, err := range seq {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// seedHistory creates n completed projects whose outcome falls with
// complexity, enough history to train a meta-model on, and returns their
// ids.
func seedHistory(ctx context.Context, c *client.Client, n int) ([]string, error) {
	classes := []string{"classification", "regression", "forecasting"}
	var ids []string
	for i := range n {
		complexity := 1 + i%10
		team := 1 + (i*7)%8
		p, err := c.CreateProject(ctx, client.ProjectInput{Name: fmt.Sprintf("History %d", i), ProblemClass: classes[i%3],
			ComplexityScore: complexity, TeamSize: team, Description: fmt.Sprintf("customer churn history number %d", i)})
		if err != nil {
			return ids, err
		}
		ids = append(ids, p.ID)
		fit := float64(team) - 0.6*float64(complexity)
		perf := max(0.05, min(1, 0.97-0.05*float64(complexity)-0.01*fit*fit+0.01*float64(i%3)))
		if _, err := c.RecordOutcome(ctx, p.ID, client.OutcomeInput{ModelPerformance: ptr(perf),
			BusinessImpact: ptr(20000 * float64(11-complexity)), DeploymentDays: ptr(5 * float64(complexity)),
			ComputeCost: ptr(300 * float64(complexity))}); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// TestEveryRoute calls every route of platform.Routes through the client,
// on SQLite and on PostgreSQL when it is available, with every request
// and answer validated against openapi.json; it fails naming a route the
// table does not call, or a row whose call did not reach its route.
func TestEveryRoute(t *testing.T) {
	t.Parallel()
	var want, have []string
	for _, r := range platform.Routes() {
		want = append(want, r.Pattern)
	}
	for _, c := range calls() {
		have = append(have, c.route)
	}
	slices.Sort(have)
	if !slices.Equal(want, have) {
		for _, p := range want {
			if !slices.Contains(have, p) {
				t.Errorf("no client call in the table for %s", p)
			}
		}
		for _, p := range have {
			if !slices.Contains(want, p) {
				t.Errorf("the table calls %s, which is no route", p)
			}
		}
		t.FailNow()
	}
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newServer(t, open(t))
			ct := newContract(t)
			admin, err := client.New(ts.url, client.WithHTTPClient(ct.client()), client.WithLogin("admin", adminPassword, ""))
			if err != nil {
				t.Fatal(err)
			}
			w := &world{t: t, ts: ts, admin: admin, contract: ct}
			ctx := context.Background()
			for _, c := range calls() {
				before := ct.count(c.route)
				if err := c.do(ctx, w); err != nil {
					t.Fatalf("%s: %v", c.route, err)
				}
				if ct.count(c.route) == before {
					t.Fatalf("%s: the call did not reach the route", c.route)
				}
			}
		})
	}
}

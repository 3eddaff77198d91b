package platform

import (
	"context"
	"testing"

	"github.com/maestro-ml/maestro/tenancy"
)

// The registry's and the learning routes' cases of the cross-tenant
// suite (crosstenant_test.go): tenant A's admin calls every route with an
// id using tenant B's ids and must get 404.
func init() {
	outcome := map[string]any{"model_performance": 0.5, "business_impact": 1, "deployment_days": 1, "compute_cost": 1}
	addCrossTenantCases(map[string]crossTenantCase{
		"GET /api/v1/projects/{id}":                                     {path: "/api/v1/projects/{project}"},
		"PATCH /api/v1/projects/{id}":                                   {path: "/api/v1/projects/{project}", body: map[string]any{"name": "stolen"}},
		"DELETE /api/v1/projects/{id}":                                  {path: "/api/v1/projects/{project}"},
		"PUT /api/v1/projects/{id}/outcome":                             {path: "/api/v1/projects/{project}/outcome", body: outcome},
		"POST /api/v1/projects/{id}/team":                               {path: "/api/v1/projects/{project}/team", body: map[string]any{"name": "M", "role": "r", "experience_level": "mid"}},
		"GET /api/v1/projects/{id}/team":                                {path: "/api/v1/projects/{project}/team"},
		"DELETE /api/v1/projects/{id}/team/{member_id}":                 {path: "/api/v1/projects/{project}/team/{team_member}"},
		"POST /api/v1/projects/{id}/process-metrics":                    {path: "/api/v1/projects/{project}/process-metrics", body: []map[string]any{{"metric_type": "commits", "value": 1}}},
		"GET /api/v1/projects/{id}/process-metrics":                     {path: "/api/v1/projects/{project}/process-metrics"},
		"GET /api/v1/projects/{id}/process-metrics/summary":             {path: "/api/v1/projects/{project}/process-metrics/summary"},
		"POST /api/v1/projects/{id}/experiments":                        {path: "/api/v1/projects/{project}/experiments", body: map[string]any{"name": "intruder"}},
		"GET /api/v1/projects/{id}/experiments":                         {path: "/api/v1/projects/{project}/experiments"},
		"GET /api/v1/projects/{id}/predictions":                         {path: "/api/v1/projects/{project}/predictions"},
		"POST /api/v1/projects/{id}/recommendations":                    {path: "/api/v1/projects/{project}/recommendations"},
		"GET /api/v1/projects/{id}/similar":                             {path: "/api/v1/projects/{project}/similar"},
		"GET /api/v1/experiments/{id}":                                  {path: "/api/v1/experiments/{experiment}"},
		"POST /api/v1/experiments/{id}/runs":                            {path: "/api/v1/experiments/{experiment}/runs", body: map[string]any{}},
		"GET /api/v1/experiments/{id}/runs":                             {path: "/api/v1/experiments/{experiment}/runs"},
		"GET /api/v1/runs/{id}":                                         {path: "/api/v1/runs/{run}"},
		"PATCH /api/v1/runs/{id}":                                       {path: "/api/v1/runs/{run}", body: map[string]any{"status": "killed"}},
		"POST /api/v1/runs/{id}/metrics":                                {path: "/api/v1/runs/{run}/metrics", body: []map[string]any{{"key": "loss", "value": 1}}},
		"GET /api/v1/runs/{id}/metrics":                                 {path: "/api/v1/runs/{run}/metrics"},
		"GET /api/v1/runs/{id}/metrics/{key...}":                        {path: "/api/v1/runs/{run}/metrics/loss"},
		"GET /api/v1/artifacts/{id}":                                    {path: "/api/v1/artifacts/{artifact}"},
		"DELETE /api/v1/artifacts/{id}":                                 {path: "/api/v1/artifacts/{artifact}"},
		"PUT /api/v1/artifacts/{id}/content":                            {path: "/api/v1/artifacts/{artifact}/content", body: "overwritten"},
		"GET /api/v1/artifacts/{id}/content":                            {path: "/api/v1/artifacts/{artifact}/content"},
		"POST /api/v1/artifacts/{id}/usages":                            {path: "/api/v1/artifacts/{artifact}/usages", body: map[string]any{"project_id": "00000000-0000-0000-0000-000000000000"}},
		"GET /api/v1/artifacts/{id}/usages":                             {path: "/api/v1/artifacts/{artifact}/usages"},
		"GET /api/v1/models/{name}":                                     {path: "/api/v1/models/{model}"},
		"PATCH /api/v1/models/{name}":                                   {path: "/api/v1/models/{model}", body: map[string]any{"name": "stolen"}},
		"DELETE /api/v1/models/{name}":                                  {path: "/api/v1/models/{model}"},
		"PATCH /api/v1/models/{name}/versions/{version}":                {path: "/api/v1/models/{model}/versions/1", body: map[string]any{"description": "stolen"}},
		"DELETE /api/v1/models/{name}/versions/{version}":               {path: "/api/v1/models/{model}/versions/1"},
		"PUT /api/v1/models/{name}/tags/{key...}":                       {path: "/api/v1/models/{model}/tags/team", body: map[string]any{"value": "stolen"}},
		"DELETE /api/v1/models/{name}/tags/{key...}":                    {path: "/api/v1/models/{model}/tags/team"},
		"PUT /api/v1/models/{name}/versions/{version}/tags/{key...}":    {path: "/api/v1/models/{model}/versions/1/tags/ok", body: map[string]any{"value": "stolen"}},
		"DELETE /api/v1/models/{name}/versions/{version}/tags/{key...}": {path: "/api/v1/models/{model}/versions/1/tags/ok"},
		"POST /api/v1/models/{name}/versions":                           {path: "/api/v1/models/{model}/versions", body: map[string]any{"source": "s3://intruder"}},
		"GET /api/v1/models/{name}/versions":                            {path: "/api/v1/models/{model}/versions"},
		"GET /api/v1/models/{name}/versions/{version}":                  {path: "/api/v1/models/{model}/versions/1"},
		"GET /api/v1/models/{name}/aliases":                             {path: "/api/v1/models/{model}/aliases"},
		"PUT /api/v1/models/{name}/aliases/{alias}":                     {path: "/api/v1/models/{model}/aliases/prod", body: map[string]any{"version": 1}},
		"GET /api/v1/models/{name}/aliases/{alias}":                     {path: "/api/v1/models/{model}/aliases/prod"},
		"DELETE /api/v1/models/{name}/aliases/{alias}":                  {path: "/api/v1/models/{model}/aliases/prod"},
		// Tenant A has no meta-model; tenant B's version 1 is not A's.
		"POST /api/v1/meta-models/{version}/pin": {path: "/api/v1/meta-models/1/pin"},
		"GET /api/v1/meta-models/{version}":      {path: "/api/v1/meta-models/1"},
		"GET /api/v1/meta-models/jobs/{id}":      {path: "/api/v1/meta-models/jobs/{training_job}"},
	})
	addCrossTenantSetup(func(t testing.TB, f *crossTenantFixture) {
		// A training job of tenant B (it fails at once: B has no history).
		job, _, err := f.ts.s.learn.trainer.Start(tenancy.WithTenant(context.Background(), f.tenantB))
		if err != nil {
			t.Fatal(err)
		}
		f.ids["training_job"] = job.ID
		create := func(path string, body any) string {
			var out struct {
				ID string `json:"id"`
			}
			expect(t, f.ts.do("POST", path, f.tokenB, body), 201).json(t, &out)
			return out.ID
		}
		pid := create("/api/v1/projects", map[string]any{"name": "B's project", "problem_class": "nlp",
			"complexity_score": 4, "team_size": 2, "description": "tenant B's secret plans"})
		f.ids["project"] = pid
		f.ids["team_member"] = create("/api/v1/projects/"+pid+"/team", map[string]any{"name": "B", "role": "r", "experience_level": "mid"})
		f.ids["experiment"] = create("/api/v1/projects/"+pid+"/experiments", map[string]any{"name": "b-exp"})
		f.ids["run"] = create("/api/v1/experiments/"+f.ids["experiment"]+"/runs", map[string]any{})
		expect(t, f.ts.do("POST", "/api/v1/runs/"+f.ids["run"]+"/metrics", f.tokenB, []map[string]any{{"key": "loss", "value": 0.5}}), 204)
		f.ids["artifact"] = create("/api/v1/artifacts", map[string]any{"name": "b-art", "type": "dataset", "version": "1"})
		expect(t, f.ts.do("PUT", "/api/v1/artifacts/"+f.ids["artifact"]+"/content", f.tokenB, "tenant B's bytes"), 200)
		create("/api/v1/models", map[string]any{"name": "b-model"})
		f.ids["model"] = "b-model"
		expect(t, f.ts.do("POST", "/api/v1/models/b-model/versions", f.tokenB, map[string]any{"source": "s3://b/1"}), 201)
		expect(t, f.ts.do("PUT", "/api/v1/models/b-model/aliases/prod", f.tokenB, map[string]any{"version": 1}), 200)
		expect(t, f.ts.do("PUT", "/api/v1/models/b-model/tags/team", f.tokenB, map[string]any{"value": "b"}), 200)
		expect(t, f.ts.do("PUT", "/api/v1/models/b-model/versions/1/tags/ok", f.tokenB, map[string]any{"value": "b"}), 200)
	})
}

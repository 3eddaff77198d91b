package platform

import "testing"

// The run and experiment routes' cases of the cross-tenant suite
// (crosstenant_test.go), on tenant B's experiment and run of
// crosstenant_registry_test.go; B's run carries the tag "team".
func init() {
	addCrossTenantCases(map[string]crossTenantCase{
		"PATCH /api/v1/experiments/{id}":            {path: "/api/v1/experiments/{experiment}", body: map[string]any{"name": "stolen"}},
		"DELETE /api/v1/experiments/{id}":           {path: "/api/v1/experiments/{experiment}"},
		"POST /api/v1/experiments/{id}/restore":     {path: "/api/v1/experiments/{experiment}/restore"},
		"POST /api/v1/experiments/{id}/runs/search": {path: "/api/v1/experiments/{experiment}/runs/search", body: map[string]any{}},
		"DELETE /api/v1/runs/{id}":                  {path: "/api/v1/runs/{run}"},
		"POST /api/v1/runs/{id}/restore":            {path: "/api/v1/runs/{run}/restore"},
		"PUT /api/v1/runs/{id}/tags/{key...}":       {path: "/api/v1/runs/{run}/tags/team", body: map[string]any{"value": "stolen"}},
		"DELETE /api/v1/runs/{id}/tags/{key...}":    {path: "/api/v1/runs/{run}/tags/team"},
	})
	addCrossTenantSetup(func(t testing.TB, f *crossTenantFixture) {
		if f.ids["run"] == "" {
			t.Fatal("no run of tenant B: the registry's setup (an earlier file) must run first")
		}
		expect(t, f.ts.do("PUT", "/api/v1/runs/"+f.ids["run"]+"/tags/team", f.tokenB, map[string]any{"value": "b"}), 200)
	})
}

package platform

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// The cross-tenant suite: for EVERY route with a resource id in its path,
// a user of tenant A calls it with tenant B's ids and must get 404 — the
// answer for an unknown id — and B's data must be unchanged afterwards.
//
// Cases are keyed by route pattern, exactly as registered in the route
// table. TestCrossTenantSuiteCoversEveryRoute fails when a route with a
// path parameter has no case, so adding a route forces adding a case.
// Route groups add their cases (and the setup that creates tenant B's
// resources) from their own test files:
//
//	func init() {
//		addCrossTenantCases(map[string]crossTenantCase{
//			"GET /api/v1/projects/{id}": {path: "/api/v1/projects/{project}"},
//		})
//		addCrossTenantSetup(func(t testing.TB, f *crossTenantFixture) {
//			f.ids["project"] = ... // create it as f.tokenB
//		})
//	}

// crossTenantCase says how to call one route with tenant B's ids.
type crossTenantCase struct {
	// path is the request path; each {name} is replaced by f.ids[name], an
	// id of tenant B's resource.
	path string
	// body is the JSON request body, if the route takes one: a valid body,
	// so that only the foreign id can be the reason for the 404.
	body any
}

// crossTenantFixture holds two tenants, each with an admin (not a
// superadmin), and the ids of tenant B's resources.
type crossTenantFixture struct {
	ts             *testServer
	tenantA        string
	tenantB        string
	tokenA, tokenB string
	ids            map[string]string // tenant B's resources by placeholder name
}

var crossTenant = struct {
	mu     sync.Mutex
	cases  map[string]crossTenantCase
	setups []func(testing.TB, *crossTenantFixture)
}{cases: map[string]crossTenantCase{}}

// addCrossTenantCases registers cases; a pattern registered twice is a
// test bug and panics.
func addCrossTenantCases(cases map[string]crossTenantCase) {
	crossTenant.mu.Lock()
	defer crossTenant.mu.Unlock()
	for k, v := range cases {
		if _, dup := crossTenant.cases[k]; dup {
			panic("duplicate cross-tenant case " + k)
		}
		crossTenant.cases[k] = v
	}
}

// addCrossTenantSetup registers a function that creates tenant B's
// resources and records their ids in f.ids.
func addCrossTenantSetup(f func(testing.TB, *crossTenantFixture)) {
	crossTenant.mu.Lock()
	defer crossTenant.mu.Unlock()
	crossTenant.setups = append(crossTenant.setups, f)
}

func init() {
	addCrossTenantCases(map[string]crossTenantCase{
		"DELETE /api/v1/auth/api-keys/{id}":             {path: "/api/v1/auth/api-keys/{api_key}"},
		"GET /api/v1/tenants/{id}":                      {path: "/api/v1/tenants/{tenant}"},
		"PATCH /api/v1/tenants/{id}":                    {path: "/api/v1/tenants/{tenant}", body: map[string]string{"name": "stolen"}},
		"DELETE /api/v1/tenants/{id}":                   {path: "/api/v1/tenants/{tenant}"},
		"GET /api/v1/tenants/{id}/quota":                {path: "/api/v1/tenants/{tenant}/quota"},
		"PUT /api/v1/tenants/{id}/quota":                {path: "/api/v1/tenants/{tenant}/quota", body: map[string]any{"limits": map[string]int{"users": 0, "projects": 0, "artifacts": 0, "storage_bytes": 0, "metric_points": 0}}},
		"POST /api/v1/tenants/{id}/members":             {path: "/api/v1/tenants/{tenant}/members", body: map[string]string{"username": "intruder", "password": memberPassword, "role": "admin"}},
		"GET /api/v1/tenants/{id}/members":              {path: "/api/v1/tenants/{tenant}/members"},
		"PATCH /api/v1/tenants/{id}/members/{user_id}":  {path: "/api/v1/tenants/{tenant}/members/{user}", body: map[string]string{"role": "viewer"}},
		"DELETE /api/v1/tenants/{id}/members/{user_id}": {path: "/api/v1/tenants/{tenant}/members/{user}"},
	})
	addCrossTenantSetup(func(t testing.TB, f *crossTenantFixture) {
		f.ids["tenant"] = f.tenantB
		f.ids["user"] = f.ts.me(f.tokenB).User.ID
		var key apiKeyBody
		expect(t, f.ts.do("POST", "/api/v1/auth/api-keys", f.tokenB, map[string]any{"current_password": memberPassword, "name": "b-key"}), 201).json(t, &key)
		f.ids["api_key"] = key.ID
		f.ids["api_key_secret"] = key.Key
	})
}

// newCrossTenantFixture creates tenants A and B with an admin each and runs
// every registered setup.
func newCrossTenantFixture(t *testing.T, ts *testServer) *crossTenantFixture {
	t.Helper()
	root := ts.adminToken()
	f := &crossTenantFixture{ts: ts, ids: map[string]string{}}
	f.tenantA = ts.createTenant(root, "tenant-a")
	f.tenantB = ts.createTenant(root, "tenant-b")
	ts.addMember(root, f.tenantA, "admin-a", memberPassword, "admin")
	ts.addMember(root, f.tenantB, "admin-b", memberPassword, "admin")
	f.tokenA = ts.login("admin-a", memberPassword, "").AccessToken
	f.tokenB = ts.login("admin-b", memberPassword, "").AccessToken
	crossTenant.mu.Lock()
	setups := append([]func(testing.TB, *crossTenantFixture){}, crossTenant.setups...)
	crossTenant.mu.Unlock()
	for _, setup := range setups {
		setup(t, f)
	}
	return f
}

// routesWithIDs returns the registered patterns that carry a path
// parameter.
func routesWithIDs() []string {
	var out []string
	for _, r := range Routes() {
		if strings.Contains(r.Pattern, "{") {
			out = append(out, r.Pattern)
		}
	}
	return out
}

// accessOf returns the access rule of the route pattern.
func accessOf(pattern string) Access {
	for _, r := range Routes() {
		if r.Pattern == pattern {
			return r.Access
		}
	}
	panic("no route " + pattern)
}

// suiteGaps compares the route patterns that carry ids with the cases:
// missing are routes without a case, stale are cases without a route.
func suiteGaps(patterns []string, cases map[string]crossTenantCase) (missing, stale []string) {
	registered := map[string]bool{}
	for _, p := range patterns {
		registered[p] = true
		if _, ok := cases[p]; !ok {
			missing = append(missing, p)
		}
	}
	for p := range cases {
		if !registered[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	return missing, stale
}

func TestCrossTenantSuiteCoversEveryRoute(t *testing.T) {
	t.Parallel()
	crossTenant.mu.Lock()
	defer crossTenant.mu.Unlock()
	patterns := routesWithIDs()
	missing, stale := suiteGaps(patterns, crossTenant.cases)
	if len(missing) > 0 {
		t.Errorf("routes with a resource id but no cross-tenant case (add one with addCrossTenantCases):\n  %s",
			strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("cross-tenant cases for routes that are not registered:\n  %s", strings.Join(stale, "\n  "))
	}
	// The check itself: a new route with an id and no case is reported.
	missing, _ = suiteGaps(append(patterns, "GET /api/v1/widgets/{id}"), crossTenant.cases)
	if len(missing) != 1 || missing[0] != "GET /api/v1/widgets/{id}" {
		t.Fatalf("an uncovered route went unnoticed: %v", missing)
	}
	if len(patterns) < 10 {
		t.Fatalf("only %d routes with ids: is the route table read correctly?", len(patterns))
	}
}

func TestCrossTenantAccessIsNotFound(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, open(t), testServerOptions{})
			f := newCrossTenantFixture(t, ts)
			crossTenant.mu.Lock()
			cases := make(map[string]crossTenantCase, len(crossTenant.cases))
			for k, v := range crossTenant.cases {
				cases[k] = v
			}
			crossTenant.mu.Unlock()
			patterns := routesWithIDs()
			// Deletions last, so that every other case still finds B's data.
			sort.SliceStable(patterns, func(i, j int) bool {
				return !strings.HasPrefix(patterns[i], "DELETE ") && strings.HasPrefix(patterns[j], "DELETE ")
			})
			for _, pattern := range patterns {
				c, ok := cases[pattern]
				if !ok {
					continue // reported by TestCrossTenantSuiteCoversEveryRoute
				}
				method, _, _ := strings.Cut(pattern, " ")
				path := c.path
				for k, v := range f.ids {
					path = strings.ReplaceAll(path, "{"+k+"}", v)
				}
				if strings.Contains(path, "{") {
					t.Errorf("%s: placeholder without an id in %s", pattern, path)
					continue
				}
				// A superadmin route refuses tenant A's admin with 403 whatever
				// the id, which reveals nothing of B; every other route
				// answers B's ids exactly as unknown ones.
				want := http.StatusNotFound
				if accessOf(pattern) == Superadmin {
					want = http.StatusForbidden
				}
				r := ts.do(method, path, f.tokenA, c.body)
				if r.status != want {
					t.Errorf("%s %s as tenant A: %d, want %d; body %s", method, path, r.status, want, r.body)
					continue
				}
				r.problem(t)
			}
			// Tenant B is intact.
			me := ts.me(f.tokenB)
			if me.Tenant == nil || me.Tenant.ID != f.tenantB || *me.Role != "admin" {
				t.Fatalf("tenant B's admin after the suite: %+v", me)
			}
			ts.me(f.ids["api_key_secret"])
			var members page[memberBody]
			expect(t, ts.do("GET", "/api/v1/tenants/"+f.tenantB+"/members", f.tokenB, nil), 200).json(t, &members)
			if len(members.Items) != 1 {
				t.Fatalf("tenant B's members after the suite: %+v", members.Items)
			}
		})
	}
}

func TestMalformedIDsAreNeverServerErrors(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, open(t), testServerOptions{})
			root := ts.adminToken()
			param := regexp.MustCompile(`\{[^}]+\}`)
			for _, pattern := range routesWithIDs() {
				method, path, _ := strings.Cut(pattern, " ")
				for _, bad := range []string{"not-a-uuid", strings.Repeat("9", 300), "%C3%A9%00x", "00000000-0000-0000-0000-000000000000"} {
					p := param.ReplaceAllString(path, bad)
					var body any
					if method != "GET" && method != "DELETE" {
						body = map[string]any{}
					}
					if r := ts.do(method, p, root, body); r.status >= 500 {
						t.Errorf("%s %s: %d %s", method, p, r.status, r.body)
					}
				}
			}
		})
	}
}

package securitytest

import (
	"sort"
	"testing"

	"github.com/maestro-ml/maestro/platform"
)

// serverRoutes returns the platform's route table (platform.Routes):
// pattern -> access rule. Every route-driven case of the suite iterates
// it, so a new route is covered by construction.
func serverRoutes() map[string]platform.Access {
	out := map[string]platform.Access{}
	for _, r := range platform.Routes() {
		out[r.Pattern] = r.Access
	}
	return out
}

// sortedRoutes returns the route patterns in order.
func sortedRoutes() []string {
	var out []string
	for p := range serverRoutes() {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// roleRank orders the roles of tenant users, and the platform operator.
var roleRank = map[string]int{"public": 0, "viewer": 1, "member": 2, "admin": 3, "superadmin": 4}

// required returns the least role of a user of the route's tenant whom
// the route's access rule admits: "public" for no credential, "viewer"
// for any role (session-only rules included: the suite's users call with
// login sessions), "member", "admin", or "superadmin" when no tenant role
// is enough.
func required(a platform.Access) string {
	switch a {
	case platform.Public:
		return "public"
	case platform.Viewer, platform.Session, platform.TenantSession, platform.OwnTenant:
		return "viewer"
	case platform.Member:
		return "member"
	case platform.Admin, platform.TenantAdmin:
		return "admin"
	}
	return "superadmin"
}

// TestRouteTableRead guards the suite's source of routes: the table must
// hold the routes of the HTTP contract, each with a rule the suite knows,
// or every route-driven case would silently test nothing.
func TestRouteTableRead(t *testing.T) {
	t.Parallel()
	routes := serverRoutes()
	for p, want := range map[string]platform.Access{
		"POST /api/v1/auth/login":                       platform.Public,
		"GET /api/v1/auth/me":                           platform.Viewer,
		"POST /api/v1/auth/api-keys":                    platform.TenantSession,
		"POST /api/v1/tenants":                          platform.Superadmin,
		"PATCH /api/v1/tenants/{id}":                    platform.Superadmin,
		"POST /api/v1/tenants/{id}/members":             platform.TenantAdmin,
		"GET /api/v1/tenants/{id}":                      platform.OwnTenant,
		"GET /api/v1/projects/{id}":                     platform.Viewer,
		"POST /api/v1/runs/{id}/metrics":                platform.Member,
		"POST /api/v1/projects/{id}/recommendations":    platform.Member,
		"POST /api/v1/meta-models/rollback":             platform.Admin,
		"DELETE /api/v1/tenants/{id}/members/{user_id}": platform.TenantAdmin,
	} {
		if got, ok := routes[p]; !ok || got != want {
			t.Errorf("route %q: access %v (registered %t), want %v", p, got, ok, want)
		}
	}
	if len(routes) < 60 {
		t.Errorf("only %d routes in the table", len(routes))
	}
	for p, a := range routes {
		if a.String() == "" || a.String()[0] == 'A' { // Access(n): a rule the platform does not name
			t.Errorf("route %q has an access rule %v the suite does not know", p, a)
		}
	}
}

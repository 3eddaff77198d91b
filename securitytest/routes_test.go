package securitytest

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// routeCall matches a route registration in the server's source:
// rt.handle("METHOD /path", access, handler).
var routeCall = regexp.MustCompile(`rt\.handle\("([A-Z]+ [^"]+)",\s*(\w+)`)

// serverRoutes returns the server's route table, read from the source of
// examples/platform: pattern -> access level (public, viewer, member,
// admin, superadmin). Reading the source rather than a list kept here
// makes the suite fail when a route is added without security cases.
var serverRoutes = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(repoRoot(), "examples", "platform", "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f) // #nosec G304 -- the server's source files, from a glob under the repository
		if err != nil {
			continue
		}
		for _, m := range routeCall.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = m[2]
		}
	}
	return out
})

// sortedRoutes returns the route patterns in order.
func sortedRoutes() []string {
	var out []string
	for p := range serverRoutes() {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestRouteTableRead guards the parser above: the route table must hold
// the routes API.md fixes, or every route-driven case would silently test
// nothing.
func TestRouteTableRead(t *testing.T) {
	t.Parallel()
	routes := serverRoutes()
	for _, p := range []string{
		"POST /api/v1/auth/login", "GET /api/v1/auth/me", "POST /api/v1/tenants",
		"GET /api/v1/projects/{id}", "POST /api/v1/runs/{id}/metrics",
	} {
		if _, ok := routes[p]; !ok {
			t.Errorf("route %q not found in examples/platform's source (%d routes read)", p, len(routes))
		}
	}
	// Every route the suite knows the contract of is served: a route of
	// API.md that disappears (or is renamed) is noticed here.
	for p := range contractRoles {
		if _, ok := routes[p]; !ok {
			t.Errorf("route %q of the contract is not registered by examples/platform", p)
		}
	}
	for p, a := range routes {
		switch a {
		case "public", "viewer", "member", "admin", "superadmin":
		default:
			t.Errorf("route %q has an access level %q the suite does not know", p, a)
		}
	}
}

package platform

import (
	"regexp"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// readingPOSTs are the registry and learning routes that take a body
// but change nothing, so viewers may call them. (A recommendation for a
// project_id stores a prediction; the handler asks for member then.)
var readingPOSTs = map[string]bool{
	"POST /api/v1/recommendations": true,
	"POST /api/v1/specs/similar":   true,
	"POST /api/v1/specs/overlap":   true,
	// Searches and bulk reads of runs.
	"POST /api/v1/experiments/{id}/runs/search": true,
	"POST /api/v1/runs/metrics/latest":          true,
}

// ownRoute reports whether pattern belongs to the registry or intelligence
// route groups.
func ownRoute(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	for _, prefix := range []string{"/api/v1/projects", "/api/v1/experiments", "/api/v1/runs", "/api/v1/artifacts",
		"/api/v1/models", "/api/v1/meta-models", "/api/v1/recommendations", "/api/v1/specs"} {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

// TestRegistryRoleGating walks the route table: every registry and
// intelligence route needs a credential (401 without), every write needs
// at least member (a viewer gets 403 before the handler runs, whatever the
// ids), and admin routes refuse a member.
func TestRegistryRoleGating(t *testing.T) {
	t.Parallel()
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{})
	param := regexp.MustCompile(`\{[a-z_]+(\.\.\.)?\}`)
	n := 0
	for _, rt := range Routes() {
		if !ownRoute(rt.Pattern) {
			continue
		}
		n++
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = param.ReplaceAllString(path, "00000000-0000-0000-0000-000000000000")
		writes := method != "GET" && !readingPOSTs[rt.Pattern]
		needsMember := rt.Access == Member || rt.Access == Admin
		if writes && !needsMember {
			t.Errorf("%s changes data but is open to %v", rt.Pattern, rt.Access)
		}
		if r := e.do(method, path, "", nil); r.status != 401 {
			t.Errorf("%s without a credential: %d", rt.Pattern, r.status)
		}
		if needsMember {
			if r := e.do(method, path, e.viewer, map[string]any{}); r.status != 403 {
				t.Errorf("%s as a viewer: %d, want 403", rt.Pattern, r.status)
			}
		}
		if rt.Access == Admin {
			if r := e.do(method, path, e.member, map[string]any{}); r.status != 403 {
				t.Errorf("%s as a member: %d, want 403", rt.Pattern, r.status)
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d registry and learning routes found", n)
	}
}

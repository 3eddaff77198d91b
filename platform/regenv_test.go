package platform

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// regEnv is a served platform with two tenants and a user of each role:
// in the bootstrap tenant "default" the admin, a member and a viewer; in
// tenant "beta" a member (the "other tenant" of cross-tenant checks).
type regEnv struct {
	*testServer
	admin  string // bootstrap admin (superadmin, admin of default)
	member string // member of default
	viewer string // viewer of default
	other  string // member of beta
}

// newRegEnv serves the platform on db and creates the users through the
// API (tenants, members, logins), as a client would.
func newRegEnv(t *testing.T, db *gorm.DB, o testServerOptions) *regEnv {
	t.Helper()
	ts := newTestServer(t, db, o)
	e := &regEnv{testServer: ts}
	e.admin = ts.adminToken()
	home := ts.me(e.admin).Tenant.ID
	beta := ts.createTenant(e.admin, "beta")
	ts.addMember(e.admin, home, "alice", memberPassword, "member")
	ts.addMember(e.admin, home, "victor", memberPassword, "viewer")
	ts.addMember(e.admin, beta, "bob", memberPassword, "member")
	e.member = ts.login("alice", memberPassword, "").AccessToken
	e.viewer = ts.login("victor", memberPassword, "").AccessToken
	e.other = ts.login("bob", memberPassword, "").AccessToken
	return e
}

// create posts body to path as token, expects 201 and returns the "id".
func (e *regEnv) create(t *testing.T, path, token string, body any) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	expect(t, e.do("POST", path, token, body), 201).json(t, &out)
	if out.ID == "" {
		t.Fatalf("POST %s: no id", path)
	}
	return out.ID
}

// getJSON GETs path as token, expects 200 and decodes into v.
func (e *regEnv) getJSON(t *testing.T, path, token string, v any) {
	t.Helper()
	expect(t, e.do("GET", path, token, nil), 200).json(t, v)
}

// snapshot returns the body of GET path, to compare before and after a
// refused write.
func (e *regEnv) snapshot(t *testing.T, path string) string {
	t.Helper()
	return string(expect(t, e.do("GET", path, e.member, nil), 200).body)
}

// refused sends a write that must fail with status, checks the problem
// (and, for 422, that it names field), and checks that the resources at
// unchanged are byte for byte what they were.
func (e *regEnv) refused(t *testing.T, method, path string, body any, status int, field string, unchanged ...string) problemDetail {
	t.Helper()
	before := make([]string, len(unchanged))
	for i, p := range unchanged {
		before[i] = e.snapshot(t, p)
	}
	p := expect(t, e.do(method, path, e.member, body), status).problem(t)
	if field != "" {
		found := false
		for _, f := range p.Errors {
			if f.Field == field || strings.HasSuffix(f.Field, field) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s %s: problem %+v does not name field %q", method, path, p, field)
		}
	}
	for i, path := range unchanged {
		if after := e.snapshot(t, path); after != before[i] {
			t.Fatalf("%s %s changed %s:\nbefore %s\nafter  %s", method, path, path, before[i], after)
		}
	}
	return p
}

// projectBody is a valid project creation body.
func projectBody(name string, complexity int) map[string]any {
	return map[string]any{"name": name, "problem_class": "classification", "complexity_score": complexity, "team_size": 4}
}

// items decodes a list response.
func items[T any](t *testing.T, r response) []T {
	t.Helper()
	var p struct {
		Items      []T     `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	r.json(t, &p)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	return p.Items
}

// assertStatuses checks each request's status as token.
func (e *regEnv) assertStatuses(t *testing.T, token string, cases []statusCase) {
	t.Helper()
	for _, c := range cases {
		r := e.do(c.method, c.path, token, c.body)
		if r.status != c.status {
			t.Errorf("%s %s: status %d, want %d; body %s", c.method, c.path, r.status, c.status, r.body)
			continue
		}
		if c.status >= 400 {
			r.problem(t)
		}
	}
}

// statusCase is one request and the status it must get.
type statusCase struct {
	method, path string
	body         any
	status       int
}

func (c statusCase) String() string { return fmt.Sprintf("%s %s", c.method, c.path) }

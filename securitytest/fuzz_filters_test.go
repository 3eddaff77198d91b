package securitytest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// FuzzProjectFilters drives the registry's project search — the code
// behind GET /api/v1/projects?q=&tag=&problem_class=&cursor= — with
// arbitrary filter values on a tenant-scoped SQLite database holding two
// tenants whose names are full of LIKE wildcards and escapes. For every
// input the answer is either a validation error (registry.ErrInvalid, a
// 4xx at the HTTP layer) or a page that holds only the caller's projects
// and, for an ASCII query, only projects whose name or description
// contains the query literally: wildcards in q must not widen the match.
func FuzzProjectFilters(f *testing.F) {
	db := testenv.SQLite(f)
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	if err := registry.Migrate(ctx, db); err != nil {
		f.Fatal(err)
	}
	reg, err := registry.New(db)
	if err != nil {
		f.Fatal(err)
	}
	const tenantA, tenantB = "fuzz-tenant-a", "fuzz-tenant-b"
	ctxA, ctxB := tenancy.WithTenant(ctx, tenantA), tenancy.WithTenant(ctx, tenantB)
	seed := []struct {
		ctx          context.Context
		name, desc   string
		tags         []string
		problemClass registry.ProblemClass
	}{
		{ctxA, "alpha 100% MARKA", `a_b\c secret of A`, []string{"sec", "a-only"}, "classification"},
		{ctxA, "percent % underscore _ MARKA", "wildcards", []string{"sec"}, "regression"},
		{ctxB, "beta plain MARKB", "ordinary", []string{"sec", "b-only"}, "classification"},
		{ctxB, "gamma 50 MARKB", "under_score", []string{"other"}, "nlp"},
	}
	for _, s := range seed {
		if _, err := reg.CreateProject(s.ctx, registry.ProjectInput{Name: s.name, Description: s.desc, Tags: s.tags,
			ProblemClass: s.problemClass, ComplexityScore: 3, TeamSize: 2}); err != nil {
			f.Fatalf("seed %q: %v", s.name, err)
		}
	}
	first, err := reg.ListProjects(ctxA, registry.ProjectFilter{Limit: 1})
	if err != nil || first.NextCursor == "" {
		f.Fatalf("A's first page: %v %+v", err, first)
	}
	for _, s := range []struct{ q, tag, class, cursor string }{
		{"", "", "", ""}, {"%", "", "", ""}, {"_", "", "", ""}, {`\`, "", "", ""}, {"100%", "", "", ""},
		{"MARKA", "", "", ""}, {"' OR '1'='1", "", "", ""}, {"", "a-only", "", ""}, {"", "sec", "classification", ""},
		{"", "", "", first.NextCursor}, {"markb", "sec", "", first.NextCursor}, {"", "", "'; DROP TABLE projects; --", ""},
		{"x\x00y", "", "", ""}, {"", "", "", "eyJpZCI6IngifQ"}, {strings.Repeat("é", 300), "", "", ""},
	} {
		f.Add(s.q, s.tag, s.class, s.cursor)
	}
	f.Fuzz(func(t *testing.T, q, tag, class, cursor string) {
		filter := registry.ProjectFilter{Q: q, ProblemClass: registry.ProblemClass(class), Cursor: cursor, Limit: 50}
		if tag != "" {
			filter.Tags = []string{tag}
		}
		page, err := reg.ListProjects(ctxB, filter)
		if err != nil {
			if !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("ListProjects(q=%q tag=%q class=%q cursor=%q): %v, want a validation error or a page", q, tag, class, cursor, err)
			}
			return
		}
		needle := strings.ToLower(strings.TrimSpace(q))
		for _, p := range page.Items {
			if p.TenantID != tenantB || !strings.Contains(p.Name, "MARKB") {
				t.Fatalf("tenant B's search (q=%q tag=%q cursor=%q) returned %q of tenant %q", q, tag, cursor, p.Name, p.TenantID)
			}
			if needle != "" && isASCII(needle) && !strings.Contains(strings.ToLower(p.Name), needle) &&
				!strings.Contains(strings.ToLower(p.Description), needle) {
				t.Fatalf("q=%q matched %q / %q: a wildcard in the query widened the search", q, p.Name, p.Description)
			}
		}
	})
}

// isASCII reports whether s holds only ASCII, where SQL LOWER and Go's
// strings.ToLower agree.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

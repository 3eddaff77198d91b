package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/tenancy"
)

func TestProjectLifecycle(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		spec := Spec{UserStories: []string{"As an analyst I see churn risk"},
			DataModels:   []DataModel{{Entity: "Customer", Fields: []string{"id", "tenure"}}},
			APIEndpoints: []APIEndpoint{{Method: "GET", Path: "/risk", Purpose: "score"}}}
		p, err := e.reg.CreateProject(e.a, ProjectInput{Name: "  Churn  ", ProblemClass: Classification,
			ComplexityScore: 7, TeamSize: 5, Description: "predict churn", Spec: spec, Tags: []string{"Churn", "b2b", "churn"}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Churn" || p.Status != StatusActive || p.SuccessScore != nil || p.TenantID != tenantA ||
			strings.Join(p.Tags, ",") != "churn,b2b" || !validID(p.ID) {
			t.Fatalf("created %+v", p)
		}
		got, err := e.reg.GetProject(e.a, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.DataModels[0].Fields[1] != "tenure" || got.Spec.APIEndpoints[0].Path != "/risk" || len(got.Tags) != 2 {
			t.Fatalf("read back %+v", got)
		}
		if _, err := e.reg.GetProject(e.b, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant GetProject = %v, want ErrNotFound", err)
		}
		if _, err := e.reg.UpdateProject(e.b, p.ID, ProjectPatch{Name: ptr("stolen")}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant UpdateProject = %v", err)
		}
		if err := e.reg.DeleteProject(e.b, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant DeleteProject = %v", err)
		}
		up, err := e.reg.UpdateProject(e.a, p.ID, ProjectPatch{Name: ptr("Churn v2"), TeamSize: ptr(6),
			Tags: &[]string{"retention"}, Status: ptr(StatusOnHold), Spec: &Spec{UserStories: []string{"x"}},
			ProblemClass: ptr(Regression), ComplexityScore: ptr(3), Description: ptr("d")})
		if err != nil {
			t.Fatal(err)
		}
		if up.Name != "Churn v2" || up.TeamSize != 6 || up.Status != StatusOnHold || up.Tags[0] != "retention" ||
			up.ProblemClass != Regression || up.ComplexityScore != 3 || up.Description != "d" || len(up.Spec.UserStories) != 1 {
			t.Fatalf("updated %+v", up)
		}
		page, err := e.reg.ListProjects(e.a, ProjectFilter{Tags: []string{"retention"}})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("tag filter after update = %v, %v", page, err)
		}
		if page, _ := e.reg.ListProjects(e.a, ProjectFilter{Tags: []string{"churn"}}); len(page.Items) != 0 {
			t.Fatalf("old tag still matches: %+v", page.Items)
		}
		if err := e.reg.DeleteProject(e.a, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.GetProject(e.a, p.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted project: %v", err)
		}
		if n := countRows(t, e, e.a, &projectTag{}); n != 0 {
			t.Fatalf("%d tags left after delete", n)
		}
	})
}

func TestProjectValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteOpen)
	good := ProjectInput{Name: "ok", ProblemClass: NLP, ComplexityScore: 1, TeamSize: 1}
	cases := []struct {
		name  string
		edit  func(*ProjectInput)
		field string
	}{
		{"empty name", func(p *ProjectInput) { p.Name = "  " }, "name"},
		{"long name", func(p *ProjectInput) { p.Name = strings.Repeat("n", MaxNameLength+1) }, "name"},
		{"control char", func(p *ProjectInput) { p.Name = "a\x01b" }, "name"},
		{"unknown class", func(p *ProjectInput) { p.ProblemClass = "astrology" }, "problem_class"},
		{"complexity 0", func(p *ProjectInput) { p.ComplexityScore = 0 }, "complexity_score"},
		{"complexity 11", func(p *ProjectInput) { p.ComplexityScore = 11 }, "complexity_score"},
		{"team 0", func(p *ProjectInput) { p.TeamSize = 0 }, "team_size"},
		{"bad tag", func(p *ProjectInput) { p.Tags = []string{"no spaces"} }, "tags"},
		{"too many tags", func(p *ProjectInput) { p.Tags = make([]string, MaxTags+1) }, "tags"},
		{"endpoint without path", func(p *ProjectInput) { p.Spec.APIEndpoints = []APIEndpoint{{Method: "GET"}} }, "spec.api_endpoints[0].path"},
		{"entity missing", func(p *ProjectInput) { p.Spec.DataModels = []DataModel{{}} }, "spec.data_models[0].entity"},
		{"huge spec", func(p *ProjectInput) {
			p.Spec.UserStories = repeatItems(MaxSpecSectionItems, MaxSpecItemBytes)
			p.Spec.FunctionalRequirements = repeatItems(100, MaxSpecItemBytes)
		}, "spec"},
		{"too many stories", func(p *ProjectInput) { p.Spec.UserStories = repeatItems(MaxSpecSectionItems+1, 1) }, "spec.user_stories"},
		{"too many items", func(p *ProjectInput) {
			p.Spec.UserStories = repeatItems(MaxSpecSectionItems, 1)
			p.Spec.FunctionalRequirements = repeatItems(MaxSpecSectionItems, 1)
			p.Spec.NonFunctionalRequirements = repeatItems(1, 1)
		}, "spec"},
		{"long requirement", func(p *ProjectInput) {
			p.Spec.NonFunctionalRequirements = []string{"fast", strings.Repeat("r", MaxSpecItemBytes+1)}
		}, "spec.non_functional_requirements[1]"},
		{"too many fields", func(p *ProjectInput) {
			p.Spec.DataModels = []DataModel{{Entity: "e", Fields: repeatItems(MaxDataModelFields+1, 1)}}
		}, "spec.data_models[0].fields"},
		{"long endpoint path", func(p *ProjectInput) {
			p.Spec.APIEndpoints = []APIEndpoint{{Method: "GET", Path: "/" + strings.Repeat("p", MaxSpecItemBytes)}}
		}, "spec.api_endpoints[0].path"},
		{"bad description", func(p *ProjectInput) { p.Description = "\xff" }, "description"},
	}
	for _, c := range cases {
		in := good
		c.edit(&in)
		_, err := e.reg.CreateProject(e.a, in)
		var ve ValidationErrors
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) || ve[0].Field != c.field {
			t.Errorf("%s: err = %v, want ValidationErrors on %s", c.name, err, c.field)
		}
	}
	if n := countRows(t, e, e.a, &Project{}); n != 0 {
		t.Fatalf("invalid inputs stored %d projects", n)
	}
	p := newProject(t, e, e.a, "p")
	patches := []ProjectPatch{
		{Status: ptr(StatusCompleted)}, {Status: ptr(ProjectStatus("x"))}, {TeamSize: ptr(-1)},
		{Name: ptr("")}, {Tags: &[]string{"Bad Tag"}}, {ComplexityScore: ptr(0)}, {ProblemClass: ptr(ProblemClass(""))},
	}
	for _, pt := range patches {
		if _, err := e.reg.UpdateProject(e.a, p.ID, pt); !errors.Is(err, ErrInvalid) {
			t.Errorf("patch %+v = %v, want ErrInvalid", pt, err)
		}
	}
	if got := must[*Project](t)(e.reg.GetProject(e.a, p.ID)); got.Name != "p" || got.Status != StatusActive {
		t.Fatalf("rejected patches changed the project: %+v", got)
	}
	if _, err := e.reg.GetProject(e.a, "not-a-uuid"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("malformed id = %v", err)
	}
	if _, err := e.reg.UpdateProject(e.a, "00000000-0000-0000-0000-000000000000", ProjectPatch{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id = %v", err)
	}
}

func TestNoTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteOpen)
	ctx := t.Context()
	if _, err := e.reg.CreateProject(ctx, ProjectInput{Name: "x", ProblemClass: NLP, ComplexityScore: 1, TeamSize: 1}); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Fatalf("CreateProject without tenant = %v", err)
	}
	if _, err := e.reg.ListProjects(ctx, ProjectFilter{}); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Fatalf("ListProjects without tenant = %v", err)
	}
	if _, err := e.reg.MetricHistory(ctx, "00000000-0000-0000-0000-000000000000", "k", 0); !errors.Is(err, tenancy.ErrNoTenant) {
		t.Fatalf("MetricHistory without tenant = %v", err)
	}
}

func TestListProjects(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		classes := []ProblemClass{Classification, Regression, NLP}
		var ids []string
		for i := range 25 {
			p := must[*Project](t)(e.reg.CreateProject(e.a, ProjectInput{
				Name: fmt.Sprintf("Project %02d", i), ProblemClass: classes[i%3], ComplexityScore: 1 + i%10,
				TeamSize: 3, Description: map[bool]string{true: "Fraud_detection 100%", false: "other"}[i%5 == 0],
				Tags: map[bool][]string{true: {"even", "all"}, false: {"all"}}[i%2 == 0]}))
			ids = append(ids, p.ID)
		}
		newProject(t, e, e.b, "b's project")
		if i := 7; true {
			must[*Project](t)(e.reg.RecordOutcome(e.a, ids[i], Outcome{0.9, 1000, 30, 10}))
		}
		// Paging through everything returns each project once, newest first.
		var seen []string
		cur := ""
		for pages := 0; ; pages++ {
			page, err := e.reg.ListProjects(e.a, ProjectFilter{Limit: 10, Cursor: cur})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page.Items {
				seen = append(seen, p.ID)
			}
			if page.NextCursor == "" {
				break
			}
			cur = page.NextCursor
		}
		if len(seen) != 25 || seen[0] != ids[24] || seen[24] != ids[0] {
			t.Fatalf("paged %d projects, first %s last %s", len(seen), seen[0], seen[len(seen)-1])
		}
		count := func(f ProjectFilter) int {
			t.Helper()
			f.Limit = MaxLimit
			page, err := e.reg.ListProjects(e.a, f)
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Items)
		}
		cases := []struct {
			f    ProjectFilter
			want int
		}{
			{ProjectFilter{}, 25},
			{ProjectFilter{ProblemClass: NLP}, 8},
			{ProjectFilter{Status: StatusCompleted}, 1},
			{ProjectFilter{Status: StatusActive, ProblemClass: Regression}, 7},
			{ProjectFilter{Q: "fraud_DETECTION"}, 5},
			{ProjectFilter{Q: "100%"}, 5},
			{ProjectFilter{Q: "%"}, 5},
			{ProjectFilter{Q: "_"}, 5},
			{ProjectFilter{Q: "project 1"}, 10},
			{ProjectFilter{Tags: []string{"even"}}, 13},
			{ProjectFilter{Tags: []string{"even", "all"}}, 13},
			{ProjectFilter{Tags: []string{"even", "none"}}, 0},
			{ProjectFilter{Q: "' OR 1=1 --"}, 0},
		}
		for _, c := range cases {
			if got := count(c.f); got != c.want {
				t.Errorf("filter %+v: %d projects, want %d", c.f, got, c.want)
			}
		}
		if page, err := e.reg.ListProjects(e.b, ProjectFilter{}); err != nil || len(page.Items) != 1 {
			t.Fatalf("tenant b sees %d projects (%v), want its 1", len(page.Items), err)
		}
		// A cursor is bound to its filter and validated.
		page := must[Page[Project]](t)(e.reg.ListProjects(e.a, ProjectFilter{Limit: 2, ProblemClass: NLP}))
		if _, err := e.reg.ListProjects(e.a, ProjectFilter{Limit: 2, Cursor: page.NextCursor}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("cursor with another filter = %v, want ErrInvalid", err)
		}
		for _, bad := range []string{"x", "!!!", page.NextCursor + "A", strings.Repeat("a", 300)} {
			if _, err := e.reg.ListProjects(e.a, ProjectFilter{ProblemClass: NLP, Cursor: bad}); !errors.Is(err, ErrInvalid) {
				t.Errorf("cursor %q = %v, want ErrInvalid", bad, err)
			}
		}
		for _, l := range []int{-1, MaxLimit + 1} {
			if _, err := e.reg.ListProjects(e.a, ProjectFilter{Limit: l}); !errors.Is(err, ErrInvalid) {
				t.Errorf("limit %d = %v", l, err)
			}
		}
		for _, f := range []ProjectFilter{{ProblemClass: "x"}, {Status: "x"}, {Tags: []string{"A B"}}, {Q: strings.Repeat("q", 300)}} {
			if _, err := e.reg.ListProjects(e.a, f); !errors.Is(err, ErrInvalid) {
				t.Errorf("filter %+v = %v, want ErrInvalid", f, err)
			}
		}
		if p := must[Page[Project]](t)(e.reg.ListProjects(e.a, ProjectFilter{})); len(p.Items) != DefaultLimit && len(p.Items) != 25 {
			t.Fatalf("default limit page has %d items", len(p.Items))
		}
	})
}

func TestRecordOutcome(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "p")
		o := Outcome{ModelPerformance: 0.92, BusinessImpact: 250000, DeploymentDays: 45, ComputeCost: 1200}
		done, err := e.reg.RecordOutcome(e.a, p.ID, o)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := SuccessScore(o, DefaultScoreWeights(), DefaultScoreScales())
		if done.Status != StatusCompleted || done.SuccessScore == nil || *done.SuccessScore != want || done.CompletedAt == nil {
			t.Fatalf("after outcome: %+v", done)
		}
		if got, ok := done.Outcome(); !ok || got != o {
			t.Fatalf("Outcome() = %+v, %v", got, ok)
		}
		if _, err := e.reg.RecordOutcome(e.b, p.ID, o); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant RecordOutcome = %v", err)
		}
		for _, bad := range []Outcome{{-0.1, 1, 1, 1}, {1.1, 1, 1, 1}, {0.5, -1, 1, 1}, {0.5, 1, 0, 1}, {0.5, 1, 1, -1}} {
			if _, err := e.reg.RecordOutcome(e.a, p.ID, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("outcome %+v = %v", bad, err)
			}
		}
		if got := must[*Project](t)(e.reg.GetProject(e.a, p.ID)); *got.SuccessScore != want {
			t.Fatalf("rejected outcomes changed the score to %v", *got.SuccessScore)
		}
	})
}

// repeatItems returns n items of size bytes each.
func repeatItems(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Repeat("s", size)
	}
	return out
}

// TestSpecValidateAtBounds: a spec exactly at every bound is valid, and one
// item or byte more in any of them is refused on its field.
func TestSpecValidateAtBounds(t *testing.T) {
	t.Parallel()
	at := Spec{
		UserStories:            repeatItems(MaxSpecSectionItems, 100),
		FunctionalRequirements: repeatItems(MaxSpecItems-MaxSpecSectionItems-2, 100),
		DataModels:             []DataModel{{Entity: strings.Repeat("e", MaxSpecItemBytes), Fields: repeatItems(MaxDataModelFields, 10)}},
		APIEndpoints:           []APIEndpoint{{Method: "GET", Path: "/x", Purpose: strings.Repeat("p", MaxSpecItemBytes)}},
	}
	if err := at.Validate(); err != nil {
		t.Fatalf("a spec at the bounds: %v", err)
	}
	over := at
	over.NonFunctionalRequirements = []string{"one more"}
	var ve ValidationErrors
	if err := over.Validate(); !errors.As(err, &ve) || len(ve) != 1 || ve[0].Field != "spec" {
		t.Fatalf("one item over MaxSpecItems: %v", err)
	}
}

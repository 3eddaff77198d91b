package mlbench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/metalearn"
)

func TestBestTeam(t *testing.T) {
	for c, want := range map[float64][]int{1: {2, 3}, 4: {5, 6}, 10: {11, 12}} {
		if got := BestTeam(c); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("BestTeam(%v) = %v, want %v", c, got, want)
		}
	}
}

func TestGenerate(t *testing.T) {
	w := World{Seed: 1, TeamKnownAtPlanning: 0.5, Confounding: 1, NullArtifacts: 60}
	ps := w.Generate(200, 1)
	noTeam, bigTroubled, troubled := 0, 0.0, 0
	for _, p := range ps {
		if err := p.Planning.Validate(); err != nil {
			t.Fatal(err)
		}
		if len(p.Planning.ProcessMetrics) != 0 {
			t.Fatal("process metrics known at planning")
		}
		if len(p.Planning.Team) == 0 {
			noTeam++
		}
		if p.trouble > 1 {
			troubled++
			bigTroubled += float64(p.Planning.TeamSize)
		}
	}
	if noTeam < 60 || noTeam > 140 {
		t.Errorf("%d of 200 without a team at planning", noTeam)
	}
	if bigTroubled/float64(troubled) < 9 {
		t.Errorf("troubled projects' mean team %.1f: confounding not applied", bigTroubled/float64(troubled))
	}
	again := w.Generate(200, 1)
	if again[17].Outcome != ps[17].Outcome {
		t.Error("not deterministic")
	}
}

// TestEvaluationRuns runs every figure on tiny histories: it checks that
// the evaluation runs and prints each section and the few properties that
// hold even there, not the figures (those are the full scale of
// `go run ./bench/metalearn/cmd/mlbench`, see docs/metalearn.md).
func TestEvaluationRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a few dozen small models")
	}
	ctx := context.Background()
	sc := Scale{Reps: 1, Test: 5, Requests: 5, Tenants: 1, Sizes: []int{20}, SmallSizes: []int{10}, History: 25}
	var b bytes.Buffer
	if err := Print(ctx, &b, sc); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## (1)", "## (2)", "## (3)", "## (4)", "## (5)", "uniform history"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	uw, err := UnseenWidth(ctx, sc)
	if err != nil || uw >= 0.1 {
		t.Errorf("unseen metric changed a width by %.3f (%v)", uw, err)
	}
	rel, notes, err := Uniform(ctx)
	if err != nil || rel != metalearn.ReliabilityLow || !strings.Contains(strings.Join(notes, " "), "too uniform") {
		t.Errorf("uniform history: %s %v %v", rel, notes, err)
	}
	dir := t.TempDir()
	if err := Export(ctx, dir, []Scenario{{"drift", 20}}, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "drift_20", "go_metrics.json")); err != nil {
		t.Fatal(err)
	}
}

// TestTestable counts the artifact × class pairs the artifact test runs
// on: 3 users and 3 non-users at least, a repeated usage counting once.
func TestTestable(t *testing.T) {
	var ps []Project
	add := func(class string, ids ...string) {
		var arts []metalearn.ArtifactUse
		for _, id := range ids {
			arts = append(arts, metalearn.ArtifactUse{ID: id})
		}
		ps = append(ps, Project{class: class, Planning: metalearn.ProjectFeatures{ProblemClass: class, Artifacts: arts}})
	}
	nlp := metalearn.ClassNLP
	for range 3 {
		add(nlp, "good-"+nlp, "a", "a") // a: 3 users, counted once each
	}
	add(nlp, "a")
	for range 3 {
		add(nlp, "b")
	}
	// nlp has 7 projects: good has 3 users and 4 non-users, a has 4 and 3,
	// b 3 and 4; c below has 2 users only.
	add(metalearn.ClassOther, "c")
	add(metalearn.ClassOther, "c")
	tests, goods := testable(ps)
	if tests != 3 || goods != 1 {
		t.Errorf("testable: %d tests, %d good; want 3 and 1", tests, goods)
	}
}

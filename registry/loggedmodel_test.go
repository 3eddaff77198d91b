package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// loggedModelTables are the tables migration step 10 creates.
var loggedModelTables = map[string]bool{"logged_models": true, "logged_model_artifacts": true, "run_outputs": true}

func TestLoggedModelStore(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		exp := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "lm"}))
		run := must[*TrackedRun](t)(e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{}))
		m := must[*LoggedModel](t)(e.reg.CreateLoggedModel(e.a, LoggedModelInput{ExperimentID: exp.ID, SourceRunID: run.ID,
			Tags: map[string]string{"t": "v"}, Params: map[string]string{"p": "1"}}))
		if m.Name != m.ID || m.Status != LoggedModelPending || *m.SourceRunID != run.ID {
			t.Fatalf("created: %+v", m)
		}
		// Limits and invalid input write nothing.
		many := map[string]string{}
		for i := range MaxLoggedModelParams + 1 {
			many[fmt.Sprintf("k%d", i)] = "v"
		}
		for _, in := range []LoggedModelInput{
			{ExperimentID: exp.ID, Params: many},
			{ExperimentID: exp.ID, ModelType: strings.Repeat("t", MaxModelTypeLength+1)},
			{ExperimentID: exp.ID, Tags: map[string]string{"bad\x00key": "v"}},
		} {
			if _, err := e.reg.CreateLoggedModel(e.a, in); !errors.Is(err, ErrInvalid) {
				t.Fatalf("invalid input: %v", err)
			}
		}
		if _, err := e.reg.CreateLoggedModel(e.b, LoggedModelInput{ExperimentID: exp.ID}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's experiment: %v", err)
		}
		ready := LoggedModelReady
		got := must[*LoggedModel](t)(e.reg.UpdateLoggedModel(e.a, m.ID, LoggedModelPatch{Status: &ready, Tags: map[string]string{"u": "w"}, Params: map[string]string{"q": "2"}}))
		if got.Status != ready || len(got.Tags) != 2 || len(got.Params) != 2 {
			t.Fatalf("updated: %+v", got)
		}
		if _, err := e.reg.UpdateLoggedModel(e.a, m.ID, LoggedModelPatch{Params: map[string]string{"p": "changed"}}); !errors.Is(err, ErrParamChanged) {
			t.Fatalf("changed param: %v", err)
		}
		if _, err := e.reg.UpdateLoggedModel(e.b, m.ID, LoggedModelPatch{Status: &ready}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's update: %v", err)
		}
		if _, err := e.reg.PutLoggedModelArtifact(e.a, m.ID, "dir/f", strings.NewReader("content")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.PutLoggedModelArtifact(e.a, m.ID, "dir", strings.NewReader("x")); !errors.Is(err, ErrConflict) {
			t.Fatalf("file over a directory: %v", err)
		}
		if _, _, err := e.reg.OpenLoggedModelArtifact(e.b, m.ID, "dir/f"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's file: %v", err)
		}
		rc, _, err := e.reg.OpenLoggedModelArtifact(e.a, m.ID, "dir/f")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		if string(b) != "content" {
			t.Fatalf("content %q", b)
		}
		if err := e.reg.LogRunOutputs(e.b, run.ID, []RunOutput{{ModelID: m.ID}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's outputs: %v", err)
		}
		if err := e.reg.LogRunOutputs(e.a, run.ID, []RunOutput{{ModelID: m.ID, Step: 2}}); err != nil {
			t.Fatal(err)
		}
		if list := must[[]LoggedModel](t)(e.reg.ListLoggedModels(e.b, []string{exp.ID})); len(list) != 0 {
			t.Fatalf("tenant b lists %d", len(list))
		}
		if err := e.reg.DeleteLoggedModel(e.b, m.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another tenant's delete: %v", err)
		}
		if err := e.reg.DeleteLoggedModel(e.a, m.ID); err != nil {
			t.Fatal(err)
		}
		if outs := must[[]RunOutput](t)(e.reg.RunOutputs(e.a, run.ID)); len(outs) != 0 {
			t.Fatalf("outputs after delete: %v", outs)
		}
		if _, err := e.reg.LoggedModel(e.a, m.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}

// TestMigrateLoggedModelsDownUp: reversing step 10 drops the logged models'
// tables and keeps the tracking data; applying it again works.
func TestMigrateLoggedModelsDownUp(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		exp := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "lm"}))
		must[*LoggedModel](t)(e.reg.CreateLoggedModel(e.a, LoggedModelInput{ExperimentID: exp.ID}))
		for round := range 2 {
			if err := MigrateDown(ctx, e.db, 9); err != nil {
				t.Fatalf("round %d: down: %v", round, err)
			}
			for tbl := range loggedModelTables {
				if e.db.Migrator().HasTable(tbl) {
					t.Fatalf("down left %s", tbl)
				}
			}
			if _, err := e.reg.TrackedExperiment(e.a, exp.ID); err != nil {
				t.Fatalf("experiment after down: %v", err)
			}
			if err := Migrate(ctx, e.db); err != nil {
				t.Fatalf("round %d: up: %v", round, err)
			}
		}
		must[*LoggedModel](t)(e.reg.CreateLoggedModel(e.a, LoggedModelInput{ExperimentID: exp.ID}))
	})
}

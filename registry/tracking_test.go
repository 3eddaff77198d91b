package registry

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestTrackedExperimentsAndRuns(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		exp, err := e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "exp", Tags: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if exp.ProjectID != nil || exp.Lifecycle != LifecycleActive || exp.Tags["k"] != "v" {
			t.Fatalf("created: %+v", exp)
		}
		if _, err := e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "exp"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		if _, err := e.reg.CreateTrackedExperiment(e.b, TrackedExperimentInput{Name: "exp"}); err != nil {
			t.Fatalf("same name in another tenant: %v", err)
		}
		if _, err := e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "bad", Tags: map[string]string{"bad key!": "v"}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad tag key: %v", err)
		}
		// A project's experiment may share the name, and is listed too.
		p := newProject(t, e, e.a, "p")
		if _, err := e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{Name: "exp"}); err != nil {
			t.Fatal(err)
		}
		got, err := e.reg.TrackedExperimentByName(e.a, "exp")
		if err != nil || got.ID != exp.ID {
			t.Fatalf("by name: %v %v", got, err)
		}
		if _, err := e.reg.TrackedExperimentByName(e.b, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
		all, err := e.reg.ListTrackedExperiments(e.a)
		if err != nil || len(all) != 2 {
			t.Fatalf("list: %d %v", len(all), err)
		}
		// The /api/v1 view reads the project-less experiment too.
		if v1, err := e.reg.GetExperiment(e.a, exp.ID); err != nil || v1.ProjectID != "" || v1.Name != "exp" {
			t.Fatalf("GetExperiment of a project-less experiment: %+v %v", v1, err)
		}
		if _, err := e.reg.TrackedExperiment(e.b, exp.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant: %v", err)
		}
		if err := e.reg.SetExperimentTag(e.a, exp.ID, "k", "w"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.RenameTrackedExperiment(e.a, exp.ID, ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty rename: %v", err)
		}
		if got, err := e.reg.RenameTrackedExperiment(e.a, exp.ID, "exp2"); err != nil || got.Name != "exp2" || got.Tags["k"] != "w" {
			t.Fatalf("rename: %+v %v", got, err)
		}

		start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		run, err := e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{Name: "r", UserID: "ann", StartTime: start, Tags: map[string]string{"t": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		if !run.StartedAt.Equal(start) || run.UserID != "ann" || run.Tags["t"] != "1" || run.Lifecycle != LifecycleActive {
			t.Fatalf("run: %+v", run)
		}
		if _, err := e.reg.CreateTrackedRun(e.b, exp.ID, TrackedRunInput{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("run in another tenant's experiment: %v", err)
		}
		batch := RunBatch{
			Metrics: []MetricPoint{{Key: "loss", Value: 2, Step: 0}, {Key: "loss", Value: 1, Step: 1}},
			Params:  map[string]string{"lr": "0.1"},
			Tags:    map[string]string{"stage": "dev"},
		}
		if err := e.reg.LogRunBatch(e.a, run.ID, batch); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.LogRunBatch(e.a, run.ID, RunBatch{Params: map[string]string{"lr": "0.1"}}); err != nil {
			t.Fatalf("same param again: %v", err)
		}
		// A changed parameter fails the whole batch.
		err = e.reg.LogRunBatch(e.a, run.ID, RunBatch{Params: map[string]string{"lr": "0.2"}, Tags: map[string]string{"new": "x"},
			Metrics: []MetricPoint{{Key: "loss", Value: 0, Step: 2}}})
		if !errors.Is(err, ErrParamChanged) {
			t.Fatalf("changed param: %v", err)
		}
		got2, err := e.reg.TrackedRun(e.a, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got2.Params["lr"] != "0.1" || got2.Tags["new"] != "" || len(got2.Metrics) != 1 || got2.Metrics[0].LastValue != 1 || got2.Metrics[0].Count != 2 {
			t.Fatalf("after refused batch: %+v", got2)
		}
		if err := e.reg.LogRunBatch(e.a, run.ID, RunBatch{Params: map[string]string{"x": strings.Repeat("v", MaxParamValueBytes+1)}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("long param: %v", err)
		}
		// Full history, paged.
		page, err := e.reg.MetricPoints(e.a, run.ID, "loss", 1, "")
		if err != nil || len(page.Items) != 1 || page.NextCursor == "" || page.Items[0].Value != 2 {
			t.Fatalf("page 1: %+v %v", page, err)
		}
		page, err = e.reg.MetricPoints(e.a, run.ID, "loss", 1, page.NextCursor)
		if err != nil || len(page.Items) != 1 || page.NextCursor != "" || page.Items[0].Step != 1 {
			t.Fatalf("page 2: %+v %v", page, err)
		}
		if _, err := e.reg.MetricPoints(e.a, run.ID, "other", 1, page.NextCursor+"x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("foreign cursor: %v", err)
		}
		if _, err := e.reg.MetricPoints(e.a, run.ID, "loss", MaxHistoryPage+1, ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("limit: %v", err)
		}
		if p, err := e.reg.MetricPoints(e.a, run.ID, "none", 0, ""); err != nil || len(p.Items) != 0 {
			t.Fatalf("unknown metric: %+v %v", p, err)
		}
		if err := e.reg.DeleteRunTag(e.a, run.ID, "stage"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteRunTag(e.a, run.ID, "stage"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete missing tag: %v", err)
		}
		finished, name := RunFinished, "renamed"
		end := start.Add(time.Hour)
		up, err := e.reg.UpdateTrackedRun(e.a, run.ID, TrackedRunPatch{Status: &finished, EndTime: &end, Name: &name})
		if err != nil || up.Status != RunFinished || !up.EndedAt.Equal(end) || up.Name != "renamed" {
			t.Fatalf("update: %+v %v", up, err)
		}
		bad := RunStatus("paused")
		if _, err := e.reg.UpdateTrackedRun(e.a, run.ID, TrackedRunPatch{Status: &bad}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad status: %v", err)
		}
		if err := e.reg.LogDatasetInputs(e.a, run.ID, []DatasetInput{{Name: "train", Digest: "d1", Body: `{"x":1}`}}); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.LogDatasetInputs(e.a, run.ID, []DatasetInput{{Name: "train", Digest: "d1", Body: `{"x":2}`}, {Name: "", Digest: "d"}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad input: %v", err)
		}
		if ins, err := e.reg.DatasetInputs(e.a, run.ID); err != nil || len(ins) != 1 || ins[0].Body != `{"x":1}` {
			t.Fatalf("inputs: %+v %v", ins, err)
		}
		if ins, err := e.reg.ExperimentDatasetInputs(e.a, []string{exp.ID, "not-an-id"}, LifecycleActive); err != nil || len(ins) != 1 || ins[0].RunID != run.ID || ins[0].Digest != "d1" {
			t.Fatalf("experiment inputs: %+v %v", ins, err)
		}
		if ins, err := e.reg.ExperimentDatasetInputs(e.a, []string{exp.ID}, LifecycleDeleted); err != nil || len(ins) != 0 {
			t.Fatalf("inputs of deleted runs: %+v %v", ins, err)
		}
		if ins, err := e.reg.ExperimentDatasetInputs(e.b, []string{exp.ID}); err != nil || len(ins) != 0 {
			t.Fatalf("another tenant reads the inputs: %+v %v", ins, err)
		}
		if _, err := e.reg.ExperimentDatasetInputs(e.a, make([]string, MaxTrackingScan+1)); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("too many experiment ids: %v", err)
		}
		// Lifecycle: a deleted run refuses writes and leaves default listings.
		if err := e.reg.SetRunLifecycle(e.a, run.ID, LifecycleDeleted); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.LogRunBatch(e.a, run.ID, RunBatch{Tags: map[string]string{"a": "b"}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("write to deleted run: %v", err)
		}
		if err := e.reg.DeleteRunTag(e.a, run.ID, "t"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("delete tag of deleted run: %v", err)
		}
		if err := e.reg.LogDatasetInputs(e.a, run.ID, nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("inputs of deleted run: %v", err)
		}
		if runs, err := e.reg.ListTrackedRuns(e.a, []string{exp.ID}, LifecycleActive); err != nil || len(runs) != 0 {
			t.Fatalf("active runs: %d %v", len(runs), err)
		}
		if runs, err := e.reg.ListTrackedRuns(e.a, []string{exp.ID, "not-an-id"}); err != nil || len(runs) != 1 || runs[0].Tags["t"] != "1" {
			t.Fatalf("all runs: %+v %v", runs, err)
		}
		if runs, err := e.reg.ListTrackedRuns(e.b, []string{exp.ID}); err != nil || len(runs) != 0 {
			t.Fatalf("other tenant's runs: %d %v", len(runs), err)
		}
		if err := e.reg.SetRunLifecycle(e.a, run.ID, "gone"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad lifecycle: %v", err)
		}
		// Deleting the experiment deletes its runs; restoring restores them.
		if _, err := e.reg.SetExperimentLifecycle(e.a, exp.ID, LifecycleActive); err != nil {
			t.Fatal(err)
		}
		if r, _ := e.reg.TrackedRun(e.a, run.ID); r.Lifecycle != LifecycleActive {
			t.Fatalf("restored experiment's run: %s", r.Lifecycle)
		}
		if _, err := e.reg.SetExperimentLifecycle(e.a, exp.ID, LifecycleDeleted); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.SetExperimentTag(e.a, exp.ID, "k", "x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("tag on deleted experiment: %v", err)
		}
		if _, err := e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("run in deleted experiment: %v", err)
		}
		if _, err := e.reg.SetExperimentLifecycle(e.a, exp.ID, "x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad experiment lifecycle: %v", err)
		}
		if got, _ := e.reg.ListTrackedExperiments(e.a, LifecycleDeleted); len(got) != 1 {
			t.Fatalf("deleted experiments: %d", len(got))
		}
	})
}

func TestRunArtifacts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		exp, _ := e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "a"})
		run, err := e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{})
		if err != nil {
			t.Fatal(err)
		}
		put := func(p, body string) error {
			_, err := e.reg.PutRunArtifact(e.a, run.ID, p, strings.NewReader(body))
			return err
		}
		for p, body := range map[string]string{"m/w.bin": "w", "m/c/a.yaml": "a", "n.txt": "n1"} {
			if err := put(p, body); err != nil {
				t.Fatal(err)
			}
		}
		if err := put("/n.txt", "n2"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", "a/../b", "a//b", "./x", `a\b`, "x\x01"} {
			if err := put(bad, "x"); !errors.Is(err, ErrInvalid) {
				t.Errorf("path %q: %v", bad, err)
			}
		}
		if err := put("m", "x"); !errors.Is(err, ErrConflict) {
			t.Fatalf("file over a directory: %v", err)
		}
		if err := put("n.txt/x", "x"); !errors.Is(err, ErrConflict) {
			t.Fatalf("file below a file: %v", err)
		}
		rc, a, err := e.reg.OpenRunArtifact(e.a, run.ID, "n.txt")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "n2" || a.Size != 2 {
			t.Fatalf("content %q %+v", b, a)
		}
		if _, _, err := e.reg.OpenRunArtifact(e.b, run.ID, "n.txt"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant: %v", err)
		}
		if _, _, err := e.reg.OpenRunArtifact(e.a, run.ID, "m"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("open a directory: %v", err)
		}
		list, err := e.reg.ListRunArtifacts(e.a, run.ID, "")
		if err != nil || len(list) != 2 || !list[0].IsDir || list[0].Path != "m" || list[1].Path != "n.txt" {
			t.Fatalf("root: %+v %v", list, err)
		}
		list, _ = e.reg.ListRunArtifacts(e.a, run.ID, "m/")
		if len(list) != 2 || list[0].Path != "m/c" || list[1].Path != "m/w.bin" || list[1].Size != 1 {
			t.Fatalf("m: %+v", list)
		}
		if list, _ := e.reg.ListRunArtifacts(e.a, run.ID, "n.txt"); len(list) != 0 {
			t.Fatalf("listing a file: %+v", list)
		}
		if err := e.reg.DeleteRunArtifacts(e.a, run.ID, "m"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteRunArtifacts(e.a, run.ID, "m"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete again: %v", err)
		}
		if err := e.reg.DeleteRunArtifacts(e.b, run.ID, "n.txt"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant delete: %v", err)
		}
		// Content beyond the registry's limit stores nothing.
		blobs, err := NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		small, err := New(e.db, WithBlobStore(blobs), WithMaxContentSize(4))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := small.PutRunArtifact(e.a, run.ID, "big", strings.NewReader("12345")); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("too large: %v", err)
		}
		if list, _ := small.ListRunArtifacts(e.a, run.ID, ""); len(list) != 1 {
			t.Fatalf("after a refused upload: %+v", list)
		}
		noBlobs, _ := New(e.db)
		if _, err := noBlobs.PutRunArtifact(e.a, run.ID, "x", strings.NewReader("x")); !errors.Is(err, ErrInvalid) {
			t.Fatalf("no blob store: %v", err)
		}
		if _, _, err := noBlobs.OpenRunArtifact(context.Background(), run.ID, "n.txt"); err == nil {
			t.Fatal("open without a blob store")
		}
	})
}

// trackingTables are the tables migration step 8 creates.
var trackingTables = map[string]bool{"experiment_tags": true, "run_tags": true, "run_inputs": true, "run_artifacts": true}

// TestMigrateTrackingDownUp: reversing step 8 deletes the project-less
// experiments with their runs and keeps the projects' experiments and
// runs; applying it again restores a working tracking schema.
func TestMigrateTrackingDownUp(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		populate(t, e, e.a)
		exp, err := e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "mlflow", Tags: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		run, err := e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{Tags: map[string]string{"t": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.PutRunArtifact(e.a, run.ID, "f", strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.LogRunBatch(e.a, run.ID, RunBatch{Metrics: []MetricPoint{{Key: "m", Value: 1}}}); err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			if err := MigrateDown(ctx, e.db, 7); err != nil {
				t.Fatalf("round %d: down: %v", round, err)
			}
			var n int64
			if err := e.db.WithContext(e.a).Table("experiments").Count(&n).Error; err != nil || n != 1 {
				t.Fatalf("experiments after down: %d %v", n, err)
			}
			if err := e.db.WithContext(e.a).Table("runs").Count(&n).Error; err != nil || n != 1 {
				t.Fatalf("runs after down: %d %v", n, err)
			}
			if e.db.Migrator().HasTable("run_tags") {
				t.Fatal("down left run_tags")
			}
			if err := Migrate(ctx, e.db); err != nil {
				t.Fatalf("round %d: up: %v", round, err)
			}
		}
		if _, err := e.reg.TrackedRun(e.a, run.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("project-less run after down/up: %v", err)
		}
		exp2, err := e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "mlflow"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.CreateTrackedRun(e.a, exp2.ID, TrackedRunInput{Tags: map[string]string{"t": "v"}}); err != nil {
			t.Fatal(err)
		}
	})
}

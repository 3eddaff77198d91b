package registry

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestModelsVersionsAliases(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		m := must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: "churn", Description: "churn model"}))
		if _, err := e.reg.CreateModel(e.a, ModelInput{Name: "churn"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate model = %v", err)
		}
		must[*RegisteredModel](t)(e.reg.CreateModel(e.b, ModelInput{Name: "churn"}))
		for _, bad := range []ModelInput{{Name: ""}, {Name: "a/b"}} {
			if _, err := e.reg.CreateModel(e.a, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("model %+v = %v", bad, err)
			}
		}
		run := newRun(t, e)
		v1 := must[*ModelVersion](t)(e.reg.CreateModelVersion(e.a, "churn", ModelVersionInput{Source: "s3://models/churn/1", RunID: run.ID}))
		v2 := must[*ModelVersion](t)(e.reg.CreateModelVersion(e.a, "churn", ModelVersionInput{Source: "s3://models/churn/2"}))
		if v1.Version != 1 || v2.Version != 2 || v1.RunID == nil || *v1.RunID != run.ID || v2.RunID != nil {
			t.Fatalf("versions %+v %+v", v1, v2)
		}
		if bv := must[*ModelVersion](t)(e.reg.CreateModelVersion(e.b, "churn", ModelVersionInput{Source: "x"})); bv.Version != 1 {
			t.Fatalf("tenant b numbering starts at %d", bv.Version)
		}
		for _, bad := range []ModelVersionInput{{Source: ""}, {Source: "x", RunID: "nope"}, {Source: "x", RunID: "00000000-0000-0000-0000-000000000000"}} {
			if _, err := e.reg.CreateModelVersion(e.a, "churn", bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("version %+v = %v", bad, err)
			}
		}
		if _, err := e.reg.CreateModelVersion(e.a, "missing", ModelVersionInput{Source: "x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("version of missing model = %v", err)
		}
		if g := must[*RegisteredModel](t)(e.reg.GetModel(e.a, "churn")); g.LatestVersion != 2 || g.ID != m.ID {
			t.Fatalf("model = %+v", g)
		}
		if vs := must[[]ModelVersion](t)(items(e.reg.ListModelVersions(e.a, "churn", PageRequest{}))); len(vs) != 2 || vs[1].Version != 2 {
			t.Fatalf("versions = %+v", vs)
		}
		if ms := must[[]RegisteredModel](t)(items(e.reg.ListModels(e.a, PageRequest{}))); len(ms) != 1 {
			t.Fatalf("models = %+v", ms)
		}
		// Aliases.
		must[*ModelAlias](t)(e.reg.SetModelAlias(e.a, "churn", "champion", 1))
		if got := must[*ModelVersion](t)(e.reg.GetModelAlias(e.a, "churn", "champion")); got.Version != 1 {
			t.Fatalf("champion -> %d", got.Version)
		}
		must[*ModelAlias](t)(e.reg.SetModelAlias(e.a, "churn", "champion", 2))
		if got := must[*ModelVersion](t)(e.reg.GetModelAlias(e.a, "churn", "champion")); got.Version != 2 {
			t.Fatalf("moved champion -> %d", got.Version)
		}
		if _, err := e.reg.SetModelAlias(e.a, "churn", "challenger", 3); !errors.Is(err, ErrInvalid) {
			t.Fatalf("alias to a missing version = %v", err)
		}
		if _, err := e.reg.GetModelAlias(e.a, "churn", "challenger"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("refused alias exists: %v", err)
		}
		for _, bad := range []string{"", "Champion", "latest", "v2", "a b", "1st"} {
			if _, err := e.reg.SetModelAlias(e.a, "churn", bad, 1); !errors.Is(err, ErrInvalid) {
				t.Errorf("alias %q = %v", bad, err)
			}
		}
		if _, err := e.reg.SetModelAlias(e.b, "churn", "champion", 2); !errors.Is(err, ErrInvalid) {
			t.Fatalf("tenant b aliases a version it does not have: %v", err)
		}
		if _, err := e.reg.GetModelVersion(e.b, "churn", 2); !errors.Is(err, ErrNotFound) {
			t.Fatalf("tenant b reads a's version 2: %v", err)
		}
		if as := must[[]ModelAlias](t)(items(e.reg.ListModelAliases(e.a, "churn", PageRequest{}))); len(as) != 1 || as[0].Alias != "champion" {
			t.Fatalf("aliases = %+v", as)
		}
		if err := e.reg.DeleteModelAlias(e.b, "churn", "champion"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("tenant b deletes a's alias: %v", err)
		}
		if err := e.reg.DeleteModelAlias(e.a, "churn", "champion"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteModelAlias(e.a, "churn", "champion"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete = %v", err)
		}
		if _, err := e.reg.GetModelVersion(e.a, "churn", 9); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing version = %v", err)
		}
	})
}

func TestModelVersionNumberingConcurrent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: "m"}))
		const n = 10
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []int
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := e.reg.CreateModelVersion(e.a, "m", ModelVersionInput{Source: "x"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, v.Version)
				mu.Unlock()
			}()
		}
		wg.Wait()
		sort.Ints(got)
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("versions %v, want 1..%d each once", got, n)
			}
		}
	})
}

func TestPredictions(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "p")
		in := PredictionInput{ModelVersion: "meta-3", PredictedScore: 70, IntervalLow: 60, IntervalHigh: 80, Confidence: 0.9}
		must[*Prediction](t)(e.reg.RecordPrediction(e.a, p.ID, in))
		cmp := must[[]PredictionComparison](t)(items(e.reg.ListPredictions(e.a, p.ID, PageRequest{})))
		if len(cmp) != 1 || cmp[0].Actual != nil || cmp[0].PredictedScore != 70 {
			t.Fatalf("before outcome: %+v", cmp)
		}
		done := must[*Project](t)(e.reg.RecordOutcome(e.a, p.ID, Outcome{0.9, 20000, 40, 300}))
		cmp = must[[]PredictionComparison](t)(items(e.reg.ListPredictions(e.a, p.ID, PageRequest{})))
		if cmp[0].Actual == nil || *cmp[0].Actual != *done.SuccessScore || *cmp[0].WithinInterval != (*done.SuccessScore >= 60 && *done.SuccessScore <= 80) {
			t.Fatalf("after outcome: %+v (score %v)", cmp[0], *done.SuccessScore)
		}
		for _, bad := range []PredictionInput{
			{ModelVersion: "", PredictedScore: 50, IntervalLow: 40, IntervalHigh: 60},
			{ModelVersion: "m", PredictedScore: 101, IntervalLow: 40, IntervalHigh: 60},
			{ModelVersion: "m", PredictedScore: 50, IntervalLow: 55, IntervalHigh: 60},
			{ModelVersion: "m", PredictedScore: 50, IntervalLow: 40, IntervalHigh: 60, Confidence: 2},
		} {
			if _, err := e.reg.RecordPrediction(e.a, p.ID, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v = %v", bad, err)
			}
		}
		if _, err := e.reg.RecordPrediction(e.b, p.ID, in); !errors.Is(err, ErrNotFound) {
			t.Fatalf("prediction for another tenant's project = %v", err)
		}
		if _, err := e.reg.ListPredictions(e.b, p.ID, PageRequest{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("list another tenant's predictions = %v", err)
		}
	})
}

// TestModelUpdateRenameDelete: a rename keeps the model's versions and
// aliases and frees the old name; a deleted version's aliases go and its
// number is never given again; deleting a model deletes its versions and
// aliases and leaves the run alone; another tenant's model is not found.
func TestModelUpdateRenameDelete(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		run := newRun(t, e)
		must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: "churn"}))
		must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: "taken"}))
		must[*RegisteredModel](t)(e.reg.CreateModel(e.b, ModelInput{Name: "other"}))
		for range 3 {
			must[*ModelVersion](t)(e.reg.CreateModelVersion(e.a, "churn", ModelVersionInput{Source: "s", RunID: run.ID}))
		}
		must[*ModelAlias](t)(e.reg.SetModelAlias(e.a, "churn", "champion", 3))
		must[*ModelAlias](t)(e.reg.SetModelAlias(e.a, "churn", "old", 1))
		desc, name := "new words", "churn2"
		m := must[*RegisteredModel](t)(e.reg.UpdateModel(e.a, "churn", ModelUpdate{Description: &desc}))
		if m.Description != desc || m.Name != "churn" {
			t.Fatalf("update = %+v", m)
		}
		taken, bad, empty := "taken", "a/b", ""
		if _, err := e.reg.UpdateModel(e.a, "churn", ModelUpdate{Name: &taken}); !errors.Is(err, ErrConflict) {
			t.Fatalf("rename onto a taken name = %v", err)
		}
		for _, n := range []*string{&bad, &empty} {
			if _, err := e.reg.UpdateModel(e.a, "churn", ModelUpdate{Name: n}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("rename to %q = %v", *n, err)
			}
		}
		if _, err := e.reg.UpdateModel(e.b, "churn", ModelUpdate{Description: &desc}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant's update = %v", err)
		}
		m = must[*RegisteredModel](t)(e.reg.UpdateModel(e.a, "churn", ModelUpdate{Name: &name}))
		if m.Name != name || m.Description != desc {
			t.Fatalf("rename = %+v", m)
		}
		if _, err := e.reg.GetModel(e.a, "churn"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("old name = %v", err)
		}
		if v := must[*ModelVersion](t)(e.reg.GetModelAlias(e.a, name, "champion")); v.Version != 3 {
			t.Fatalf("alias after rename -> %d", v.Version)
		}
		// Version update and delete.
		vdesc := "v2"
		if v := must[*ModelVersion](t)(e.reg.UpdateModelVersion(e.a, name, 2, ModelVersionUpdate{Description: &vdesc})); v.Description != vdesc || v.Source != "s" {
			t.Fatalf("version update = %+v", v)
		}
		if _, err := e.reg.UpdateModelVersion(e.a, name, 9, ModelVersionUpdate{Description: &vdesc}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update of a missing version = %v", err)
		}
		if err := e.reg.DeleteModelVersion(e.b, name, 3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant's version delete = %v", err)
		}
		if err := e.reg.DeleteModelVersion(e.a, name, 3); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteModelVersion(e.a, name, 3); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete = %v", err)
		}
		if _, err := e.reg.GetModelAlias(e.a, name, "champion"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("alias of the deleted version = %v", err)
		}
		if v := must[*ModelVersion](t)(e.reg.GetModelAlias(e.a, name, "old")); v.Version != 1 {
			t.Fatalf("other alias -> %d", v.Version)
		}
		if vs := must[[]ModelVersion](t)(e.reg.LatestModelVersions(e.a, name)); len(vs) != 1 || vs[0].Version != 2 {
			t.Fatalf("latest after delete = %+v", vs)
		}
		if v := must[*ModelVersion](t)(e.reg.CreateModelVersion(e.a, name, ModelVersionInput{Source: "s"})); v.Version != 4 {
			t.Fatalf("number after a deleted version = %d, want 4 (never reused)", v.Version)
		}
		// Model delete.
		if err := e.reg.DeleteModel(e.b, name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant's model delete = %v", err)
		}
		if err := e.reg.DeleteModel(e.a, name); err != nil {
			t.Fatal(err)
		}
		if _, err := e.reg.GetModel(e.a, name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted model = %v", err)
		}
		for _, tbl := range []string{"model_versions", "model_aliases"} {
			var n int64
			if err := e.db.WithContext(e.a).Table(tbl).Where("model_id = ?", m.ID).Count(&n).Error; err != nil || n != 0 {
				t.Fatalf("%s rows left: %d, %v", tbl, n, err)
			}
		}
		if _, err := e.reg.GetRun(e.a, run.ID); err != nil {
			t.Fatalf("the run after its model was deleted: %v", err)
		}
		if vs, err := e.reg.LatestModelVersions(e.a, "taken"); err != nil || len(vs) != 0 {
			t.Fatalf("latest of a model without versions = %+v, %v", vs, err)
		}
		// The name is free again.
		must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: name}))
		must[*RegisteredModel](t)(e.reg.GetModel(e.b, "other"))
	})
}

// TestModelTagsAndStages: tags of models and versions (set, overwrite,
// delete, limits, shown on reads, gone with their version), stage
// transitions with and without archiving, latest version per stage.
func TestModelTagsAndStages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: "m", Tags: map[string]string{"team": "a"}}))
		if _, err := e.reg.CreateModel(e.a, ModelInput{Name: "bad", Tags: map[string]string{"": "x"}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad tag key = %v", err)
		}
		if _, err := e.reg.GetModel(e.a, "bad"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a refused model was stored: %v", err)
		}
		for i := 1; i <= 3; i++ {
			must[*ModelVersion](t)(e.reg.CreateModelVersion(e.a, "m", ModelVersionInput{Source: "s", Tags: map[string]string{"n": strconv.Itoa(i)}}))
		}
		if err := e.reg.SetModelTag(e.a, "m", "team", "b"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.SetModelTag(e.a, "m", "k", strings.Repeat("x", MaxTagValueBytes+1)); !errors.Is(err, ErrInvalid) {
			t.Fatalf("long value = %v", err)
		}
		if err := e.reg.SetModelTag(e.a, "m", strings.Repeat("k", MaxTagKeyLength+1), "v"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("long key = %v", err)
		}
		if err := e.reg.SetModelTag(e.b, "m", "team", "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant's tag = %v", err)
		}
		if m := must[*RegisteredModel](t)(e.reg.GetModel(e.a, "m")); len(m.Tags) != 1 || m.Tags["team"] != "b" {
			t.Fatalf("model tags %+v", m.Tags)
		}
		if err := e.reg.SetModelVersionTag(e.a, "m", 2, "ok", "yes"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.SetModelVersionTag(e.a, "m", 9, "ok", "yes"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("tag of a missing version = %v", err)
		}
		if v := must[*ModelVersion](t)(e.reg.GetModelVersion(e.a, "m", 2)); v.Tags["ok"] != "yes" || v.Tags["n"] != "2" || v.Stage != StageNone {
			t.Fatalf("version 2 %+v", v)
		}
		if err := e.reg.DeleteModelVersionTag(e.a, "m", 2, "ok"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteModelVersionTag(e.a, "m", 2, "ok"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second tag delete = %v", err)
		}
		if err := e.reg.DeleteModelTag(e.a, "m", "team"); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteModelTag(e.a, "m", "team"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second model tag delete = %v", err)
		}
		// Stages.
		must[*ModelVersion](t)(e.reg.TransitionModelVersionStage(e.a, "m", 1, "production", false))
		if _, err := e.reg.TransitionModelVersionStage(e.a, "m", 2, "Shipping", false); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown stage = %v", err)
		}
		if _, err := e.reg.TransitionModelVersionStage(e.a, "m", 2, "None", true); !errors.Is(err, ErrInvalid) {
			t.Fatalf("archiving on a move to None = %v", err)
		}
		if v := must[*ModelVersion](t)(e.reg.TransitionModelVersionStage(e.a, "m", 2, "Production", true)); v.Stage != StageProduction {
			t.Fatalf("transition %+v", v)
		}
		if v := must[*ModelVersion](t)(e.reg.GetModelVersion(e.a, "m", 1)); v.Stage != StageArchived {
			t.Fatalf("archived %+v", v)
		}
		stage := "staging"
		must[*ModelVersion](t)(e.reg.UpdateModelVersion(e.a, "m", 3, ModelVersionUpdate{Stage: &stage}))
		got := must[[]ModelVersion](t)(e.reg.LatestModelVersions(e.a, "m"))
		if len(got) != 3 || got[0].Stage != StageArchived || got[1].Stage != StageProduction || got[2].Stage != StageStaging {
			t.Fatalf("latest per stage %+v", got)
		}
		if got := must[[]ModelVersion](t)(e.reg.LatestModelVersions(e.a, "m", "Production", "None")); len(got) != 1 || got[0].Version != 2 {
			t.Fatalf("latest in Production, None: %+v", got)
		}
		if _, err := e.reg.LatestModelVersions(e.a, "m", "Bogus"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("unknown stage = %v", err)
		}
		// A deleted version takes its tags.
		if err := e.reg.DeleteModelVersion(e.a, "m", 3); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := e.db.WithContext(e.a).Table("model_version_tags").Where("version = 3").Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("tags of a deleted version: %d, %v", n, err)
		}
		if err := e.reg.DeleteModel(e.a, "m"); err != nil {
			t.Fatal(err)
		}
		// At most MaxEntityTags: the one beyond is refused and not stored.
		many := map[string]string{}
		for i := range MaxEntityTags {
			many["k"+strconv.Itoa(i)] = "v"
		}
		must[*RegisteredModel](t)(e.reg.CreateModel(e.a, ModelInput{Name: "full", Tags: many}))
		var tooLarge *TooLargeError
		if err := e.reg.SetModelTag(e.a, "full", "one-more", "v"); !errors.As(err, &tooLarge) {
			t.Fatalf("tag beyond the limit = %v", err)
		}
		if err := e.reg.SetModelTag(e.a, "full", "k0", "changed"); err != nil {
			t.Fatalf("overwriting a tag at the limit: %v", err)
		}
		if m := must[*RegisteredModel](t)(e.reg.GetModel(e.a, "full")); len(m.Tags) != MaxEntityTags || m.Tags["k0"] != "changed" {
			t.Fatalf("tags at the limit: %d", len(m.Tags))
		}
	})
}

// modelTagTables are the tables migration step 9 creates.
var modelTagTables = map[string]bool{"registered_model_tags": true, "model_version_tags": true}

// TestMigrateModelTagsDownUp: reversing step 9 drops the tags and the
// stages and keeps the models and versions; applying it again gives every
// version the stage None and a working tag schema.
func TestMigrateModelTagsDownUp(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := e.a
		must[*RegisteredModel](t)(e.reg.CreateModel(ctx, ModelInput{Name: "m", Tags: map[string]string{"k": "v"}}))
		must[*ModelVersion](t)(e.reg.CreateModelVersion(ctx, "m", ModelVersionInput{Source: "s"}))
		must[*ModelVersion](t)(e.reg.TransitionModelVersionStage(ctx, "m", 1, StageProduction, false))
		if err := MigrateDown(context.Background(), e.db, 8); err != nil {
			t.Fatal(err)
		}
		for tbl := range modelTagTables {
			if e.db.Migrator().HasTable(tbl) {
				t.Fatalf("%s left after down", tbl)
			}
		}
		if err := Migrate(context.Background(), e.db); err != nil {
			t.Fatal(err)
		}
		v := must[*ModelVersion](t)(e.reg.GetModelVersion(ctx, "m", 1))
		if v.Stage != StageNone || len(v.Tags) != 0 || v.Source != "s" {
			t.Fatalf("version after down/up %+v", v)
		}
		if m := must[*RegisteredModel](t)(e.reg.GetModel(ctx, "m")); len(m.Tags) != 0 {
			t.Fatalf("model after down/up %+v", m)
		}
		if err := e.reg.SetModelTag(ctx, "m", "k", "v2"); err != nil {
			t.Fatal(err)
		}
	})
}

package registry

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// populate writes a row into every registry table for the context's
// tenant.
func populate(t *testing.T, e *env, ctx context.Context) {
	t.Helper()
	p := must[*Project](t)(e.reg.CreateProject(ctx, ProjectInput{Name: "p", ProblemClass: Forecasting, ComplexityScore: 4, TeamSize: 2, Tags: []string{"x"}}))
	must[*TeamMember](t)(e.reg.AddTeamMember(ctx, p.ID, TeamMemberInput{Name: "n", Role: "r", ExperienceLevel: Mid}))
	if err := e.reg.RecordProcessMetrics(ctx, p.ID, []ProcessMetricInput{{MetricType: MetricCommits, Value: 3}}); err != nil {
		t.Fatal(err)
	}
	a := must[*Artifact](t)(e.reg.CreateArtifact(ctx, ArtifactInput{Name: "a", Type: Dataset, Version: "1", Tags: []string{"y"}}))
	must[*Artifact](t)(e.reg.PutArtifactContent(ctx, a.ID, strings.NewReader("content")))
	must[*ArtifactUsage](t)(e.reg.RecordArtifactUsage(ctx, a.ID, ArtifactUsageInput{ProjectID: p.ID, ImpactScore: ptr(50.0)}))
	x := must[*Experiment](t)(e.reg.CreateExperiment(ctx, p.ID, ExperimentInput{Name: "x"}))
	run := must[*Run](t)(e.reg.CreateRun(ctx, x.ID, RunInput{Params: map[string]string{"k": "v"}}))
	if err := e.reg.LogMetrics(ctx, run.ID, []MetricPoint{{Key: "loss", Value: 0.5}, {Key: "loss", Value: 0.4, Step: 1}}); err != nil {
		t.Fatal(err)
	}
	must[*RegisteredModel](t)(e.reg.CreateModel(ctx, ModelInput{Name: "m"}))
	must[*ModelVersion](t)(e.reg.CreateModelVersion(ctx, "m", ModelVersionInput{Source: "s", RunID: run.ID}))
	must[*ModelAlias](t)(e.reg.SetModelAlias(ctx, "m", "prod", 1))
	if err := e.reg.SetModelTag(ctx, "m", "team", "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.SetModelVersionTag(ctx, "m", 1, "ok", "yes"); err != nil {
		t.Fatal(err)
	}
	must[*Project](t)(e.reg.RecordOutcome(ctx, p.ID, Outcome{0.8, 100, 10, 5}))
	must[*Prediction](t)(e.reg.RecordPrediction(ctx, p.ID, PredictionInput{ModelVersion: "v", PredictedScore: 50, IntervalLow: 40, IntervalHigh: 60, Confidence: 0.8}))
}

// snapshot returns every registry row of the context's tenant, as JSON per
// table.
func snapshot(t *testing.T, e *env, ctx context.Context) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range TenantTables() {
		if trackingTables[tbl] || modelTagTables[tbl] || loggedModelTables[tbl] {
			continue // steps 8, 9 and 10's; TestMigrateTrackingDownUp, TestMigrateModelTagsDownUp and TestMigrateLoggedModelsDownUp cover them
		}
		var rows []map[string]any
		if err := e.db.WithContext(ctx).Table(tbl).Order("1, 2, 3").Find(&rows).Error; err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		if len(rows) == 0 {
			t.Fatalf("%s has no rows: populate is incomplete", tbl)
		}
		for _, r := range rows {
			if r["tenant_id"] != tenantA {
				t.Fatalf("%s: row of tenant %v in tenant a's snapshot", tbl, r["tenant_id"])
			}
		}
		b, _ := json.Marshal(rows)
		out[tbl] = string(b)
	}
	return out
}

func TestMigrateDownUpKeepsData(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		populate(t, e, e.a)
		populate(t, e, e.b)
		before := snapshot(t, e, e.a)
		for round := range 2 {
			// Steps 6 and 7 only add indexes: reversing them keeps every row.
			if err := MigrateDown(ctx, e.db, 5); err != nil {
				t.Fatal(err)
			}
			if v, err := CurrentSchemaVersion(ctx, e.db); err != nil || v != 5 {
				t.Fatalf("round %d: version after down = %d, %v", round, v, err)
			}
			if e.db.Migrator().HasIndex(&Project{}, "ix_projects_class") {
				t.Fatal("down step 6 left its index")
			}
			if e.db.Migrator().HasIndex(&metricPoint{}, "ix_metric_points_step") {
				t.Fatal("down step 7 left its index")
			}
			if e.db.Migrator().HasIndex(&metricSeries{}, "ix_metric_series_latest") {
				t.Fatal("down step 12 left its index")
			}
			if err := Migrate(ctx, e.db); err != nil {
				t.Fatal(err)
			}
			if v, _ := CurrentSchemaVersion(ctx, e.db); v != SchemaVersion {
				t.Fatalf("version after up = %d", v)
			}
			if !e.db.Migrator().HasIndex(&metricSeries{}, "ix_metric_series_latest") {
				t.Fatal("step 12 made no index")
			}
		}
		after := snapshot(t, e, e.a)
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s changed across down/up:\nbefore %s\nafter  %s", k, v, after[k])
			}
		}
		// The registry still works on the re-migrated schema.
		page := must[Page[Project]](t)(e.reg.ListProjects(e.a, ProjectFilter{ProblemClass: Forecasting}))
		if len(page.Items) != 1 {
			t.Fatalf("projects after down/up: %d", len(page.Items))
		}
	})
}

func TestMigrateFullDownAndUp(t *testing.T) {
	t.Parallel()
	for name, open := range testenvDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			if v, err := CurrentSchemaVersion(ctx, db); err != nil || v != 0 {
				t.Fatalf("fresh database at version %d, %v", v, err)
			}
			for range 2 {
				if err := Migrate(ctx, db); err != nil {
					t.Fatal(err)
				}
				if err := Migrate(ctx, db); err != nil {
					t.Fatalf("second Migrate: %v", err)
				}
				for _, tbl := range TenantTables() {
					if !db.Migrator().HasTable(tbl) {
						t.Fatalf("table %s missing after Migrate", tbl)
					}
				}
				if err := MigrateDown(ctx, db, 0); err != nil {
					t.Fatal(err)
				}
				for _, tbl := range TenantTables() {
					if db.Migrator().HasTable(tbl) {
						t.Fatalf("table %s left after MigrateDown(0)", tbl)
					}
				}
			}
			if err := MigrateDown(ctx, db, 99); err == nil {
				t.Fatal("MigrateDown to an unknown version succeeded")
			}
		})
	}
}

// Command quickstart-registry records an ML project's life in the
// registry on SQLite: the project and its team, an experiment whose run
// logs metrics, a reusable artifact with content and its measured impact,
// the project's outcome and success score, and a registered model whose
// "champion" alias points at a version. Everything is scoped to a tenant.
//
//	go run ./examples/quickstart-registry
package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart-registry:", err)
		os.Exit(1)
	}
}

// openRegistry is what a host does once at start-up: a database with the
// tenancy plugin, the registry's migrations, and a blob store for artifact
// content (files here; registry.NewS3Store for object storage).
func openRegistry(ctx context.Context, dir string) (*registry.Registry, error) {
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "registry.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		return nil, err
	}
	if err := registry.Migrate(ctx, db); err != nil { // schema work: no tenant needed
		return nil, err
	}
	blobs, err := registry.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	return registry.New(db, registry.WithBlobStore(blobs))
}

// run walks through the registry and writes what happens to w.
func run(ctx context.Context, w io.Writer) error {
	dir, err := os.MkdirTemp("", "quickstart-registry")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	reg, err := openRegistry(ctx, dir)
	if err != nil {
		return err
	}
	// Every call below works in tenant "acme": in a server the tenant
	// comes from the authenticated principal (tenancy.Middleware).
	ctx = tenancy.WithTenant(ctx, "acme")

	// 1. A project with a structured specification and its team.
	p, err := reg.CreateProject(ctx, registry.ProjectInput{
		Name: "Churn prediction", ProblemClass: registry.Classification, ComplexityScore: 6, TeamSize: 3,
		Description: "Predict which subscribers cancel next month.",
		Spec: registry.Spec{
			UserStories: []string{"As a retention agent I call the subscribers most likely to leave first"},
			DataModels:  []registry.DataModel{{Entity: "Subscriber", Fields: []string{"id", "plan", "tenure_months"}}},
		},
		Tags: []string{"retention"},
	})
	if err != nil {
		return err
	}
	for _, m := range []registry.TeamMemberInput{
		{Name: "Ana", Role: "data_scientist", ExperienceLevel: registry.Senior, ContributionHours: 320},
		{Name: "Ben", Role: "ml_engineer", ExperienceLevel: registry.Mid, ContributionHours: 240},
	} {
		if _, err := reg.AddTeamMember(ctx, p.ID, m); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "project %q: %s, complexity %d\n", p.Name, p.Status, p.ComplexityScore)

	// 2. An experiment with a run that logs a training curve in one batch
	// (all or nothing); the history comes back downsampled.
	exp, err := reg.CreateExperiment(ctx, p.ID, registry.ExperimentInput{Name: "gradient boosting"})
	if err != nil {
		return err
	}
	run, err := reg.CreateRun(ctx, exp.ID, registry.RunInput{Name: "depth-6", Params: map[string]string{"max_depth": "6", "eta": "0.1"}})
	if err != nil {
		return err
	}
	points := make([]registry.MetricPoint, 0, 200)
	for step := range int64(100) {
		points = append(points,
			registry.MetricPoint{Key: "loss", Step: step, Value: 0.7 * math.Exp(-float64(step)/30)},
			registry.MetricPoint{Key: "auc", Step: step, Value: 0.95 - 0.4*math.Exp(-float64(step)/25)})
	}
	if err := reg.LogMetrics(ctx, run.ID, points); err != nil {
		return err
	}
	if _, err := reg.SetRunStatus(ctx, run.ID, registry.RunFinished); err != nil {
		return err
	}
	hist, err := reg.MetricHistory(ctx, run.ID, "auc", 3)
	if err != nil {
		return err
	}
	for _, v := range hist {
		fmt.Fprintf(w, "auc at step %d: %.3f\n", v.Step, v.Value)
	}

	// 3. A reusable artifact: its content goes to the blob store under its
	// SHA-256, and projects record how much using it helped.
	a, err := reg.CreateArtifact(ctx, registry.ArtifactInput{Name: "subscriber features", Type: registry.FeaturePipeline, Version: "1.2.0"})
	if err != nil {
		return err
	}
	if a, err = reg.PutArtifactContent(ctx, a.ID, strings.NewReader("SELECT id, plan, tenure_months FROM subscribers")); err != nil {
		return err
	}
	impact := 80.0
	if _, err := reg.RecordArtifactUsage(ctx, a.ID, registry.ArtifactUsageInput{ProjectID: p.ID, ImpactScore: &impact}); err != nil {
		return err
	}
	if a, err = reg.GetArtifact(ctx, a.ID); err != nil {
		return err
	}
	fmt.Fprintf(w, "artifact %q: %d bytes, used %d time(s), mean impact %.0f\n", a.Name, a.SizeBytes, a.UsageCount, *a.AvgImpactScore)

	// 4. The outcome completes the project and scores it (0-100) with the
	// documented weights; the meta-learner trains on these scores.
	p, err = reg.RecordOutcome(ctx, p.ID, registry.Outcome{ModelPerformance: 0.91, BusinessImpact: 120000, DeploymentDays: 42, ComputeCost: 800})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "outcome recorded: %s, success score %.2f\n", p.Status, *p.SuccessScore)

	// 5. A registered model with versions; the "champion" alias says
	// which one serves.
	if _, err := reg.CreateModel(ctx, registry.ModelInput{Name: "churn"}); err != nil {
		return err
	}
	for _, src := range []string{"file:///models/churn/1", "file:///models/churn/2"} {
		if _, err := reg.CreateModelVersion(ctx, "churn", registry.ModelVersionInput{Source: src, RunID: run.ID}); err != nil {
			return err
		}
	}
	if _, err := reg.SetModelAlias(ctx, "churn", "champion", 2); err != nil {
		return err
	}
	champion, err := reg.GetModelAlias(ctx, "churn", "champion")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "churn@champion is version %d from %s\n", champion.Version, champion.Source)

	// 6. Another tenant sees none of it.
	page, err := reg.ListProjects(tenancy.WithTenant(context.Background(), "globex"), registry.ProjectFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "projects visible to tenant globex:", len(page.Items))
	return nil
}

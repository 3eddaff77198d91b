package registry_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// openRegistry prepares what a host does once at start-up: a database
// with the tenancy plugin, the registry schema, and a Registry with a
// blob store.
func openRegistry(dir string) (*registry.Registry, error) {
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "maestro.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		return nil, err
	}
	if err := registry.Migrate(context.Background(), db); err != nil {
		return nil, err
	}
	blobs, err := registry.NewFileStore(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	return registry.New(db, registry.WithBlobStore(blobs))
}

func Example() {
	dir, _ := os.MkdirTemp("", "maestro-example")
	defer os.RemoveAll(dir)
	reg, err := openRegistry(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := tenancy.WithTenant(context.Background(), "acme")

	p, err := reg.CreateProject(ctx, registry.ProjectInput{
		Name: "Churn prediction", ProblemClass: registry.Classification,
		ComplexityScore: 6, TeamSize: 4, Tags: []string{"retention"},
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err = reg.RecordOutcome(ctx, p.ID, registry.Outcome{
		ModelPerformance: 0.91, BusinessImpact: 120000, DeploymentDays: 42, ComputeCost: 800,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status, *p.SuccessScore)

	// Another tenant sees nothing of acme's.
	other := tenancy.WithTenant(context.Background(), "globex")
	page, _ := reg.ListProjects(other, registry.ProjectFilter{})
	fmt.Println(len(page.Items))
	// Output:
	// completed 73.53
	// 0
}

func ExampleSuccessScore() {
	score, err := registry.SuccessScore(
		registry.Outcome{ModelPerformance: 0.8, BusinessImpact: 50000, DeploymentDays: 30, ComputeCost: 2000},
		registry.DefaultScoreWeights(), registry.DefaultScoreScales())
	fmt.Println(score, err)
	// Output: 66.86 <nil>
}

func ExampleRegistry_LogMetrics() {
	dir, _ := os.MkdirTemp("", "maestro-example")
	defer os.RemoveAll(dir)
	reg, err := openRegistry(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := tenancy.WithTenant(context.Background(), "acme")
	p, _ := reg.CreateProject(ctx, registry.ProjectInput{Name: "p", ProblemClass: registry.Regression, ComplexityScore: 3, TeamSize: 2})
	exp, _ := reg.CreateExperiment(ctx, p.ID, registry.ExperimentInput{Name: "baseline"})
	run, _ := reg.CreateRun(ctx, exp.ID, registry.RunInput{Params: map[string]string{"lr": "0.01"}})

	points := make([]registry.MetricPoint, 100)
	for i := range points {
		points[i] = registry.MetricPoint{Key: "loss", Value: 1 / float64(i+1), Step: int64(i)}
	}
	if err := reg.LogMetrics(ctx, run.ID, points); err != nil {
		log.Fatal(err)
	}
	// Five evenly spaced points, always including the first and the last.
	hist, _ := reg.MetricHistory(ctx, run.ID, "loss", 5)
	for _, v := range hist {
		fmt.Print(v.Step, " ")
	}
	fmt.Println()
	// Output: 0 24 49 74 99
}

func ExampleRegistry_PutArtifactContent() {
	dir, _ := os.MkdirTemp("", "maestro-example")
	defer os.RemoveAll(dir)
	reg, err := openRegistry(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := tenancy.WithTenant(context.Background(), "acme")
	a, _ := reg.CreateArtifact(ctx, registry.ArtifactInput{Name: "customer features", Type: registry.FeaturePipeline, Version: "1.0.0"})
	a, err = reg.PutArtifactContent(ctx, a.ID, strings.NewReader("SELECT id, tenure FROM customers"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.SizeBytes, a.ContentSHA256[:12])
	// Output: 32 a5ab92055207
}

func ExampleRegistry_SetModelAlias() {
	dir, _ := os.MkdirTemp("", "maestro-example")
	defer os.RemoveAll(dir)
	reg, err := openRegistry(dir)
	if err != nil {
		log.Fatal(err)
	}
	ctx := tenancy.WithTenant(context.Background(), "acme")
	reg.CreateModel(ctx, registry.ModelInput{Name: "churn"})
	reg.CreateModelVersion(ctx, "churn", registry.ModelVersionInput{Source: "file:///models/churn/1"})
	v2, _ := reg.CreateModelVersion(ctx, "churn", registry.ModelVersionInput{Source: "file:///models/churn/2"})
	reg.SetModelAlias(ctx, "churn", "champion", v2.Version)

	champion, _ := reg.GetModelAlias(ctx, "churn", "champion")
	fmt.Println(champion.Version, champion.Source)
	_, err = reg.SetModelAlias(ctx, "churn", "challenger", 7)
	fmt.Println(err)
	// Output:
	// 2 file:///models/churn/2
	// registry: invalid input: version: model "churn" has no version 7
}

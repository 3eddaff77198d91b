package metalearn_test

import (
	"context"
	"fmt"
	"log"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/tenancy"
)

// history builds 80 completed projects in which the best team size is one
// more than the complexity score and missing it costs success points.
func history() []metalearn.Record {
	classes := []string{metalearn.ClassNLP, metalearn.ClassForecasting, metalearn.ClassClassification}
	var out []metalearn.Record
	for i := 0; i < 80; i++ {
		complexity := float64(1 + i%10)
		team := 1 + (i*7)%13
		miss := float64(team) - (complexity + 1)
		out = append(out, metalearn.Record{
			Features: metalearn.ProjectFeatures{
				ProblemClass: classes[i%3],
				Complexity:   complexity,
				TeamSize:     team,
				ProcessMetrics: map[string]float64{
					metalearn.MetricPipelineSuccessRate: 0.6 + 0.05*float64(i%7),
				},
			},
			Outcome: metalearn.Outcome{
				SuccessScore:   90 - 0.5*miss*miss + float64(i%5),
				DeploymentDays: 10 + 3*complexity + float64(i%4),
				ComputeCost:    100 * float64(team) * (1 + float64(i%3)/10),
			},
		})
	}
	return out
}

// Train a meta-model on a tenant's history, then ask it about a new
// project: the prediction with its interval, and the team size it expects
// to do best.
func ExampleTrain() {
	ctx := context.Background()
	model, err := metalearn.Train(ctx, history(), metalearn.WithCoverage(0.9))
	if err != nil {
		log.Fatal(err)
	}
	project := metalearn.ProjectFeatures{ProblemClass: metalearn.ClassNLP, Complexity: 6, TeamSize: 2}
	forecast, err := model.Predict(project)
	if err != nil {
		log.Fatal(err)
	}
	s := forecast.Success
	lo, hi, bounded := s.Interval()
	fmt.Printf("interval holds the prediction: %v (nominal coverage %.0f%%)\n", bounded && lo <= s.Value && s.Value <= hi, 100*s.IntervalCoverage)
	met := model.Metrics(metalearn.TargetSuccess)
	fmt.Printf("beats the mean baseline: %v\n", met.CVMAE < met.BaselineMAE)
	for _, c := range []float64{2, 9} {
		project.Complexity = c
		team, err := model.BestTeamSize(project, 12)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("complexity %.0f: planned %d, recommended %d (probability better %.2f)\n", c, team.PlannedSize, team.RecommendedSize, team.ProbabilityBetter)
	}
	// Output:
	// interval holds the prediction: true (nominal coverage 90%)
	// beats the mean baseline: true
	// complexity 2: planned 2, recommended 3 (probability better 0.87)
	// complexity 9: planned 2, recommended 10 (probability better 1.00)
}

// Store a tenant's models in a database, and recommend with the active one.
func ExampleRecommender() {
	ctx := context.Background()
	db, err := gorm.Open(sqlite.Open("file:example?mode=memory&cache=shared"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.Use(tenancy.NewPlugin()); err != nil {
		log.Fatal(err)
	}
	if err := metalearn.Migrate(ctx, db); err != nil { // platform work: no tenant
		log.Fatal(err)
	}
	store := metalearn.NewStore(db)
	acme := tenancy.WithTenant(ctx, "acme")

	// A quadratic ridge is enough for this history and trains in
	// milliseconds; by default Train also tries a Gaussian process.
	model, err := metalearn.Train(acme, history(), metalearn.WithKinds(metalearn.KindRidgeQuadratic))
	if err != nil {
		log.Fatal(err)
	}
	info, err := store.Save(acme, model)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("saved version", info.Version)

	rec, err := metalearn.NewRecommender(store).Recommend(acme, metalearn.Query{
		Features: metalearn.ProjectFeatures{ProblemClass: metalearn.ClassForecasting, Complexity: 4, TeamSize: 9},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("model version", rec.ModelVersion)
	fmt.Println("recommended team size", rec.Team.RecommendedSize)
	fmt.Println("top factor:", rec.Forecast.Success.TopFactors[0].Feature)
	// Output:
	// saved version 1
	// model version 1
	// recommended team size 5
	// top factor: team_size
}

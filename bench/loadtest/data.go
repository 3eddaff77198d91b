package loadtest

import (
	"fmt"
	"math"
	"math/rand/v2"

	mc "github.com/maestro-ml/maestro/client"
)

// The workload's synthetic content: plausible ML project descriptions,
// specifications and artifacts, generated deterministically from a seed
// so that two runs with the same Config send the same data.

var problemClasses = []string{
	"classification", "regression", "forecasting", "nlp", "computer_vision",
	"recommendation", "anomaly_detection", "other",
}

var artifactTypes = []string{"feature_pipeline", "model_template", "schema", "notebook", "dataset", "other"}

var experienceLevels = []string{"junior", "mid", "senior", "principal"}

// domains pairs a business domain with the entity it is about.
var domains = []struct{ topic, entity string }{
	{"customer churn", "Customer"}, {"payment fraud", "Transaction"}, {"retail demand", "Sale"},
	{"support ticket routing", "Ticket"}, {"defect detection", "Image"}, {"product recommendations", "Interaction"},
	{"sensor anomalies", "Reading"}, {"credit risk", "Loan"}, {"energy load", "Meter"},
	{"document classification", "Document"}, {"price elasticity", "Offer"}, {"fleet maintenance", "Vehicle"},
}

var artifactWords = []string{
	"feature store loader", "time series splitter", "gradient boosting template", "text tokenizer",
	"image augmentation", "schema validator", "label encoder", "drift monitor", "embedding pipeline",
	"cross validation notebook", "holiday calendar", "geo features",
}

// searchWords are queries virtual users type into the artifact search.
var searchWords = []string{"feature", "template", "time", "text", "image", "schema", "drift", "notebook", "geo", "label"}

// projectInput returns the body of POST /api/v1/projects for the i-th
// project of a tenant.
func projectInput(rng *rand.Rand, tenant string, i int) mc.ProjectInput {
	d := domains[rng.IntN(len(domains))]
	class := problemClasses[rng.IntN(len(problemClasses))]
	return mc.ProjectInput{
		Name:            fmt.Sprintf("%s %s %d", d.topic, class, i),
		ProblemClass:    class,
		ComplexityScore: 1 + rng.IntN(10),
		TeamSize:        2 + rng.IntN(9),
		Description:     fmt.Sprintf("Predict %s for %s from historical %s records.", d.topic, tenant, d.entity),
		Tags:            []string{class, "loadtest"},
		Spec:            specFor(rng, d.topic, d.entity),
	}
}

// specFor returns a project specification about topic and entity.
func specFor(rng *rand.Rand, topic, entity string) *mc.SpecInput {
	stories := []string{
		fmt.Sprintf("As an analyst I want a daily %s score for every %s", topic, entity),
		fmt.Sprintf("As an operator I want alerts when %s predictions drift", topic),
		fmt.Sprintf("As a manager I want a dashboard of %s trends", topic),
	}
	return &mc.SpecInput{
		UserStories: stories[:1+rng.IntN(len(stories))],
		FunctionalRequirements: []string{
			fmt.Sprintf("Score each %s within one hour of ingestion", entity),
			"Retrain weekly on the latest labelled data",
		},
		NonFunctionalRequirements: []string{"p99 scoring latency under 200 ms", "audit log of every prediction"},
		DataModels:                []mc.DataModelInput{{Entity: entity, Fields: []string{"id", "created_at", "segment", "label"}}},
		APIEndpoints:              []mc.APIEndpointInput{{Method: "POST", Path: "/score", Purpose: fmt.Sprintf("score one %s", entity)}},
	}
}

// outcomeFor returns a plausible outcome for a project: larger, more
// complex projects take longer and cost more.
func outcomeFor(rng *rand.Rand, complexity, teamSize int) mc.OutcomeInput {
	perf := math.Max(0.05, math.Min(0.99, 0.55+0.4*rng.Float64()-0.02*float64(complexity)))
	impact := math.Round(50000*rng.Float64()*float64(teamSize)) / 10
	days := float64(10 + 6*complexity + rng.IntN(30))
	cost := math.Round(100*(200+800*rng.Float64())*float64(complexity)) / 100
	return mc.OutcomeInput{ModelPerformance: &perf, BusinessImpact: &impact, DeploymentDays: &days, ComputeCost: &cost}
}

// artifactInput returns the body of POST /api/v1/artifacts for the i-th
// artifact of a tenant.
func artifactInput(rng *rand.Rand, i int) mc.ArtifactInput {
	w := artifactWords[i%len(artifactWords)]
	return mc.ArtifactInput{
		Name:        fmt.Sprintf("%s %d", w, i),
		Type:        artifactTypes[rng.IntN(len(artifactTypes))],
		Version:     fmt.Sprintf("1.%d.%d", i/10, rng.IntN(10)),
		Description: "Reusable " + w + " shared across projects.",
		Tags:        []string{"loadtest", searchWords[rng.IntN(len(searchWords))]},
	}
}

package loadtest

import (
	"fmt"
	"math"
	"math/rand/v2"
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
func projectInput(rng *rand.Rand, tenant string, i int) map[string]any {
	d := domains[rng.IntN(len(domains))]
	class := problemClasses[rng.IntN(len(problemClasses))]
	return map[string]any{
		"name":             fmt.Sprintf("%s %s %d", d.topic, class, i),
		"problem_class":    class,
		"complexity_score": 1 + rng.IntN(10),
		"team_size":        2 + rng.IntN(9),
		"description":      fmt.Sprintf("Predict %s for %s from historical %s records.", d.topic, tenant, d.entity),
		"tags":             []string{class, "loadtest"},
		"spec":             specFor(rng, d.topic, d.entity),
	}
}

// specFor returns a project specification about topic and entity.
func specFor(rng *rand.Rand, topic, entity string) map[string]any {
	stories := []string{
		fmt.Sprintf("As an analyst I want a daily %s score for every %s", topic, entity),
		fmt.Sprintf("As an operator I want alerts when %s predictions drift", topic),
		fmt.Sprintf("As a manager I want a dashboard of %s trends", topic),
	}
	return map[string]any{
		"user_stories": stories[:1+rng.IntN(len(stories))],
		"functional_requirements": []string{
			fmt.Sprintf("Score each %s within one hour of ingestion", entity),
			"Retrain weekly on the latest labelled data",
		},
		"non_functional_requirements": []string{"p99 scoring latency under 200 ms", "audit log of every prediction"},
		"data_models": []map[string]any{{
			"entity": entity,
			"fields": []string{"id", "created_at", "segment", "label"},
		}},
		"api_endpoints": []map[string]any{{
			"method": "POST", "path": "/score", "purpose": fmt.Sprintf("score one %s", entity),
		}},
	}
}

// outcomeFor returns a plausible outcome for a project: larger, more
// complex projects take longer and cost more.
func outcomeFor(rng *rand.Rand, complexity, teamSize int) map[string]any {
	perf := 0.55 + 0.4*rng.Float64() - 0.02*float64(complexity)
	return map[string]any{
		"model_performance": math.Max(0.05, math.Min(0.99, perf)),
		"business_impact":   math.Round(50000*rng.Float64()*float64(teamSize)) / 10,
		"deployment_days":   float64(10 + 6*complexity + rng.IntN(30)),
		"compute_cost":      math.Round(100*(200+800*rng.Float64())*float64(complexity)) / 100,
	}
}

// artifactInput returns the body of POST /api/v1/artifacts for the i-th
// artifact of a tenant.
func artifactInput(rng *rand.Rand, i int) map[string]any {
	w := artifactWords[i%len(artifactWords)]
	return map[string]any{
		"name":        fmt.Sprintf("%s %d", w, i),
		"type":        artifactTypes[rng.IntN(len(artifactTypes))],
		"version":     fmt.Sprintf("1.%d.%d", i/10, rng.IntN(10)),
		"description": "Reusable " + w + " shared across projects.",
		"tags":        []string{"loadtest", searchWords[rng.IntN(len(searchWords))]},
	}
}

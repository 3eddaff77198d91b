// Command quickstart-metalearn trains a meta-model on a tenant's project
// history and asks it about a new project: the predicted success score
// with its interval, the factors behind it, the team size it expects to
// do best, and the model's versioned binary form.
//
// The history is generated from a stated rule so that the program needs
// no data: success falls the further the team size is from complexity+1,
// and rises with the CI pipeline's success rate. A real host reads the
// history from the registry (metalearn.NewRegistryHistory).
//
//	go run ./examples/quickstart-metalearn
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/maestro-ml/maestro/metalearn"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart-metalearn:", err)
		os.Exit(1)
	}
}

// history returns n completed projects that follow the rule above, with a
// little deterministic variation.
func history(n int) []metalearn.Record {
	classes := []string{metalearn.ClassClassification, metalearn.ClassForecasting, metalearn.ClassNLP}
	out := make([]metalearn.Record, 0, n)
	for i := range n {
		complexity := float64(1 + i%10)
		team := 1 + (i*7)%12
		miss := float64(team) - (complexity + 1)
		pipeline := 0.5 + 0.07*float64(i%7)
		out = append(out, metalearn.Record{
			Features: metalearn.ProjectFeatures{
				ProblemClass:   classes[i%len(classes)],
				Complexity:     complexity,
				TeamSize:       team,
				ProcessMetrics: map[string]float64{metalearn.MetricPipelineSuccessRate: pipeline},
			},
			Outcome: metalearn.Outcome{
				SuccessScore:   min(100, max(0, 70-0.6*miss*miss+30*(pipeline-0.5)+float64(i%5))),
				DeploymentDays: 10 + 4*complexity + float64(i%6),
				ComputeCost:    150 * float64(team) * (1 + complexity/10),
			},
		})
	}
	return out
}

// run trains, predicts and writes what it finds to w.
func run(ctx context.Context, w io.Writer) error {
	// 1. Train. Cross-validation picks the model kind per target and
	// measures it against the baseline of always predicting the mean;
	// the seed makes training repeatable.
	model, err := metalearn.Train(ctx, history(60), metalearn.WithSeed(7), metalearn.WithCoverage(0.8))
	if err != nil {
		return err
	}
	m := model.Metrics(metalearn.TargetSuccess)
	fmt.Fprintf(w, "trained on %d projects; success model beats the mean baseline: %v\n",
		model.NProjects(), m.CVMAE < m.BaselineMAE)

	// 2. Predict a new project: complexity 6 with a team of 3, which the
	// history says is too small.
	project := metalearn.ProjectFeatures{
		ProblemClass:   metalearn.ClassForecasting,
		Complexity:     6,
		TeamSize:       3,
		ProcessMetrics: map[string]float64{metalearn.MetricPipelineSuccessRate: 0.8},
	}
	forecast, err := model.Predict(project)
	if err != nil {
		return err
	}
	s := forecast.Success
	if lo, hi, ok := s.Interval(); ok {
		fmt.Fprintf(w, "predicted success %.0f, %.0f%% interval [%.0f, %.0f] holds it: %v\n",
			s.Value, 100*s.IntervalCoverage, lo, hi, lo <= s.Value && s.Value <= hi)
	} else {
		fmt.Fprintf(w, "predicted success %.0f, %.0f%% interval unbounded (history too small)\n", s.Value, 100*s.IntervalCoverage)
	}
	if len(s.TopFactors) > 0 {
		fmt.Fprintln(w, "top factor:", s.TopFactors[0].Feature)
	}
	fmt.Fprintf(w, "deployment in about %.0f days\n", forecast.DeploymentDays.Value)

	// 3. Ask the team-size what-if: the planned size is kept unless
	// another is better with probability at least 0.8.
	team, err := model.BestTeamSize(project, 12)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "recommended team size %d (predicted %.0f instead of %.0f, probability better %.2f)\n",
		team.RecommendedSize, team.PredictedScoreBySize[team.RecommendedSize], s.Value, team.ProbabilityBetter)

	// 4. Models serialise to a versioned binary format (stored per tenant
	// by metalearn.Store); decoding refuses unknown versions.
	blob, err := model.MarshalBinary()
	if err != nil {
		return err
	}
	back, err := metalearn.DecodeModel(blob)
	if err != nil {
		return err
	}
	again, err := back.PredictValue(metalearn.TargetSuccess, project)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "decoded model predicts the same: %v (format version %d)\n",
		again == s.Value, back.Summary().FormatVersion)
	return nil
}

package metalearn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// synthHistory generates n completed projects whose outcomes depend on the
// features in a known, non-trivial way (the formula is documented in
// docs/metalearn.md and reproduced by nothing else: the benchmark exports
// these very records as CSV):
//
//   - the best team size grows with complexity: opt = 1.5 + complexity;
//     success loses 1.2·(team − opt)² / (1 + 0.15·complexity) points;
//   - experience matters more on complex projects:
//     +14·(senior_share − 0.4)·complexity/5;
//   - reused artifacts help in proportion to their impact:
//     +0.12·(impact − 50)·min(count, 3)/3, plus per-class effects;
//   - a healthy pipeline helps: +25·(pipeline − 0.75);
//   - Gaussian noise with standard deviation 4 points.
//
// Deployment days and compute cost are log-normal with their own
// dependencies. Artifact "a-<class>-good" raises success by 10 points.
func synthHistory(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	classEffect := map[string]float64{
		ClassClassification: 4, ClassRegression: 2, ClassForecasting: -3, ClassNLP: -1,
		ClassComputerVision: -5, ClassRecommendation: 1, ClassAnomalyDetection: 0, ClassOther: -2,
	}
	levels := []string{LevelJunior, LevelMid, LevelSenior, LevelPrincipal}
	roles := []string{"ml_engineer", "data_scientist", "data_engineer", "mlops", "analyst"}
	types := []string{"feature_pipeline", "model_template", "schema", "notebook", "dataset"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Record, n)
	for i := range out {
		class := problemClasses[rng.IntN(numClasses)]
		complexity := float64(1 + rng.IntN(10))
		team := 1 + rng.IntN(14)
		seniorP := 0.15 + 0.6*rng.Float64()
		var members []TeamMember
		seniors := 0
		for j := 0; j < team; j++ {
			lv := levels[rng.IntN(2)]
			if rng.Float64() < seniorP {
				lv = levels[2+rng.IntN(2)]
				seniors++
			}
			members = append(members, TeamMember{Role: roles[rng.IntN(len(roles))], Level: lv})
		}
		seniorShare := float64(seniors) / float64(team)
		nArt := rng.IntN(5)
		var arts []ArtifactUse
		impactSum := 0.0
		good := false
		for j := 0; j < nArt; j++ {
			imp := 30 + 60*rng.Float64()
			id := fmt.Sprintf("a-%d", rng.IntN(12))
			if rng.Float64() < 0.25 && !good {
				id, good = "a-"+class+"-good", true
			}
			arts = append(arts, ArtifactUse{ID: id, Name: "artifact " + id, Type: types[rng.IntN(len(types))], Impact: imp})
			impactSum += imp
		}
		pipeline := 0.5 + 0.5*rng.Float64()
		commits := math.Exp(math.Log(5) + rng.Float64()*math.Log(16))

		opt := 1.5 + complexity
		s := 62 + classEffect[class]
		s -= 1.2 * (float64(team) - opt) * (float64(team) - opt) / (1 + 0.15*complexity)
		s += 14 * (seniorShare - 0.4) * complexity / 5
		if nArt > 0 {
			s += 0.12 * (impactSum/float64(nArt) - 50) * math.Min(float64(nArt), 3) / 3
		}
		if good {
			s += 10
		}
		s += 25 * (pipeline - 0.75)
		s -= 0.8 * complexity
		s += 4 * rng.NormFloat64()
		s = math.Max(0, math.Min(100, s))

		days := math.Exp(math.Log(20) + 0.12*complexity - 0.08*float64(nArt) + 0.3*math.Abs(float64(team)-opt)/opt + 0.2*rng.NormFloat64())
		cost := math.Exp(math.Log(400) + 0.18*complexity + 0.04*float64(team) + 0.02*classEffect[class] + 0.3*rng.NormFloat64())

		out[i] = Record{
			Features: ProjectFeatures{
				ProjectID:    fmt.Sprintf("p-%04d", i),
				ProblemClass: class,
				Complexity:   complexity,
				TeamSize:     team,
				Team:         members,
				Artifacts:    arts,
				ProcessMetrics: map[string]float64{
					MetricPipelineSuccessRate: pipeline,
					MetricCommitsPerWeek:      commits,
				},
			},
			Outcome:     Outcome{SuccessScore: s, DeploymentDays: days, ComputeCost: cost},
			CompletedAt: start.Add(time.Duration(i) * time.Hour),
		}
	}
	return out
}

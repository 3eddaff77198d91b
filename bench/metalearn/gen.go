// Package mlbench generates synthetic tenant histories for evaluating
// package metalearn the way its users use it — before a project starts,
// on small histories, under drift and confounding, with many artifacts
// that do nothing — and measures every figure docs/metalearn.md reports
// ("Planning-time evaluation"). The command in ./cmd/mlbench prints them
// and exports the data for compare.py.
//
// Benchmark code: not part of the library.
package mlbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/maestro-ml/maestro/metalearn"
)

// World configures a generator. The zero value plus a seed is a world
// with a team-size effect, no drift, no confounding and no artifacts.
type World struct {
	// Seed seeds the PCG stream; histories and held-out sets of the same
	// world use different seeds.
	Seed uint64
	// NoTeamEffect removes the team-size term from the success score.
	NoTeamEffect bool
	// Confounding ≥ 0 makes troubled projects get bigger teams: the
	// planned team grows by Confounding·2·u members, u the project's
	// latent trouble (standard normal, half of its variance explained by
	// complexity, the rest unobserved), which also lowers success by 5·u.
	Confounding float64
	// Drift lowers the success score by Drift points per 100 projects
	// (a steady change of the tenant over time).
	Drift float64
	// NullArtifacts is the number of library artifacts without any effect
	// (used by 0–4 per project, uniformly).
	NullArtifacts int
	// GoodArtifacts adds one artifact per problem class worth +10 points,
	// used by a quarter of that class's projects.
	GoodArtifacts bool
	// TeamKnownAtPlanning is the share of projects whose team members are
	// registered before the start; the others register them later.
	TeamKnownAtPlanning float64
}

// Project is one generated project: its features at planning (what a
// prediction before the start knows) and at completion (what the
// registry holds once it is done, with the in-flight process metrics and
// every team member), and its outcome.
type Project struct {
	Planning   metalearn.ProjectFeatures
	Completion metalearn.ProjectFeatures
	Outcome    metalearn.Outcome
	// Completed orders the history.
	Completed time.Time
	// trouble is the latent u; kept for the best-team computation.
	trouble float64
	class   string
}

var classEffect = map[string]float64{
	metalearn.ClassClassification: 4, metalearn.ClassRegression: 2, metalearn.ClassForecasting: -3, metalearn.ClassNLP: -1,
	metalearn.ClassComputerVision: -5, metalearn.ClassRecommendation: 1, metalearn.ClassAnomalyDetection: 0, metalearn.ClassOther: -2,
}

// MaxTeam is the largest team the generator plans.
const MaxTeam = 14

// Generate draws n projects of the world at time indexes 0..n-1.
func (w World) Generate(n int, stream uint64) []Project {
	return w.generate(n, stream, 0, n)
}

// GenerateAfter draws n projects that follow a history of prior projects
// in time: project i has time index prior + i mod window, so a held-out
// set of any size describes the next window projects (the time until the
// next retraining), and the drift continues the history's.
func (w World) GenerateAfter(n, prior, window int, stream uint64) []Project {
	return w.generate(n, stream, prior, window)
}

func (w World) generate(n int, stream uint64, offset, window int) []Project {
	rng := rand.New(rand.NewPCG(w.Seed, stream)) // #nosec G404 -- synthetic data: a seeded, reproducible stream; nothing secret is drawn
	classes := metalearn.ProblemClasses()
	levels := []string{metalearn.LevelJunior, metalearn.LevelMid, metalearn.LevelSenior, metalearn.LevelPrincipal}
	roles := []string{"ml_engineer", "data_scientist", "data_engineer", "mlops", "analyst"}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Project, n)
	for i := range out {
		at := offset + i%window
		class := classes[rng.IntN(len(classes))]
		complexity := float64(1 + rng.IntN(10))
		trouble := math.Sqrt(0.5)*(complexity-5.5)/2.87 + math.Sqrt(0.5)*rng.NormFloat64()
		team := 1 + rng.IntN(MaxTeam)
		if w.Confounding > 0 {
			team = clampTeam(int(math.Round(float64(team) + w.Confounding*2*trouble)))
		}
		seniorP := 0.15 + 0.6*rng.Float64()
		var members []metalearn.TeamMember
		seniors := 0
		for j := 0; j < team; j++ {
			lv := levels[rng.IntN(2)]
			if rng.Float64() < seniorP {
				lv = levels[2+rng.IntN(2)]
				seniors++
			}
			members = append(members, metalearn.TeamMember{Role: roles[rng.IntN(len(roles))], Level: lv})
		}
		seniorShare := float64(seniors) / float64(team)
		var arts []metalearn.ArtifactUse
		good := false
		if w.NullArtifacts > 0 {
			for range rng.IntN(5) {
				id := fmt.Sprintf("null-%02d", rng.IntN(w.NullArtifacts))
				arts = append(arts, metalearn.ArtifactUse{ID: id, Name: id, Type: "notebook", Impact: -1})
			}
		}
		if w.GoodArtifacts && rng.Float64() < 0.25 {
			id := "good-" + class
			arts = append(arts, metalearn.ArtifactUse{ID: id, Name: id, Type: "model_template", Impact: -1})
			good = true
		}
		// In flight: the pipeline reflects the trouble (a signal only known
		// once the project runs).
		pipeline := math.Max(0, math.Min(1, 0.75-0.08*trouble+0.08*rng.NormFloat64()))
		commits := math.Exp(math.Log(5) + rng.Float64()*math.Log(16))

		s := 62 + classEffect[class] - 0.8*complexity
		if !w.NoTeamEffect {
			s -= teamPenalty(team, complexity)
		}
		s += 14 * (seniorShare - 0.4) * complexity / 5
		if good {
			s += 10
		}
		s += 25 * (pipeline - 0.75)
		s -= 5 * trouble
		s -= w.Drift * float64(at) / 100
		s += 4 * rng.NormFloat64()
		s = math.Max(0, math.Min(100, s))
		opt := 1.5 + complexity
		days := math.Exp(math.Log(20) + 0.12*complexity + 0.3*math.Abs(float64(team)-opt)/opt + 0.1*trouble + 0.2*rng.NormFloat64())
		cost := math.Exp(math.Log(400) + 0.18*complexity + 0.04*float64(team) + 0.3*rng.NormFloat64())

		comp := metalearn.ProjectFeatures{
			ProjectID:    fmt.Sprintf("p-%d-%05d", stream, offset+i),
			ProblemClass: class,
			Complexity:   complexity,
			TeamSize:     team,
			Team:         members,
			Artifacts:    arts,
			ProcessMetrics: map[string]float64{
				metalearn.MetricPipelineSuccessRate: pipeline,
				metalearn.MetricCommitsPerWeek:      commits,
			},
		}
		plan := comp.Clone()
		plan.ProcessMetrics = nil
		if rng.Float64() >= w.TeamKnownAtPlanning {
			plan.Team = nil
		}
		out[i] = Project{
			Planning: plan, Completion: comp,
			Outcome:   metalearn.Outcome{SuccessScore: s, DeploymentDays: days, ComputeCost: cost},
			Completed: start.Add(time.Duration(at) * 24 * time.Hour),
			trouble:   trouble, class: class,
		}
	}
	return out
}

func clampTeam(t int) int { return max(1, min(MaxTeam, t)) }

// teamPenalty is the success the team size costs: the synthetic history's
// curve, best at 1.5 + complexity.
func teamPenalty(team int, complexity float64) float64 {
	d := float64(team) - (1.5 + complexity)
	return 1.2 * d * d / (1 + 0.15*complexity)
}

// BestTeam returns the team sizes (1..MaxTeam) that maximise the expected
// success of a project of this complexity in a world with a team effect
// (two when the optimum lies half-way between sizes).
func BestTeam(complexity float64) []int {
	var best []int
	bp := math.Inf(1)
	for s := 1; s <= MaxTeam; s++ {
		p := teamPenalty(s, complexity)
		switch {
		case p < bp-1e-9:
			best, bp = []int{s}, p
		case math.Abs(p-bp) <= 1e-9:
			best = append(best, s)
		}
	}
	return best
}

// Records returns the projects as training records with the features at
// planning (cut-off at the start, as RegistryHistory's default) or at
// completion.
func Records(ps []Project, planning bool) []metalearn.Record {
	out := make([]metalearn.Record, len(ps))
	for i, p := range ps {
		f := p.Completion
		if planning {
			f = p.Planning
		}
		out[i] = metalearn.Record{Features: f, Outcome: p.Outcome, CompletedAt: p.Completed}
	}
	return out
}

package mlbench

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/maestro-ml/maestro/metalearn"
)

// csvHeader is the export's columns: the problem class, the numeric
// features before standardization (empty = missing), the three targets.
var csvHeader = []string{"problem_class", "complexity", "team_size", "senior_share", "mean_experience", "role_count",
	"artifact_count_log1p", "pipeline_success_rate", "commits_per_week_log1p", "y_success_score", "y_deployment_days", "y_compute_cost"}

func csvRow(f metalearn.ProjectFeatures, o metalearn.Outcome) []string {
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	senior, exp, roles := math.NaN(), math.NaN(), math.NaN()
	if len(f.Team) > 0 {
		s, e := 0.0, 0.0
		rs := map[string]bool{}
		for _, m := range f.Team {
			switch m.Level {
			case metalearn.LevelJunior:
			case metalearn.LevelSenior:
				s++
				e += 2
			case metalearn.LevelPrincipal:
				s++
				e += 3
			default:
				e++
			}
			rs[strings.ToLower(m.Role)] = true
		}
		k := float64(len(f.Team))
		senior, exp, roles = s/k, e/k, float64(len(rs))
	}
	pipe, commits := math.NaN(), math.NaN()
	if v, ok := f.ProcessMetrics[metalearn.MetricPipelineSuccessRate]; ok {
		pipe = v
	}
	if v, ok := f.ProcessMetrics[metalearn.MetricCommitsPerWeek]; ok {
		commits = math.Log1p(v)
	}
	ids := map[string]bool{}
	for _, a := range f.Artifacts {
		ids[a.ID] = true
	}
	return []string{f.ProblemClass, num(f.Complexity), num(float64(f.TeamSize)), num(senior), num(exp), num(roles),
		num(math.Log1p(float64(len(ids)))), num(pipe), num(commits),
		num(o.SuccessScore), num(o.DeploymentDays), num(o.ComputeCost)}
}

func writeCSV(path string, ps []Project, planning bool) error {
	f, err := os.Create(path) // #nosec G304 -- the export directory the operator names on the command line
	if err != nil {
		return fmt.Errorf("mlbench: export: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(csvHeader)
	for _, p := range ps {
		feat := p.Completion
		if planning {
			feat = p.Planning
		}
		_ = w.Write(csvRow(feat, p.Outcome))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return fmt.Errorf("mlbench: export: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mlbench: export: %w", err)
	}
	return nil
}

// GoResult is the Go model's figures on one exported scenario.
type GoResult struct {
	Target   string  `json:"target"`
	Model    string  `json:"model"`
	MAE      float64 `json:"test_mae"`
	Coverage float64 `json:"test_coverage"`
	Width    float64 `json:"test_mean_interval_width"`
}

// Scenario is an exported world and history size.
type Scenario struct {
	World string
	N     int
}

// ExportScenarios are the scenarios the command exports.
var ExportScenarios = []Scenario{{"base", 50}, {"base", 150}, {"confounded", 150}, {"drift", 150}}

// Export writes, for each scenario, the history at planning
// (train_planning.csv) and at completion (train_completion.csv) and the
// held-out projects that follow it at planning time (test_planning.csv)
// under dir/<world>_<n>/, with the Go planning model's held-out figures
// (go_metrics.json), for bench/metalearn/compare.py.
func Export(ctx context.Context, dir string, scenarios []Scenario, test int) error {
	for _, sc := range scenarios {
		w := PlanningWorlds()[sc.World]
		w.Seed = uint64(42 + sc.N) // #nosec G115 -- a small positive scenario size
		hist := w.Generate(sc.N, 1)
		held := w.GenerateAfter(test, sc.N, NextWindow, 2)
		sub := filepath.Join(dir, fmt.Sprintf("%s_%d", sc.World, sc.N))
		if err := os.MkdirAll(sub, 0o750); err != nil {
			return fmt.Errorf("mlbench: export: %w", err)
		}
		for _, f := range []struct {
			name     string
			ps       []Project
			planning bool
		}{{"train_planning.csv", hist, true}, {"train_completion.csv", hist, false}, {"test_planning.csv", held, true}} {
			if err := writeCSV(filepath.Join(sub, f.name), f.ps, f.planning); err != nil {
				return err
			}
		}
		res := map[string][]GoResult{}
		for _, planning := range []bool{true, false} {
			m, err := train(ctx, Records(hist, planning), 1)
			if err != nil {
				return err
			}
			key := "planning"
			if !planning {
				key = "completion"
			}
			for _, t := range metalearn.Targets() {
				var mae, cov, width float64
				for _, p := range held {
					pr, err := m.PredictTarget(t, p.Planning, 0)
					if err != nil {
						return err
					}
					v := []float64{p.Outcome.SuccessScore, p.Outcome.DeploymentDays, p.Outcome.ComputeCost}[t]
					mae += math.Abs(v - pr.Value)
					if pr.Contains(v) {
						cov++
					}
					if lo, hi, ok := pr.Interval(); ok {
						width += hi - lo
					} else {
						width = math.Inf(1)
					}
				}
				k := float64(len(held))
				res[key] = append(res[key], GoResult{Target: t.String(), Model: string(m.Metrics(t).Model), MAE: mae / k, Coverage: cov / k, Width: width / k})
			}
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("mlbench: export: %w", err)
		}
		if err := os.WriteFile(filepath.Join(sub, "go_metrics.json"), b, 0o600); err != nil {
			return fmt.Errorf("mlbench: export: %w", err)
		}
	}
	return nil
}

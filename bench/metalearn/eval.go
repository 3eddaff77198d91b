package mlbench

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/maestro-ml/maestro/metalearn"
)

// Scale sets how many histories and held-out projects an evaluation uses.
// Quick is for the unit test; Full is what docs/metalearn.md reports.
type Scale struct {
	Reps     int // histories per cell
	Test     int // held-out projects per history
	Requests int // team-size requests per history
	Tenants  int // histories of the artifact evaluation
	// Sizes are the history sizes of the coverage table, SmallSizes those
	// of the small-history table; History is the size of the team-size,
	// artifact and unseen-metric histories.
	Sizes, SmallSizes []int
	History           int
	// Worlds names the worlds of the coverage table (nil: all of
	// PlanningWorlds, in the order base, confounded, drift).
	Worlds []string
	// Seed is added to the seed of every history and held-out set of the
	// coverage and small-history tables: 0 reproduces the documented
	// figures, any other value draws fresh histories.
	Seed uint64
}

// Quick, Medium and Full are the scales of the command.
var (
	Quick  = Scale{Reps: 1, Test: 60, Requests: 10, Tenants: 2, Sizes: []int{30, 50, 150}, SmallSizes: []int{10, 20, 30, 50}, History: 150}
	Medium = Scale{Reps: 2, Test: 150, Requests: 25, Tenants: 6, Sizes: []int{30, 150}, SmallSizes: []int{10, 20, 30, 50}, History: 150}
	Full   = Scale{Reps: 6, Test: 300, Requests: 40, Tenants: 20, Sizes: []int{30, 50, 150}, SmallSizes: []int{10, 20, 30, 50}, History: 150}
)

func train(ctx context.Context, recs []metalearn.Record, seed uint64) (*metalearn.Model, error) {
	m, err := metalearn.Train(ctx, recs, metalearn.WithSeed(seed), metalearn.WithMinHistory(10))
	if err != nil {
		return nil, fmt.Errorf("mlbench: train on %d: %w", len(recs), err)
	}
	return m, nil
}

// CoverageRow is one cell of the planning-time coverage table.
type CoverageRow struct {
	World, Model string
	N            int
	Target       string
	Coverage     float64 // share of held-out outcomes inside the 80 % interval
	StdErr       float64 // binomial standard error of Coverage over all predictions
	// HistStdErr is the standard error of Coverage from the spread of the
	// histories' own coverages (their standard deviation over √histories;
	// 0 with one history): it includes the variation of the calibration
	// between histories, which the binomial StdErr does not.
	HistStdErr  float64
	RelWidth    float64 // mean relative width (NaN when unbounded)
	MAE         float64
	ForwardCov  float64 // mean forward_coverage the model reported about itself
	Predictions int
}

// NextWindow is the number of projects after the history that held-out
// projects describe: about two retrainings at the Retrainer's default of
// 10 new outcomes.
const NextWindow = 20

// PlanningWorlds are the worlds of the coverage table (drift: 10 success
// points lost per 100 projects).
func PlanningWorlds() map[string]World {
	return map[string]World{
		"base":       {TeamKnownAtPlanning: 0.5},
		"confounded": {TeamKnownAtPlanning: 0.5, Confounding: 1},
		"drift":      {TeamKnownAtPlanning: 0.5, Drift: 10},
	}
}

// Coverage measures the 80 % intervals of predictions made before a
// project starts (its planning-time features: no process metrics, the
// team for about half of the projects), for two ways of training: on the
// history as it stood at each project's start (the default cut-off,
// "planning model") and on the history at completion, whose in-flight
// inputs the prediction then lacks and marginalises ("completion model").
// The held-out projects follow the history in time (drift continues).
func Coverage(ctx context.Context, sc Scale, sizes []int) ([]CoverageRow, error) {
	var rows []CoverageRow
	names := []string{"base", "confounded", "drift"}
	if sc.Worlds != nil {
		names = sc.Worlds
	}
	worlds := PlanningWorlds()
	for _, name := range names {
		for _, n := range sizes {
			for _, planning := range []bool{true, false} {
				type acc struct {
					cov, rw, mae, fc float64
					k, rwk, fck      int
					perHist          []float64 // each history's coverage
				}
				accs := make([]acc, 3)
				for rep := 0; rep < sc.Reps; rep++ {
					w, ok := worlds[name]
					if !ok {
						return nil, fmt.Errorf("mlbench: no world %q", name)
					}
					w.Seed = sc.Seed + uint64(1000*n+rep) // #nosec G115 -- small positive history sizes and repetition counts
					hist := w.Generate(n, 1)
					test := w.GenerateAfter(sc.Test, n, NextWindow, 2)
					m, err := train(ctx, Records(hist, planning), uint64(rep))
					if err != nil {
						return nil, err
					}
					for ti, t := range metalearn.Targets() {
						if fc := m.Metrics(t).ForwardCoverage; fc != nil {
							accs[ti].fc += *fc
							accs[ti].fck++
						}
					}
					covBefore := make([]float64, len(accs))
					for ti := range accs {
						covBefore[ti] = accs[ti].cov
					}
					for _, p := range test {
						f, err := m.Predict(p.Planning)
						if err != nil {
							return nil, fmt.Errorf("mlbench: predict: %w", err)
						}
						for ti, pr := range []metalearn.Prediction{f.Success, f.DeploymentDays, f.ComputeCost} {
							v := []float64{p.Outcome.SuccessScore, p.Outcome.DeploymentDays, p.Outcome.ComputeCost}[ti]
							a := &accs[ti]
							a.k++
							if pr.Contains(v) {
								a.cov++
							}
							a.mae += math.Abs(v - pr.Value)
							if pr.RelativeWidth != nil {
								a.rw += *pr.RelativeWidth
								a.rwk++
							}
						}
					}
					for ti := range accs {
						accs[ti].perHist = append(accs[ti].perHist, (accs[ti].cov-covBefore[ti])/float64(len(test)))
					}
				}
				model := "planning model"
				if !planning {
					model = "completion model"
				}
				for ti, t := range metalearn.Targets() {
					a := accs[ti]
					c := a.cov / float64(a.k)
					rows = append(rows, CoverageRow{
						World: name, Model: model, N: n, Target: t.String(),
						Coverage: c, StdErr: math.Sqrt(c * (1 - c) / float64(a.k)), HistStdErr: histStdErr(a.perHist),
						RelWidth: a.rw / float64(a.rwk), MAE: a.mae / float64(a.k),
						ForwardCov: a.fc / float64(max(a.fck, 1)), Predictions: a.k,
					})
				}
			}
		}
	}
	return rows, nil
}

// histStdErr returns the standard error of the mean of xs from their
// sample standard deviation (0 for fewer than two).
func histStdErr(xs []float64) float64 {
	n := len(xs)
	if n < 2 {
		return 0
	}
	m := 0.0
	for _, x := range xs {
		m += x / float64(n)
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(n-1) / float64(n))
}

// UnseenWidth returns the largest relative change of an interval's width
// when a metric the history never recorded (open_defects = 500) is given,
// over the held-out projects and the three targets.
func UnseenWidth(ctx context.Context, sc Scale) (float64, error) {
	w := World{Seed: 7, TeamKnownAtPlanning: 0.5}
	m, err := train(ctx, Records(w.Generate(sc.History, 1), true), 1)
	if err != nil {
		return 0, err
	}
	worst := 0.0
	for _, p := range w.Generate(sc.Test, 2) {
		a, err := m.Predict(p.Planning)
		if err != nil {
			return 0, err
		}
		f := p.Planning.Clone()
		f.ProcessMetrics = map[string]float64{metalearn.MetricOpenDefects: 500}
		b, err := m.Predict(f)
		if err != nil {
			return 0, err
		}
		for i, pa := range []metalearn.Prediction{a.Success, a.DeploymentDays, a.ComputeCost} {
			pb := []metalearn.Prediction{b.Success, b.DeploymentDays, b.ComputeCost}[i]
			la, ha, _ := pa.Interval()
			lb, hb, _ := pb.Interval()
			if d := ha - la; d > 0 {
				worst = math.Max(worst, math.Abs((hb-lb)-d)/d)
			}
		}
	}
	return worst, nil
}

// TeamRow is one world of the team-size evaluation.
type TeamRow struct {
	World              string
	Requests           int
	Kept               int // recommendation = planned size
	Within2            int // |recommended − nearest best| ≤ 2
	PlannedWithin2     int // the same for the planned size: what keeping it would give
	Changed, CloserOfN int // changes, and changes that moved closer to the best
	MedianPEffect      float64
}

// TeamSize measures the team-size recommendation on planning-time
// requests (random class, complexity and planned size) in a world without
// a team-size effect, with one, and with one plus confounding (troubled
// projects get bigger teams).
func TeamSize(ctx context.Context, sc Scale, n int) ([]TeamRow, error) {
	worlds := []struct {
		name string
		w    World
	}{
		{"no team effect", World{NoTeamEffect: true, TeamKnownAtPlanning: 0.5}},
		{"team effect", World{TeamKnownAtPlanning: 0.5}},
		{"team effect + confounding 1", World{TeamKnownAtPlanning: 0.5, Confounding: 1}},
		{"team effect + confounding 2", World{TeamKnownAtPlanning: 0.5, Confounding: 2}},
	}
	var rows []TeamRow
	for _, wc := range worlds {
		row := TeamRow{World: wc.name}
		var pe []float64
		for rep := 0; rep < sc.Reps; rep++ {
			w := wc.w
			w.Seed = uint64(500 + rep)
			m, err := train(ctx, Records(w.Generate(n, 1), true), uint64(rep))
			if err != nil {
				return nil, err
			}
			if p := m.Summary().TeamSizeEffectProbability; p != nil {
				pe = append(pe, *p)
			}
			for _, p := range w.Generate(sc.Requests, 3) {
				tc, err := m.BestTeamSize(p.Planning, MaxTeam)
				if err != nil {
					return nil, err
				}
				row.Requests++
				best := BestTeam(p.Planning.Complexity)
				dist := func(s int) int {
					d := 1 << 30
					for _, b := range best {
						d = min(d, abs(s-b))
					}
					return d
				}
				if tc.RecommendedSize == tc.PlannedSize {
					row.Kept++
				} else {
					row.Changed++
					if dist(tc.RecommendedSize) < dist(tc.PlannedSize) {
						row.CloserOfN++
					}
				}
				if dist(tc.RecommendedSize) <= 2 {
					row.Within2++
				}
				if dist(tc.PlannedSize) <= 2 {
					row.PlannedWithin2++
				}
			}
		}
		sort.Float64s(pe)
		if len(pe) > 0 {
			row.MedianPEffect = pe[len(pe)/2]
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ArtifactRow is the artifact evaluation of one world.
type ArtifactRow struct {
	World         string
	Tenants       int
	NullSuggested float64 // mean suggestions of null artifacts per tenant (all classes)
	AnyNull       float64 // share of tenants with at least one null suggestion
	GoodSuggested float64 // mean good artifacts suggested per tenant (of 8)
	// GoodTestable is the mean number of classes per tenant whose good
	// artifact had at least 3 users and 3 non-users (the artifacts the
	// model tests at all).
	GoodTestable float64
	// Tests is the mean number of artifact × class pairs per tenant with
	// at least 3 users and 3 non-users: the tests Benjamini–Hochberg
	// controls together.
	Tests float64
}

// Artifacts measures chance suggestions with 60 null artifacts, with and
// without one good artifact per class.
func Artifacts(ctx context.Context, sc Scale, n int) ([]ArtifactRow, error) {
	var rows []ArtifactRow
	for _, good := range []bool{false, true} {
		row := ArtifactRow{World: "60 null artifacts", Tenants: sc.Tenants}
		if good {
			row.World += " + 1 good per class"
		}
		for ten := 0; ten < sc.Tenants; ten++ {
			w := World{Seed: uint64(900 + ten), NullArtifacts: 60, GoodArtifacts: good, TeamKnownAtPlanning: 1}
			ps := w.Generate(n, 1)
			m, err := train(ctx, Records(ps, true), uint64(ten))
			if err != nil {
				return nil, err
			}
			nulls := 0
			for _, c := range metalearn.ProblemClasses() {
				p := metalearn.ProjectFeatures{ProblemClass: c, Complexity: 5, TeamSize: 5}
				for _, s := range m.SuggestArtifacts(p, 100) {
					if s.ArtifactID == "good-"+c {
						row.GoodSuggested++
					} else {
						nulls++
					}
				}
			}
			row.NullSuggested += float64(nulls)
			if nulls > 0 {
				row.AnyNull++
			}
			tests, goods := testable(ps)
			row.Tests += float64(tests)
			row.GoodTestable += float64(goods)
		}
		k := float64(sc.Tenants)
		row.NullSuggested /= k
		row.AnyNull /= k
		row.GoodSuggested /= k
		row.GoodTestable /= k
		row.Tests /= k
		rows = append(rows, row)
	}
	return rows, nil
}

// testable counts the artifact × class pairs that at least 3 of the
// class's projects used and at least 3 did not, and among them the good
// artifacts.
func testable(ps []Project) (tests, goods int) {
	type pair struct{ class, id string }
	users, size := map[pair]int{}, map[string]int{}
	for _, p := range ps {
		size[p.class]++
		seen := map[string]bool{}
		for _, a := range p.Planning.Artifacts {
			if !seen[a.ID] {
				seen[a.ID] = true
				users[pair{p.class, a.ID}]++
			}
		}
	}
	for k, u := range users {
		if u >= 3 && size[k.class]-u >= 3 {
			tests++
			if k.id == "good-"+k.class {
				goods++
			}
		}
	}
	return tests, goods
}

// SmallRow is one history size of the small-history evaluation.
type SmallRow struct {
	N                  int
	Histories          int
	Low                int     // models marked reliability low (success)
	TooSmallNote       int     // recommendations saying the history is too small
	LowNote            int     // recommendations carrying any low-reliability note
	CVMAE, TrueMAE     float64 // means over histories (success)
	CVWithin2SE        int     // |cv_mae − held-out MAE| ≤ 2·cv_mae_std_err
	BeatsBaselineTrue  int     // held-out MAE below the mean's held-out MAE
	GainSignificant    int     // gain over baseline > 2 SE in CV
	SelectionUncertain int     // selection margin < 1 SE
	Kinds              map[string]int
	Coverage           float64 // held-out 80 % coverage (success)
}

// SmallHistories evaluates model selection, cv_mae and the reliability
// flag on histories of 10–50 projects (planning-time features), and a
// history whose success scores are all but constant ("uniform").
func SmallHistories(ctx context.Context, sc Scale, sizes []int) ([]SmallRow, error) {
	var rows []SmallRow
	for _, n := range sizes {
		row := SmallRow{N: n, Kinds: map[string]int{}}
		reps := 3 * sc.Reps
		var cov float64
		var k int
		for rep := 0; rep < reps; rep++ {
			w := World{Seed: sc.Seed + uint64(7000+100*n+rep), TeamKnownAtPlanning: 0.5} // #nosec G115 -- small positive history sizes and repetition counts
			m, err := train(ctx, Records(w.Generate(n, 1), true), uint64(rep))
			if err != nil {
				return nil, err
			}
			row.Histories++
			met := m.Metrics(metalearn.TargetSuccess)
			row.Kinds[string(met.Model)]++
			if met.Reliability == metalearn.ReliabilityLow {
				row.Low++
			}
			if met.GainOverBaseline > 2*met.GainStdErr {
				row.GainSignificant++
			}
			if met.SelectionMargin < met.SelectionStdErr {
				row.SelectionUncertain++
			}
			test := w.Generate(sc.Test, 2)
			var mae, base float64
			mean := 0.0
			for _, r := range Records(w.Generate(n, 1), true) {
				mean += r.Outcome.SuccessScore / float64(n)
			}
			for i, p := range test {
				pr, err := m.PredictTarget(metalearn.TargetSuccess, p.Planning, 0)
				if err != nil {
					return nil, err
				}
				mae += math.Abs(p.Outcome.SuccessScore - pr.Value)
				base += math.Abs(p.Outcome.SuccessScore - mean)
				if pr.Contains(p.Outcome.SuccessScore) {
					cov++
				}
				k++
				if i == 0 {
					rec, err := metalearn.Recommend(m, p.Planning, MaxTeam, 3)
					if err != nil {
						return nil, err
					}
					if slices.ContainsFunc(rec.Notes, func(s string) bool { return contains(s, "too small a history") }) {
						row.TooSmallNote++
					}
					if len(rec.Notes) > 0 {
						row.LowNote++
					}
				}
			}
			mae /= float64(len(test))
			base /= float64(len(test))
			row.CVMAE += met.CVMAE / float64(reps)
			row.TrueMAE += mae / float64(reps)
			if math.Abs(met.CVMAE-mae) <= 2*met.CVMAEStdErr {
				row.CVWithin2SE++
			}
			if mae < base {
				row.BeatsBaselineTrue++
			}
		}
		row.Coverage = cov / float64(k)
		rows = append(rows, row)
	}
	return rows, nil
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Uniform trains on a history whose success scores are all 70 ± 0.1 and
// returns the success model's reliability and notes.
func Uniform(ctx context.Context) (string, []string, error) {
	w := World{Seed: 3, TeamKnownAtPlanning: 1}
	ps := w.Generate(40, 1)
	for i := range ps {
		ps[i].Outcome.SuccessScore = 70 + 0.1*float64(i%3-1)
	}
	m, err := train(ctx, Records(ps, true), 1)
	if err != nil {
		return "", nil, err
	}
	met := m.Metrics(metalearn.TargetSuccess)
	return met.Reliability, met.ReliabilityNotes, nil
}

// Print writes every figure as markdown tables.
func Print(ctx context.Context, out io.Writer, sc Scale) error {
	fmt.Fprintf(out, "scale: %d histories per cell, %d held-out projects each, %d team requests per history, %d tenants for artifacts\n\n", sc.Reps, sc.Test, sc.Requests, sc.Tenants)
	if err := PrintCoverage(ctx, out, sc); err != nil {
		return err
	}
	uw, err := UnseenWidth(ctx, sc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## (2) never-seen metric (open_defects = 500)\n\nlargest relative change of an interval width: %.4f\n", uw)
	if err := PrintTeamSize(ctx, out, sc); err != nil {
		return err
	}
	if err := PrintArtifacts(ctx, out, sc); err != nil {
		return err
	}

	if err := PrintSmall(ctx, out, sc); err != nil {
		return err
	}
	rel, notes, err := Uniform(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nuniform history (40 projects, success 70 ± 0.1): reliability %s, notes %q\n", rel, notes)
	return nil
}

// PrintTeamSize writes the team-size table (3) of Print.
func PrintTeamSize(ctx context.Context, out io.Writer, sc Scale) error {
	team, err := TeamSize(ctx, sc, sc.History)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## (3) team size (%d-project histories, planning-time requests)\n", sc.History)
	fmt.Fprintln(out, "\n| world | requests | planned kept | recommendation within 2 of best | planned size within 2 of best | changes closer to best | median P(team matters) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	for _, r := range team {
		fmt.Fprintf(out, "| %s | %d | %d (%.1f %%) | %d (%.1f %%) | %d (%.1f %%) | %d of %d | %.3g |\n", r.World, r.Requests,
			r.Kept, pct(r.Kept, r.Requests), r.Within2, pct(r.Within2, r.Requests), r.PlannedWithin2, pct(r.PlannedWithin2, r.Requests), r.CloserOfN, r.Changed, r.MedianPEffect)
	}
	return nil
}

// PrintSmall writes the small-history table (5) of Print.
func PrintSmall(ctx context.Context, out io.Writer, sc Scale) error {
	small, err := SmallHistories(ctx, sc, sc.SmallSizes)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n## (5) small histories (success score, planning-time inputs)")
	fmt.Fprintln(out, "\n| n | histories | marked low | recommendation notes low reliability | 'too small' in recommendation | mean cv_mae | mean held-out MAE | cv within 2 SE of held-out | beats mean on held-out | CV gain > 2 SE | selection margin < 1 SE | kinds selected | held-out coverage |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range small {
		keys := make([]string, 0, len(r.Kinds))
		for k := range r.Kinds {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ks := ""
		for _, k := range keys {
			ks += fmt.Sprintf("%s %d ", k, r.Kinds[k])
		}
		fmt.Fprintf(out, "| %d | %d | %d | %d | %d | %.2f | %.2f | %d | %d | %d | %d | %s| %.3f |\n", r.N, r.Histories, r.Low, r.LowNote, r.TooSmallNote, r.CVMAE, r.TrueMAE,
			r.CVWithin2SE, r.BeatsBaselineTrue, r.GainSignificant, r.SelectionUncertain, ks, r.Coverage)
	}
	return nil
}

// PrintCoverage writes the planning-time coverage table (1) of Print.
func PrintCoverage(ctx context.Context, out io.Writer, sc Scale) error {
	cov, err := Coverage(ctx, sc, sc.Sizes)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "## (1) planning-time 80 % intervals (held-out projects after the history, planning-time inputs)")
	fmt.Fprintln(out, "\n| world | trained on | n | target | coverage ± se | ± se over histories | mean relative width | MAE | self-reported forward_coverage |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range cov {
		fmt.Fprintf(out, "| %s | %s | %d | %s | %.3f ± %.3f | %.3f | %.2f | %.3g | %.3f |\n", r.World, r.Model, r.N, r.Target, r.Coverage, r.StdErr, r.HistStdErr, r.RelWidth, r.MAE, r.ForwardCov)
	}
	return nil
}

func pct(a, b int) float64 { return 100 * float64(a) / float64(max(b, 1)) }

// PrintArtifacts writes the artifact table.
func PrintArtifacts(ctx context.Context, out io.Writer, sc Scale) error {
	arts, err := Artifacts(ctx, sc, sc.History)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n## (4) artifact suggestions (%d-project histories, 8 classes)\n", sc.History)
	fmt.Fprintf(out, "\n| world | tenants | tests per tenant | null suggestions per tenant (BH, FDR %.2f) | tenants with any | good suggested per tenant (of 8) | good tested per tenant (≥ 3 users) |\n", metalearn.ArtifactFDR)
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	for _, r := range arts {
		tested := "–"
		if r.GoodTestable > 0 {
			tested = fmt.Sprintf("%.2f", r.GoodTestable)
		}
		fmt.Fprintf(out, "| %s | %d | %.1f | %.2f | %.2f | %.2f | %s |\n", r.World, r.Tenants, r.Tests, r.NullSuggested, r.AnyNull, r.GoodSuggested, tested)
	}
	return nil
}

package metalearn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// modelWidth is a prediction interval's width in model space.
func modelWidth(t *testing.T, tg Target, p Prediction) float64 {
	t.Helper()
	lo, hi, ok := p.Interval()
	if !ok {
		t.Fatalf("%s: unbounded interval %+v", tg, p)
	}
	return tg.forward(hi) - tg.forward(lo)
}

// TestIntervalUnboundedWhenCalibrationTooSmall: 20 projects cannot support
// a 96 % conformal interval (ceil(21·0.96) = 21 > 20), so the interval
// must be unbounded, serialised with null ends, not the largest residual.
func TestIntervalUnboundedWhenCalibrationTooSmall(t *testing.T) {
	t.Parallel()
	hist := synthHistory(20, 31)
	m, err := Train(t.Context(), hist, append(fastOptions(), WithCoverage(0.96))...)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := m.Predict(hist[0].Features)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Prediction{fc.Success, fc.DeploymentDays, fc.ComputeCost} {
		if p.Bounded || p.Low != nil || p.High != nil || p.RelativeWidth != nil || !p.Contains(-1e300) {
			t.Fatalf("%s: want an unbounded interval, got %+v", p.Target, p)
		}
		if !slices.ContainsFunc(p.Notes, func(s string) bool { return strings.Contains(s, "unbounded") }) {
			t.Fatalf("%s: no note on the unbounded interval: %v", p.Target, p.Notes)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"low", "high", "relative_width"} {
			if v, ok := raw[k]; !ok || v != nil {
				t.Fatalf("%s: JSON %s = %v (present %v), want null: %s", p.Target, k, v, ok, b)
			}
		}
		if raw["interval_coverage"] != 0.96 || raw["bounded"] != false {
			t.Fatalf("%s: JSON %s", p.Target, b)
		}
		if _, ok := raw["confidence"]; ok {
			t.Fatalf("%s: JSON still has confidence: %s", p.Target, b)
		}
	}
	// The same history at 80 % (ceil(21·0.8) = 17 <= 20) is bounded.
	m80, err := Train(t.Context(), hist, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := m80.PredictTarget(TargetSuccess, hist[0].Features, 0); !p.Bounded || p.RelativeWidth == nil {
		t.Fatalf("80 %% on 20 projects: %+v", p)
	}
	// The model survives encoding with an infinite quantile.
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeModel(data)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := got.PredictTarget(TargetSuccess, hist[0].Features, 0); p.Bounded {
		t.Fatalf("decoded model bounded: %+v", p)
	}
}

// TestIntervalFloorOnNearConstantTargets: outcomes that differ by
// millionths give near-zero residuals; the interval keeps the floor.
func TestIntervalFloorOnNearConstantTargets(t *testing.T) {
	t.Parallel()
	hist := synthHistory(40, 32)
	for i := range hist {
		d := 1e-6 * float64(i%3)
		hist[i].Outcome = Outcome{SuccessScore: 70 + d, DeploymentDays: 30 + d, ComputeCost: 500 + d}
	}
	m, err := Train(t.Context(), hist, fastOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := m.Predict(hist[0].Features)
	if err != nil {
		t.Fatal(err)
	}
	for tg, p := range map[Target]Prediction{TargetSuccess: fc.Success, TargetDeploymentDays: fc.DeploymentDays, TargetComputeCost: fc.ComputeCost} {
		if w := modelWidth(t, tg, p); w < 2*tg.minHalfWidth()*0.999 {
			t.Errorf("%s: model-space width %g below the floor %g: %+v", tg, w, 2*tg.minHalfWidth(), p)
		}
	}
	met := m.Metrics(TargetSuccess)
	if met.Reliability != ReliabilityLow || !slices.ContainsFunc(met.ReliabilityNotes, func(s string) bool { return strings.Contains(s, "too uniform") }) {
		t.Fatalf("reliability %q %v: want low, too uniform", met.Reliability, met.ReliabilityNotes)
	}
	rec, err := Recommend(m, hist[0].Features, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rec.Notes, func(s string) bool { return strings.Contains(s, "too uniform") }) {
		t.Fatalf("recommendation notes %v: want the too-uniform warning", rec.Notes)
	}
}

// TestUnseenMetricIgnored: synthHistory records only the pipeline success
// rate and commits per week. Open defects and review hours, never seen in
// training, must be ignored, not read as standardized values.
func TestUnseenMetricIgnored(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	maxChange := 0.0
	for _, p := range synthHistory(30, 33) {
		base := p.Features
		with := base.Clone()
		with.ProcessMetrics[MetricOpenDefects] = 500
		with.ProcessMetrics[MetricCodeReviewHours] = 80
		with.ProcessMetrics["velocity"] = 3
		for _, tg := range Targets() {
			a, err := m.PredictTarget(tg, base, 3)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.PredictTarget(tg, with, 3)
			if err != nil {
				t.Fatal(err)
			}
			wa, wb := modelWidth(t, tg, a), modelWidth(t, tg, b)
			maxChange = math.Max(maxChange, math.Abs(wb-wa)/wa)
			if math.Abs(wb-wa) >= 0.1*wa {
				t.Fatalf("%s: an unseen metric changed the interval width from %g to %g", tg, wa, wb)
			}
			if math.Abs(a.Value-b.Value) > 1e-9*math.Max(1, math.Abs(a.Value)) {
				t.Fatalf("%s: an unseen metric changed the prediction from %g to %g", tg, a.Value, b.Value)
			}
			want := []string{FeatureCodeReviewHours, FeatureOpenDefects, "process_metrics.velocity"}
			if !slices.Equal(b.IgnoredInputs, want) || len(a.IgnoredInputs) != 0 {
				t.Fatalf("%s: ignored %v (without: %v), want %v", tg, b.IgnoredInputs, a.IgnoredInputs, want)
			}
			if !slices.ContainsFunc(b.Notes, func(s string) bool { return strings.Contains(s, "never recorded") }) {
				t.Fatalf("%s: no note on the ignored inputs: %v", tg, b.Notes)
			}
			if slices.Contains(b.KnownInputs, FeatureOpenDefects) || !slices.Contains(b.KnownInputs, FeaturePipelineSuccessRate) {
				t.Fatalf("%s: known inputs %v", tg, b.KnownInputs)
			}
		}
	}
	t.Logf("open_defects=500, code_review_hours=80 (never recorded in training): largest relative change of an interval's width over 30 projects × 3 targets: %.3g", maxChange)
}

// TestMissingInputsWiden: every training project recorded its pipeline
// success rate, which moves the success score by up to 12 points; a
// project that lacks it must get a wider interval (and say so), not the
// training mean's narrow one.
func TestMissingInputsWiden(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	test := synthHistory(200, 34)
	var ratio []float64
	coveredKnown, coveredMissing := 0, 0
	for _, r := range test {
		known, err := m.PredictTarget(TargetSuccess, r.Features, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := r.Features.Clone()
		delete(f.ProcessMetrics, MetricPipelineSuccessRate)
		f.Team = nil
		missing, err := m.PredictTarget(TargetSuccess, f, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{FeaturePipelineSuccessRate, FeatureSeniorShare, FeatureMeanExperience, FeatureRoleCount} {
			if !slices.Contains(missing.MissingInputs, name) || slices.Contains(missing.KnownInputs, name) {
				t.Fatalf("missing %v known %v: want %s missing", missing.MissingInputs, missing.KnownInputs, name)
			}
		}
		if slices.Contains(known.MissingInputs, FeaturePipelineSuccessRate) || slices.Contains(known.MissingInputs, FeatureSeniorShare) {
			t.Fatalf("pipeline rate and team given, missing %v", known.MissingInputs)
		}
		ratio = append(ratio, modelWidth(t, TargetSuccess, missing)/modelWidth(t, TargetSuccess, known))
		if known.Contains(r.Outcome.SuccessScore) {
			coveredKnown++
		}
		if missing.Contains(r.Outcome.SuccessScore) {
			coveredMissing++
		}
	}
	// About a fifth of the training projects used no artifact, so an
	// unknown artifact impact is calibrated, not marginalised.
	if share := m.missingShare[numArtifactImpact]; share < MaxCalibratedMissingShare {
		t.Fatalf("artifact impact missing in %.2f of the training projects", share)
	}
	noArt := test[0].Features.Clone()
	noArt.Artifacts = nil
	pr, err := m.PredictTarget(TargetSuccess, noArt, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pr.MissingInputs, []string{FeatureArtifactMeanImpact}) ||
		!slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "calibrated on those projects") }) ||
		slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "mixes") }) {
		t.Fatalf("no artifacts: missing %v, notes %v", pr.MissingInputs, pr.Notes)
	}
	cm := float64(coveredMissing) / float64(len(test))
	t.Logf("width with pipeline rate and team missing / with them known: mean %.2f, min %.2f; coverage %.3f known, %.3f missing (nominal %.2f)",
		meanOf(ratio), slices.Min(ratio), float64(coveredKnown)/float64(len(test)), cm, m.Coverage())
	if meanOf(ratio) < 1.2 {
		t.Errorf("missing inputs widen the interval only %.2f×", meanOf(ratio))
	}
	// Calibrated marginalisation: neither under- nor over-covering (the
	// range-plus-half-width interval of the first pass covered 0.950).
	if math.Abs(cm-m.Coverage()) > 0.06 {
		t.Errorf("coverage with missing inputs %.3f, want %.2f ± 0.06", cm, m.Coverage())
	}
}

// TestForwardValidation: the forward metrics exist, do not depend on the
// order the records are given in (they are ordered by CompletedAt), and
// reveal a drift that shuffled cross-validation hides.
func TestForwardValidation(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	for _, tg := range Targets() {
		met := m.Metrics(tg)
		if met.ForwardMAE == nil || met.ForwardCoverage == nil || met.ForwardBaselineMAE == nil || met.ForwardN != 48 {
			t.Fatalf("%s: forward metrics %+v", tg, met)
		}
		if *met.ForwardMAE >= *met.ForwardBaselineMAE || *met.ForwardCoverage < 0.6 || met.Reliability != ReliabilityOK {
			t.Errorf("%s: forward MAE %.3g (baseline %.3g), coverage %.3f, reliability %s %v", tg,
				*met.ForwardMAE, *met.ForwardBaselineMAE, *met.ForwardCoverage, met.Reliability, met.ReliabilityNotes)
		}
		t.Logf("%s: cv_mae %.3g forward_mae %.3g forward_baseline_mae %.3g forward_coverage %.3f (n=%d)",
			tg, met.CVMAE, *met.ForwardMAE, *met.ForwardBaselineMAE, *met.ForwardCoverage, met.ForwardN)
	}

	// Order invariance: the same records reversed give the same model.
	hist := synthHistory(60, 35)
	rev := slices.Clone(hist)
	slices.Reverse(rev)
	opts := append(fastOptions(), WithKinds(KindRidge))
	a, err := Train(t.Context(), hist, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(t.Context(), rev, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ea, _ := a.MarshalBinary()
	eb, _ := b.MarshalBinary()
	if string(ea) != string(eb) {
		t.Fatal("the model depends on the order the records are given in")
	}

	// Drift: the latest projects score 20 points lower than their features
	// predict. Shuffled CV mixes them into every fold; forward validation
	// trains on the earlier ones and sees the error.
	drift := synthHistory(150, 36)
	for i := range drift {
		if i >= 120 {
			drift[i].Outcome.SuccessScore = math.Max(0, drift[i].Outcome.SuccessScore-20)
		}
	}
	d, err := Train(t.Context(), drift, append(fastOptions(), WithKinds(KindRidgeQuadratic))...)
	if err != nil {
		t.Fatal(err)
	}
	met := d.Metrics(TargetSuccess)
	t.Logf("drift: cv_mae %.2f, forward_mae %.2f, forward_coverage %.3f", met.CVMAE, *met.ForwardMAE, *met.ForwardCoverage)
	if *met.ForwardMAE < 1.5*met.CVMAE || *met.ForwardCoverage > 0.6 {
		t.Errorf("drift not revealed: cv_mae %.2f forward_mae %.2f forward_coverage %.3f", met.CVMAE, *met.ForwardMAE, *met.ForwardCoverage)
	}

	// A small history is flagged.
	small, err := Train(t.Context(), synthHistory(24, 37), opts...)
	if err != nil {
		t.Fatal(err)
	}
	sm := small.Metrics(TargetSuccess)
	if sm.Reliability != ReliabilityLow || sm.ForwardN != 4 || len(sm.ReliabilityNotes) < 2 {
		t.Fatalf("small history: %+v", sm)
	}
	rec, err := Recommend(small, hist[0].Features, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rec.Notes, func(s string) bool { return strings.Contains(s, "too small a history") }) {
		t.Fatalf("recommendation notes %v: want the small-history warning", rec.Notes)
	}
	if m := m.Metrics(TargetSuccess); !slices.Equal(m.ReliabilityNotes, []string{}) {
		t.Fatalf("notes of a reliable model: %v", m.ReliabilityNotes)
	}
}

// noTeamEffectHistory draws n projects whose success depends on class,
// complexity, seniority and the pipeline rate but not on team size.
func noTeamEffectHistory(n int, seed uint64) []Record { return teamHistory(n, seed, 0) }

// teamHistory is noTeamEffectHistory with success falling by
// effect·(team − opt)² points, opt = 1.5 + complexity.
func teamHistory(n int, seed uint64, effect float64) []Record {
	rng := rand.New(rand.NewPCG(seed, 11))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]Record, n)
	for i := range out {
		class := problemClasses[rng.IntN(numClasses)]
		complexity := float64(1 + rng.IntN(10))
		team := 1 + rng.IntN(14)
		var members []TeamMember
		for j := 0; j < team; j++ {
			lv := []string{LevelJunior, LevelMid, LevelSenior, LevelPrincipal}[rng.IntN(4)]
			members = append(members, TeamMember{Role: "ml_engineer", Level: lv})
		}
		pipeline := 0.5 + 0.5*rng.Float64()
		s := 75 - 2.5*complexity + 25*(pipeline-0.75) + 6*rng.NormFloat64()
		s -= effect * (float64(team) - 1.5 - complexity) * (float64(team) - 1.5 - complexity)
		out[i] = Record{
			Features: ProjectFeatures{ProblemClass: class, Complexity: complexity, TeamSize: team, Team: members,
				ProcessMetrics: map[string]float64{MetricPipelineSuccessRate: pipeline}},
			Outcome:     Outcome{SuccessScore: math.Max(0, math.Min(100, s)), DeploymentDays: 10 + complexity, ComputeCost: 100 * complexity},
			CompletedAt: start.Add(time.Duration(i) * time.Hour),
		}
	}
	return out
}

// TestTeamSizeNoEffectKeepsPlanned simulates tenants whose team size has
// no effect on success: the what-if must keep the planned size in at
// least 90 % of requests.
func TestTeamSizeNoEffectKeepsPlanned(t *testing.T) {
	t.Parallel()
	const histories, requests = 40, 40
	kept, total, changedHistories := 0, 0, 0
	var pEffects []float64
	for h := 0; h < histories; h++ {
		// The what-if does not depend on the forecast model's kind; a
		// quadratic ridge keeps 40 trainings quick.
		m, err := Train(t.Context(), noTeamEffectHistory(150, uint64(100+h)), append(fastOptions(), WithKinds(KindRidgeQuadratic), WithForwardValidation(false))...)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(h), 12))
		changed := 0
		for q := 0; q < requests; q++ {
			p := ProjectFeatures{ProblemClass: problemClasses[rng.IntN(numClasses)], Complexity: float64(1 + rng.IntN(10)), TeamSize: 1 + rng.IntN(14)}
			tc, err := m.BestTeamSize(p, 14)
			if err != nil {
				t.Fatal(err)
			}
			if tc.PlannedSize != p.TeamSize || !strings.Contains(tc.Reason, "not a measured cause") {
				t.Fatalf("what-if %+v", tc)
			}
			total++
			if tc.RecommendedSize == p.TeamSize {
				kept++
			} else {
				changed++
				if tc.ProbabilityBetter < MinTeamChangeProbability {
					t.Fatalf("changed with probability %.2f: %+v", tc.ProbabilityBetter, tc)
				}
			}
		}
		if changed > 0 {
			changedHistories++
		}
		if changed > 0 || m.team.pEffect > 0.05 {
			t.Logf("history %d: P(team size matters) %.3f (Wald %.2f), %d/%d requests changed", h, m.team.pEffect, m.team.wald, changed, requests)
		}
		pEffects = append(pEffects, m.team.pEffect)
	}
	share := float64(kept) / float64(total)
	t.Logf("no team-size effect: planned size kept in %d/%d requests (%.1f %%), %d/%d histories changed any; P(team size matters) median %.4f, max %.4f",
		kept, total, 100*share, changedHistories, histories, quantileOf(pEffects, 0.5), slices.Max(pEffects))
	if share < 0.9 {
		t.Fatalf("planned size kept in only %.1f %% of requests", 100*share)
	}
}

// TestTeamSizeEffectFound is the positive control: synthHistory's success
// falls with the squared distance from an optimum of 1.5 + complexity, so
// a planned team of 1 on a complexity-9 project should change, and a
// planned team at the optimum should not.
func TestTeamSizeEffectFound(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	p := ProjectFeatures{ProblemClass: ClassNLP, Complexity: 9, TeamSize: 1}
	tc, err := m.BestTeamSize(p, 14)
	if err != nil {
		t.Fatal(err)
	}
	if tc.RecommendedSize < 7 || tc.ProbabilityBetter < MinTeamChangeProbability {
		t.Fatalf("planned 1 at complexity 9: %+v", tc)
	}
	if tc.PredictedScoreBySize[tc.RecommendedSize] <= tc.PredictedScoreBySize[1] {
		t.Fatalf("scores by size %v", tc.PredictedScoreBySize)
	}
	t.Logf("planned 1 at complexity 9: %s", tc.Reason)
}

// TestTeamSizeModerateEffect measures how often a moderate team-size
// effect (0.3·(team − opt)² points against noise of 6) changes the
// planned size, and checks that changes move toward the true optimum.
func TestTeamSizeModerateEffect(t *testing.T) {
	t.Parallel()
	const histories, requests = 10, 40
	changed, closer, total := 0, 0, 0
	for h := 0; h < histories; h++ {
		m, err := Train(t.Context(), teamHistory(150, uint64(200+h), 0.3), append(fastOptions(), WithKinds(KindRidgeQuadratic), WithForwardValidation(false))...)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(h), 13))
		for q := 0; q < requests; q++ {
			p := ProjectFeatures{ProblemClass: problemClasses[rng.IntN(numClasses)], Complexity: float64(1 + rng.IntN(10)), TeamSize: 1 + rng.IntN(14)}
			tc, err := m.BestTeamSize(p, 14)
			if err != nil {
				t.Fatal(err)
			}
			total++
			if tc.RecommendedSize != p.TeamSize {
				changed++
				opt := 1.5 + p.Complexity
				if math.Abs(float64(tc.RecommendedSize)-opt) < math.Abs(float64(p.TeamSize)-opt) {
					closer++
				}
			}
		}
	}
	t.Logf("moderate team-size effect: %d/%d requests changed (%.1f %%), %d of them closer to the true optimum", changed, total, 100*float64(changed)/float64(total), closer)
	if changed < total/5 || float64(closer) < 0.9*float64(changed) {
		t.Fatalf("changed %d/%d, %d closer to the optimum", changed, total, closer)
	}
}

// TestSubstitutedMeans checks the GP's one-pass substitution against
// predicting every substituted row separately.
func TestSubstitutedMeans(t *testing.T) {
	t.Parallel()
	m := trainedModel(t)
	for _, tg := range Targets() {
		ft := m.targets[tg].fit
		x := make([]float64, encodedDim)
		m.enc.encode(synthHistory(1, 38)[0].Features, x)
		cols := []int{numClasses + numPipeline, numClasses + numSeniorShare}
		var rows [][]float64
		for _, r := range synthHistory(5, 39) {
			row := make([]float64, encodedDim)
			m.enc.encode(r.Features, row)
			rows = append(rows, row)
		}
		got := ft.substitutedMeans(x, cols, rows)
		for i, row := range rows {
			buf := slices.Clone(x)
			for _, c := range cols {
				buf[c] = row[c]
			}
			if want := ft.predictMean(buf); math.Abs(got[i]-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s (%s): substituted mean %v, want %v", tg, ft.reg.kind(), got[i], want)
			}
		}
	}
}

// driftModel trains on a 150-project history whose success scores fall
// by perHundred points per 100 projects completed (clamped to 0–100).
func driftModel(t *testing.T, perHundred float64) *Model {
	t.Helper()
	hist := synthHistory(150, 38)
	for i := range hist {
		s := hist[i].Outcome.SuccessScore - perHundred*float64(i)/100
		hist[i].Outcome.SuccessScore = math.Min(100, math.Max(0, s))
	}
	m, err := Train(t.Context(), hist, append(fastOptions(), WithKinds(KindMean, KindRidge))...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTrendFollowsDrift: a steady drift the inputs cannot explain is
// found, its slope estimated, the predictions moved to the latest level
// and the intervals calibrated without it; a history without drift has
// no trend, and the move is said in the prediction's notes.
func TestTrendFollowsDrift(t *testing.T) {
	t.Parallel()
	if tr := trainedModel(t).Metrics(TargetSuccess).Trend; tr != nil {
		t.Fatalf("a trend in a history without drift: %+v", tr)
	}
	flat := driftModel(t, 0)
	m := driftModel(t, 12)
	tr := m.Metrics(TargetSuccess).Trend
	if tr == nil {
		t.Fatal("no trend in a history losing 12 points per 100 projects")
	}
	if tr.PerProject > -0.08 || tr.PerProject < -0.16 || tr.TStat > -TrendMinTStat {
		t.Fatalf("trend %+v, want about -0.12 per project", tr)
	}
	if flat.Metrics(TargetSuccess).Trend != nil {
		t.Fatalf("trend without drift: %+v", flat.Metrics(TargetSuccess).Trend)
	}
	// The next projects, drawn from the same world, continue the drift:
	// the moved predictions are less biased than they were before the
	// move (the success score's model scale is its own), and the note says
	// why.
	next := synthHistory(60, 39)
	var bias float64
	for i, r := range next {
		y := math.Min(100, math.Max(0, r.Outcome.SuccessScore-12*float64(150+i/3)/100))
		pr, err := m.PredictTarget(TargetSuccess, r.Features, 0)
		if err != nil {
			t.Fatal(err)
		}
		bias += pr.Value - y
		if i == 0 && !slices.ContainsFunc(pr.Notes, func(s string) bool { return strings.Contains(s, "drift over time") }) {
			t.Fatalf("no drift note: %v", pr.Notes)
		}
	}
	bias /= float64(len(next))
	unmoved := bias - tr.Shift
	t.Logf("mean bias on the next projects: %.2f moved by the trend, %.2f before the move", bias, unmoved)
	if math.Abs(bias) > 3 || math.Abs(unmoved) < 2*math.Abs(bias) {
		t.Errorf("bias %.2f on the next projects with the trend, %.2f without", bias, unmoved)
	}
}

package metalearn

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Model is a trained meta-model: one fitted regressor per Target with its
// calibrated interval, metrics and importances, the feature encoder fitted
// on the training history, and the artifact/outcome associations of that
// history. A Model is immutable and safe for concurrent use; the same Model
// gives the same output for the same input.
type Model struct {
	formatVersion     int
	featureSetVersion int
	trainedAt         time.Time
	dataThrough       time.Time
	nProjects         int
	seed              uint64
	coverage          float64
	enc               encoder
	classMean         [numClasses]float64
	maxTeamSize       int
	targets           [numTargets]targetModel
	artifacts         []artifactStat
	// refRaw is a seeded sample of the training projects' raw numeric
	// features (NaN where missing): the distribution over which a
	// prediction marginalises the inputs it lacks.
	refRaw [][numNumeric]float64
	// missingShare is, per numeric feature, the share of training projects
	// that lacked it.
	missingShare [numNumeric]float64
	// team is the team-size association behind BestTeamSize.
	team teamEffect
}

// Summary is a Model's metadata: what a model listing shows.
type Summary struct {
	FormatVersion     int       `json:"format_version"`
	FeatureSetVersion int       `json:"feature_set_version"`
	TrainedAt         time.Time `json:"trained_at"`
	// DataThrough is the latest CompletedAt among the training records
	// (zero when none carried one).
	DataThrough time.Time `json:"data_through,omitzero"`
	NProjects   int       `json:"n_projects"`
	// Coverage is the nominal coverage of the prediction intervals.
	Coverage float64 `json:"interval_coverage"`
	// Metrics are the success-score model's metrics.
	Metrics Metrics `json:"metrics"`
	// FeatureImportances maps each feature to its share of the success
	// score model's permutation importance (shares sum to 1 unless no
	// feature matters).
	FeatureImportances map[string]float64 `json:"feature_importances"`
	// Targets holds the metrics of every target, keyed by Target.String.
	Targets map[string]Metrics `json:"targets"`
	// TeamSizeEffectProbability is the posterior probability (even prior
	// odds, BIC approximation) that team size is associated with the
	// success score at all, other features equal: the gate of
	// BestTeamSize. Nil when team size never varied in the history.
	TeamSizeEffectProbability *float64 `json:"team_size_effect_probability"`
}

// Summary returns the model's metadata. The result is a copy.
func (m *Model) Summary() Summary {
	s := Summary{
		FormatVersion:      m.formatVersion,
		FeatureSetVersion:  m.featureSetVersion,
		TrainedAt:          m.trainedAt,
		DataThrough:        m.dataThrough,
		NProjects:          m.nProjects,
		Coverage:           m.coverage,
		Metrics:            m.Metrics(TargetSuccess),
		FeatureImportances: map[string]float64{},
		Targets:            map[string]Metrics{},
	}
	for _, fi := range m.targets[TargetSuccess].importances {
		s.FeatureImportances[fi.Feature] = fi.Share
	}
	for _, t := range Targets() {
		s.Targets[t.String()] = m.Metrics(t)
	}
	if m.team.valid {
		p := m.team.pEffect
		s.TeamSizeEffectProbability = &p
	}
	return s
}

// TrainedAt reports when the model was trained (UTC).
func (m *Model) TrainedAt() time.Time { return m.trainedAt }

// NProjects reports the number of completed projects the model learned from.
func (m *Model) NProjects() int { return m.nProjects }

// Coverage reports the nominal coverage of the model's intervals.
func (m *Model) Coverage() float64 { return m.coverage }

// Seed reports the seed the model was trained with.
func (m *Model) Seed() uint64 { return m.seed }

// Metrics returns the cross-validation metrics of target t's model (the
// zero value for an unknown target). The result is a copy.
func (m *Model) Metrics(t Target) Metrics {
	if !t.valid() {
		return Metrics{}
	}
	met := m.targets[t].metrics
	met.Candidates = append([]CandidateMetrics(nil), met.Candidates...)
	met.ReliabilityNotes = append([]string{}, met.ReliabilityNotes...)
	for _, p := range []**float64{&met.ForwardMAE, &met.ForwardCoverage, &met.ForwardBaselineMAE} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return met
}

// Importances returns target t's permutation importances, most important
// first (nil for an unknown target). The result is a copy.
func (m *Model) Importances(t Target) []FeatureImportance {
	if !t.valid() {
		return nil
	}
	return append([]FeatureImportance(nil), m.targets[t].importances...)
}

// Factor is one feature's contribution to a prediction: the change in the
// prediction when the feature is replaced by its training average
// (prediction minus reference), in the target's units.
type Factor struct {
	Feature string `json:"feature"`
	// Value is the project's value of a numeric feature, in the feature's
	// own units; nil for the categorical problem_class (see Category) and
	// for a value the project does not have.
	Value *float64 `json:"value"`
	// Category is the project's value of a categorical feature (its
	// problem class); empty for numeric features.
	Category string  `json:"category,omitempty"`
	Effect   float64 `json:"effect"`
}

// Prediction is one target's prediction for a project.
//
// The interval [Low, High] has nominal coverage IntervalCoverage: it is
// cross-conformal, so over projects like the training history it holds
// the outcome with at least that probability. It is never narrower than a
// floor (1 score point for the success score, ±5 % for deployment days
// and, on the log(1 + cost) scale, 0.05 for compute cost), so a history
// whose outcomes are (nearly) identical does not yield a zero-width
// interval. When the calibration set is too small for the coverage (fewer
// than 1/(1 − coverage) − 1 projects, for example 20 projects at 96 %),
// no finite interval is supported: Bounded is false and Low, High and
// RelativeWidth are nil (JSON null).
type Prediction struct {
	Target string `json:"target"`
	// Value is the point prediction in the target's units. For days and
	// cost it is the back-transformed log-space mean (a median estimate).
	Value float64 `json:"value"`
	// Low and High bound the prediction interval; nil when it is
	// unbounded.
	Low  *float64 `json:"low"`
	High *float64 `json:"high"`
	// Bounded reports whether Low and High are set.
	Bounded bool `json:"bounded"`
	// IntervalCoverage is the interval's nominal coverage (e.g. 0.8): the
	// probability, over projects like the history, that the outcome falls
	// inside. It is the same for every prediction of a model.
	IntervalCoverage float64 `json:"interval_coverage"`
	// RelativeWidth is this interval's width divided by the width of the
	// interval of the same coverage that knowing only the tenant's average
	// outcome gives, in model space: 0.5 is half as wide, 1 as wide, above
	// 1 wider (as when inputs are missing). It is a ratio of widths, not a
	// probability; nil when either interval is unbounded.
	RelativeWidth *float64 `json:"relative_width"`
	// TopFactors are the features with the largest effects, largest first.
	TopFactors []Factor `json:"top_factors"`
	// KnownInputs lists the features the prediction used.
	KnownInputs []string `json:"known_inputs"`
	// MissingInputs lists the features the model learned from that this
	// project lacks; the interval spans the predictions over their values
	// in the training history, so it widens as far as they matter.
	MissingInputs []string `json:"missing_inputs"`
	// IgnoredInputs lists inputs given for this project that the model
	// cannot use: features the training history never recorded and
	// unknown process-metric keys ("process_metrics.<key>").
	IgnoredInputs []string `json:"ignored_inputs"`
	// Notes explain, in words, anything that limits the prediction.
	Notes []string `json:"notes"`
}

// Interval returns the interval's ends and true, or false when it is
// unbounded.
func (p Prediction) Interval() (low, high float64, ok bool) {
	if !p.Bounded || p.Low == nil || p.High == nil {
		return 0, 0, false
	}
	return *p.Low, *p.High, true
}

// Contains reports whether v lies in the interval (always, when it is
// unbounded).
func (p Prediction) Contains(v float64) bool {
	lo, hi, ok := p.Interval()
	return !ok || (v >= lo && v <= hi)
}

// Forecast holds the predictions of every target for one project.
type Forecast struct {
	Success        Prediction `json:"success_score"`
	DeploymentDays Prediction `json:"deployment_days"`
	ComputeCost    Prediction `json:"compute_cost"`
}

// Predict returns the predictions of all three targets for p.
func (m *Model) Predict(p ProjectFeatures) (Forecast, error) {
	in, err := m.prepare(p)
	if err != nil {
		return Forecast{}, err
	}
	return Forecast{
		Success:        m.predictTarget(TargetSuccess, p, in, DefaultTopFactors),
		DeploymentDays: m.predictTarget(TargetDeploymentDays, p, in, DefaultTopFactors),
		ComputeCost:    m.predictTarget(TargetComputeCost, p, in, DefaultTopFactors),
	}, nil
}

// PredictTarget returns target t's prediction for p with up to topFactors
// factors (none when topFactors <= 0).
func (m *Model) PredictTarget(t Target, p ProjectFeatures, topFactors int) (Prediction, error) {
	if !t.valid() {
		return Prediction{}, &ValidationError{"target", "unknown target"}
	}
	in, err := m.prepare(p)
	if err != nil {
		return Prediction{}, err
	}
	return m.predictTarget(t, p, in, topFactors), nil
}

// PredictValue returns only target t's point prediction for p: the cheap
// path for sweeps such as team-size recommendations.
func (m *Model) PredictValue(t Target, p ProjectFeatures) (float64, error) {
	if !t.valid() {
		return 0, &ValidationError{"target", "unknown target"}
	}
	in, err := m.prepare(p)
	if err != nil {
		return 0, err
	}
	return t.inverse(m.targets[t].fit.predictMean(in.x)), nil
}

// prepared is a validated project's encoding with its input accounting.
type prepared struct {
	class                   string
	raw                     [numNumeric]float64 // NaN where missing or ignored
	x                       []float64
	known, missing, ignored []string
	marg                    []int       // numeric indices to marginalise over
	calibrated              []string    // missing, but often enough in training to be calibrated
	subst                   [][]float64 // encoded rows with the marginalised inputs substituted
	substCols               []int
}

// MaxCalibratedMissingShare is the share of training projects that must
// have lacked a feature for a prediction lacking it to rely on the
// calibration alone. Below it, the training history (nearly) always had
// the feature, its residuals say nothing about projects without it, and
// the prediction's interval is widened to span the predictions over the
// feature's recorded values instead (Prediction.MissingInputs).
const MaxCalibratedMissingShare = 0.1

// prepare validates p, drops the inputs the model cannot use and encodes
// the rest.
func (m *Model) prepare(p ProjectFeatures) (*prepared, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	in := &prepared{class: p.ProblemClass, raw: rawNumerics(p), x: make([]float64, encodedDim)}
	in.known = append(in.known, FeatureProblemClass)
	for j := 0; j < numNumeric; j++ {
		present := !math.IsNaN(in.raw[j])
		switch {
		case present && m.enc.seen[j]:
			in.known = append(in.known, numericNames[j])
		case present:
			in.ignored = append(in.ignored, numericNames[j])
			in.raw[j] = math.NaN()
		case m.enc.seen[j]:
			in.missing = append(in.missing, numericNames[j])
			if m.missingShare[j] < MaxCalibratedMissingShare {
				in.marg = append(in.marg, j)
			} else {
				in.calibrated = append(in.calibrated, numericNames[j])
			}
		}
	}
	var unknown []string
	for k := range p.ProcessMetrics {
		switch k {
		case MetricPipelineSuccessRate, MetricCommitsPerWeek, MetricCodeReviewHours, MetricOpenDefects:
		default:
			unknown = append(unknown, "process_metrics."+k)
		}
	}
	sort.Strings(unknown)
	in.ignored = append(in.ignored, unknown...)
	m.enc.encodeRaw(p.ProblemClass, in.raw, in.x)
	return in, nil
}

// minHalfWidth is the floor of an interval's half-width in model space.
func (t Target) minHalfWidth() float64 {
	switch t {
	case TargetDeploymentDays:
		return math.Log(1.05)
	case TargetComputeCost:
		return 0.05
	}
	return 1
}

// marginalRange returns the central coverage range of the mean
// predictions (model space) when the missing inputs take the values of
// each reference training project that recorded them.
func (m *Model) marginalRange(tm *targetModel, in *prepared) (lo, hi float64, ok bool) {
	if len(in.marg) == 0 || len(m.refRaw) == 0 {
		return 0, 0, false
	}
	if in.subst == nil {
		// The substituted rows are the same for every target: encode once.
		in.subst, in.substCols = substitutionRows(m.enc, in.class, in.raw, in.marg, m.refRaw)
	}
	if len(in.subst) == 0 {
		return 0, 0, false
	}
	mus := tm.fit.substitutedMeans(in.x, in.substCols, in.subst)
	return quantileOf(mus, (1-m.coverage)/2), quantileOf(mus, (1+m.coverage)/2), true
}

// marginalMus returns the mean predictions (model space) with the
// marginalised inputs taken from each reference training project, or nil.
func (m *Model) marginalMus(tm *targetModel, in *prepared) []float64 {
	if _, _, ok := m.marginalRange(tm, in); !ok {
		return nil
	}
	return tm.fit.substitutedMeans(in.x, in.substCols, in.subst)
}

// mixtureInterval returns the central interval of mass level of the
// mixture, over the reference predictions mus (equal weights), of
// mu_r + ε·w, where ε is symmetric with |ε| distributed as the calibration
// scores (ascending): the predictive distribution when the missing inputs
// are unknown but distributed as in the training history, and the
// residual as in the cross-validation. With one reference prediction it is
// the ordinary conformal interval mu ± q·w.
func mixtureInterval(mus []float64, w float64, scores []float64, level float64) (lo, hi float64) {
	mx := mixture{mus: mus, w: w, scores: scores}
	// The lower end is the largest y with at most (1 − level)/2 of the
	// mass strictly below it, so that the closed interval is symmetric in
	// the scores' atoms.
	cdf, left := mx.cdf, mx.below
	minMu, maxMu := mus[0], mus[0]
	for _, mu := range mus {
		minMu, maxMu = math.Min(minMu, mu), math.Max(maxMu, mu)
	}
	span := scores[len(scores)-1]*w + 1e-12
	solve := func(p float64) float64 {
		a, b := minMu-span-1e-9, maxMu+span+1e-9
		for it := 0; it < 60; it++ {
			mid := (a + b) / 2
			if cdf(mid) >= p {
				b = mid
			} else {
				a = mid
			}
		}
		return b
	}
	lowest := func(p float64) float64 {
		a, b := minMu-span-1e-9, maxMu+span+1e-9
		for it := 0; it < 60; it++ {
			mid := (a + b) / 2
			if left(mid) <= p+1e-12 {
				a = mid
			} else {
				b = mid
			}
		}
		return a
	}
	return lowest((1 - level) / 2), solve((1 + level) / 2)
}

func (m *Model) predictTarget(t Target, p ProjectFeatures, in *prepared, topFactors int) Prediction {
	tm := &m.targets[t]
	mu, sigma := tm.fit.predict(in.x)
	half := tm.q * sigma / tm.sigmaRef
	floor := t.minHalfWidth()
	floored := false
	if !(half >= floor) { // NaN or below the floor
		half, floored = floor, true
	}
	pr := Prediction{
		Target:           t.String(),
		Value:            t.inverse(mu),
		IntervalCoverage: m.coverage,
		KnownInputs:      append([]string{}, in.known...),
		MissingInputs:    append([]string{}, in.missing...),
		IgnoredInputs:    append([]string{}, in.ignored...),
		Notes:            []string{},
	}
	lo, hi := mu, mu
	mixed := false
	if mus := m.marginalMus(tm, in); mus != nil {
		var names []string
		for _, j := range in.marg {
			names = append(names, numericNames[j])
		}
		if level := weightedLevel(recencyWeights(m.nProjects), m.coverage); len(tm.scores) > 0 && finite(half) && level <= 1 {
			// Calibrated marginalisation: the interval is the central part
			// of the mixture of the reference predictions and the
			// cross-validated residuals, not their range plus the
			// half-width (which over-covered: 0.95 at nominal 0.80). Its
			// mass is the one the fold models needed with the same inputs
			// missing (masked.go) when training measured that pattern.
			w := sigma / tm.sigmaRef
			if !(w > 0) || !finite(w) {
				w = 1
			}
			how := "with the cross-validated errors"
			if ml, ok := tm.maskedLevelOf(marginalisedMask(in.marg)); ok {
				level = ml
				how = "with the cross-validated errors, calibrated on the training projects' held-out predictions with the same inputs missing"
			}
			lo, hi = mixtureInterval(mus, w, tm.scores, level)
			if hi-lo < 2*floor {
				c := (lo + hi) / 2
				lo, hi = c-floor, c+floor
			}
			mixed = true
			pr.Notes = append(pr.Notes, fmt.Sprintf("%s not known: the interval mixes the predictions over the values %d training projects recorded %s",
				strings.Join(names, ", "), len(m.refRaw), how))
		} else {
			mlo, mhi := quantileOf(mus, (1-m.coverage)/2), quantileOf(mus, (1+m.coverage)/2)
			lo, hi = math.Min(lo, mlo), math.Max(hi, mhi)
			pr.Notes = append(pr.Notes, fmt.Sprintf("%s not known: the interval spans the predictions over the values %d training projects recorded",
				strings.Join(names, ", "), len(m.refRaw)))
		}
	}
	if mixed {
		half = 0
	}
	if len(in.calibrated) > 0 {
		pr.Notes = append(pr.Notes, fmt.Sprintf("%s not known, as for at least %.0f%% of the training projects: it takes the training mean and the interval is calibrated on those projects",
			strings.Join(in.calibrated, ", "), 100*MaxCalibratedMissingShare))
	}
	if finite(half) {
		l, h := t.inverse(lo-half), t.inverse(hi+half)
		if mixed {
			floored = false
		}
		pr.Low, pr.High, pr.Bounded = &l, &h, true
		if base := math.Max(tm.baseHalf, floor); finite(base) {
			rw := (hi - lo + 2*half) / (2 * base)
			pr.RelativeWidth = &rw
		}
		if floored {
			pr.Notes = append(pr.Notes, fmt.Sprintf("the calibrated interval was narrower than the floor (half-width %.3g on the model scale): the training outcomes left almost no error to calibrate on", floor))
		}
	} else {
		pr.Notes = append(pr.Notes, fmt.Sprintf("unbounded interval: %d training projects cannot support a %.0f%% conformal interval (at least %d are needed)",
			m.nProjects, 100*m.coverage, minCalibration(m.coverage)))
	}
	if tr := tm.metrics.Trend; tr != nil {
		pr.Notes = append(pr.Notes, fmt.Sprintf("the history's outcomes drift over time (%+.3g per project on the model scale, %.1f standard errors): the prediction is moved %+.3g to the level of the latest projects; an association with time, not a cause",
			tr.PerProject, math.Abs(tr.TStat), tr.Shift))
	}
	if len(in.ignored) > 0 {
		pr.Notes = append(pr.Notes, "ignored (the training history never recorded them, so the model cannot read them): "+strings.Join(in.ignored, ", "))
	}
	if topFactors > 0 {
		pr.TopFactors = m.factors(tm, p, in, pr.Value, topFactors)
	}
	return pr
}

// minCalibration is the smallest calibration set that supports a finite
// conformal interval of the coverage under the recency weights: the least
// n whose weights W satisfy coverage·(W + 1) <= W.
func minCalibration(coverage float64) int {
	for n := 1; n < 1<<16; n++ {
		if weightedLevel(recencyWeights(n), coverage) <= 1+1e-12 {
			return n
		}
	}
	return 1 << 16
}

// factors computes each feature's effect by replacing its encoded columns
// with their training mean (0 for standardized numerics, the class
// frequencies for the class block) and re-predicting.
func (m *Model) factors(tm *targetModel, p ProjectFeatures, in *prepared, value float64, k int) []Factor {
	names := FeatureNames()
	raw, x := in.raw, in.x
	ref := make([]float64, encodedDim) // standardized numerics: the training mean is 0
	copy(ref, m.classMean[:])
	refs := tm.fit.groupMeans(x, ref)
	out := make([]Factor, 0, numGroups)
	for g := 0; g < numGroups; g++ {
		f := Factor{Feature: names[g], Effect: value - tm.target.inverse(refs[g])}
		if g == 0 {
			f.Category = p.ProblemClass
		} else if v := raw[g-1]; !math.IsNaN(v) { // #nosec G602 -- g >= 1 in this branch and raw has one entry per numeric group
			d := displayValue(g-1, v)
			f.Value = &d
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(a, b int) bool { return math.Abs(out[a].Effect) > math.Abs(out[b].Effect) })
	if k < len(out) {
		out = out[:k]
	}
	return out
}

// displayValue undoes the log transforms of raw numerics for display.
func displayValue(j int, v float64) float64 {
	if j == numArtifactCount || j == numCommits || j == numReviewHours || j == numOpenDefects {
		return math.Expm1(v)
	}
	return v
}

// String returns a one-line description of the model.
func (m *Model) String() string {
	s := m.targets[TargetSuccess].metrics
	return fmt.Sprintf("metalearn.Model{features v%d, n=%d, success: %s cv_mae=%.3g baseline_mae=%.3g}",
		m.featureSetVersion, m.nProjects, s.Model, s.CVMAE, s.BaselineMAE)
}

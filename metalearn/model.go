package metalearn

import (
	"fmt"
	"math"
	"sort"
	"strconv"
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
	Feature string  `json:"feature"`
	Value   string  `json:"value"`
	Effect  float64 `json:"effect"`
}

// Prediction is one target's prediction for a project.
type Prediction struct {
	Target string `json:"target"`
	// Value is the point prediction in the target's units. For days and
	// cost it is the back-transformed log-space mean (a median estimate).
	Value float64 `json:"value"`
	// Low and High bound the prediction interval.
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Coverage is the interval's nominal coverage (e.g. 0.8).
	Coverage float64 `json:"coverage"`
	// Confidence is 1 − (this interval's half-width ÷ the mean baseline's
	// half-width at the same coverage), in model space, clamped to [0, 1]:
	// 0 means no narrower than knowing only the tenant's average.
	Confidence float64 `json:"confidence"`
	// TopFactors are the features with the largest effects, largest first.
	TopFactors []Factor `json:"top_factors"`
}

// Forecast holds the predictions of every target for one project.
type Forecast struct {
	Success        Prediction `json:"success_score"`
	DeploymentDays Prediction `json:"deployment_days"`
	ComputeCost    Prediction `json:"compute_cost"`
}

// Predict returns the predictions of all three targets for p.
func (m *Model) Predict(p ProjectFeatures) (Forecast, error) {
	x, err := m.encode(p)
	if err != nil {
		return Forecast{}, err
	}
	return Forecast{
		Success:        m.predictTarget(TargetSuccess, p, x, DefaultTopFactors),
		DeploymentDays: m.predictTarget(TargetDeploymentDays, p, x, DefaultTopFactors),
		ComputeCost:    m.predictTarget(TargetComputeCost, p, x, DefaultTopFactors),
	}, nil
}

// PredictTarget returns target t's prediction for p with up to topFactors
// factors (none when topFactors <= 0).
func (m *Model) PredictTarget(t Target, p ProjectFeatures, topFactors int) (Prediction, error) {
	if !t.valid() {
		return Prediction{}, &ValidationError{"target", "unknown target"}
	}
	x, err := m.encode(p)
	if err != nil {
		return Prediction{}, err
	}
	return m.predictTarget(t, p, x, topFactors), nil
}

// PredictValue returns only target t's point prediction for p: the cheap
// path for sweeps such as team-size recommendations.
func (m *Model) PredictValue(t Target, p ProjectFeatures) (float64, error) {
	if !t.valid() {
		return 0, &ValidationError{"target", "unknown target"}
	}
	x, err := m.encode(p)
	if err != nil {
		return 0, err
	}
	return t.inverse(m.targets[t].fit.predictMean(x)), nil
}

func (m *Model) encode(p ProjectFeatures) ([]float64, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	x := make([]float64, encodedDim)
	m.enc.encode(p, x)
	return x, nil
}

func (m *Model) predictTarget(t Target, p ProjectFeatures, x []float64, topFactors int) Prediction {
	tm := &m.targets[t]
	mu, sigma := tm.fit.predict(x)
	half := tm.q * sigma / tm.sigmaRef
	pr := Prediction{
		Target:   t.String(),
		Value:    t.inverse(mu),
		Low:      t.inverse(mu - half),
		High:     t.inverse(mu + half),
		Coverage: m.coverage,
	}
	if math.IsInf(half, 1) {
		pr.High = math.MaxFloat64
	}
	if tm.baseHalf > 0 && finite(half) {
		pr.Confidence = math.Max(0, math.Min(1, 1-half/tm.baseHalf))
	}
	if topFactors > 0 {
		pr.TopFactors = m.factors(tm, p, x, pr.Value, topFactors)
	}
	return pr
}

// factors computes each feature's effect by replacing its encoded columns
// with their training mean (0 for standardized numerics, the class
// frequencies for the class block) and re-predicting.
func (m *Model) factors(tm *targetModel, p ProjectFeatures, x []float64, value float64, k int) []Factor {
	names := FeatureNames()
	raw := rawNumerics(p)
	ref := make([]float64, encodedDim) // standardized numerics: the training mean is 0
	copy(ref, m.classMean[:])
	refs := tm.fit.groupMeans(x, ref)
	out := make([]Factor, 0, numGroups)
	for g := 0; g < numGroups; g++ {
		var val string
		if g == 0 {
			val = p.ProblemClass
		} else if v := raw[g-1]; math.IsNaN(v) {
			val = "unknown"
		} else {
			val = strconv.FormatFloat(displayValue(g-1, v), 'g', 4, 64)
		}
		out = append(out, Factor{Feature: names[g], Value: val, Effect: value - tm.target.inverse(refs[g])})
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

package registry

import (
	"math"
)

// Outcome is what a completed project achieved.
type Outcome struct {
	// ModelPerformance is the model's quality on the project's primary
	// metric, normalised to 0-1 (for example accuracy, AUC or 1-MAPE).
	ModelPerformance float64 `json:"model_performance"`
	// BusinessImpact is the value the project delivered, >= 0, in the
	// tenant's currency unit (the unit of ScoreScales.Impact).
	BusinessImpact float64 `json:"business_impact"`
	// DeploymentDays is the time from start to production, > 0 days.
	DeploymentDays float64 `json:"deployment_days"`
	// ComputeCost is the compute spent, >= 0, in the unit of
	// ScoreScales.Cost.
	ComputeCost float64 `json:"compute_cost"`
}

// Validate reports the outcome's field errors as ValidationErrors.
func (o Outcome) Validate() error {
	var v validator
	v.check(finite(o.ModelPerformance) && o.ModelPerformance >= 0 && o.ModelPerformance <= 1,
		"model_performance", "must be a number between 0 and 1")
	v.check(finite(o.BusinessImpact) && o.BusinessImpact >= 0, "business_impact", "must be a finite number >= 0")
	v.check(finite(o.DeploymentDays) && o.DeploymentDays > 0, "deployment_days", "must be a finite number > 0")
	v.check(finite(o.ComputeCost) && o.ComputeCost >= 0, "compute_cost", "must be a finite number >= 0")
	return v.err()
}

// ScoreWeights weighs the four components of the success score. Only their
// ratios matter: the score divides by their sum.
type ScoreWeights struct {
	Performance float64 `json:"performance"`
	Impact      float64 `json:"impact"`
	Time        float64 `json:"time"`
	Cost        float64 `json:"cost"`
}

// DefaultScoreWeights returns the default weights: performance 0.4,
// impact 0.3, time 0.15, cost 0.15.
func DefaultScoreWeights() ScoreWeights {
	return ScoreWeights{Performance: 0.4, Impact: 0.3, Time: 0.15, Cost: 0.15}
}

// Validate reports weights that are negative or not finite, or whose sum
// is not positive, as ValidationErrors.
func (w ScoreWeights) Validate() error {
	var v validator
	for _, f := range []struct {
		name string
		x    float64
	}{{"weights.performance", w.Performance}, {"weights.impact", w.Impact}, {"weights.time", w.Time}, {"weights.cost", w.Cost}} {
		v.check(finite(f.x) && f.x >= 0, f.name, "must be a finite number >= 0")
	}
	if len(v.errs) == 0 {
		v.check(w.Performance+w.Impact+w.Time+w.Cost > 0, "weights", "must not all be zero")
	}
	return v.err()
}

// ScoreScales are the fixed reference points of the success score's
// logarithmic scales: an impact of Impact or more scores full marks, a
// deployment of Days or more days and a cost of Cost or more score
// nothing on their components.
type ScoreScales struct {
	Impact float64 `json:"impact"`
	Days   float64 `json:"days"`
	Cost   float64 `json:"cost"`
}

// DefaultScoreScales returns the default reference scales: an impact of
// 1,000,000, 365 days, and a compute cost of 100,000.
func DefaultScoreScales() ScoreScales {
	return ScoreScales{Impact: 1e6, Days: 365, Cost: 1e5}
}

// Validate reports scales that are not finite and positive as
// ValidationErrors.
func (s ScoreScales) Validate() error {
	var v validator
	v.check(finite(s.Impact) && s.Impact > 0, "scales.impact", "must be a finite number > 0")
	v.check(finite(s.Days) && s.Days > 0, "scales.days", "must be a finite number > 0")
	v.check(finite(s.Cost) && s.Cost > 0, "scales.cost", "must be a finite number > 0")
	return v.err()
}

// logShare maps x >= 0 to [0, 1] on a logarithmic scale that reaches 1 at
// ref: min(1, ln(1+x) / ln(1+ref)).
func logShare(x, ref float64) float64 {
	return math.Min(1, math.Log1p(x)/math.Log1p(ref))
}

// SuccessScore computes the success score of an outcome, a number from 0
// to 100 rounded to two decimals:
//
//	perf   = ModelPerformance                                  (0..1)
//	impact = min(1, ln(1+BusinessImpact) / ln(1+s.Impact))     (0..1, higher is better)
//	time   = 1 - min(1, ln(1+DeploymentDays) / ln(1+s.Days))   (0..1, faster is better)
//	cost   = 1 - min(1, ln(1+ComputeCost) / ln(1+s.Cost))      (0..1, cheaper is better)
//	score  = 100 * (w.Performance*perf + w.Impact*impact + w.Time*time + w.Cost*cost)
//	             / (w.Performance + w.Impact + w.Time + w.Cost)
//
// Impact, time and cost are heavy-tailed, so they are compared on a
// logarithmic scale: doubling the impact adds the same amount whether it
// goes from 10 to 20 thousand or from 100 to 200 thousand. The scales are
// fixed reference points rather than statistics of the tenant's projects,
// so a score depends on nothing but its own outcome and the settings: it
// is deterministic, scores of one tenant's projects are comparable because
// every project is mapped by the same function, and recording a new
// project never changes an older project's score (which min-max or rank
// normalisation over the tenant's projects would). The price is that
// values beyond a reference saturate; choose scales above the values a
// tenant expects.
//
// It returns ValidationErrors for an invalid outcome, weights or scales.
func SuccessScore(o Outcome, w ScoreWeights, s ScoreScales) (float64, error) {
	var errs ValidationErrors
	for _, err := range []error{o.Validate(), w.Validate(), s.Validate()} {
		if ve, ok := err.(ValidationErrors); ok {
			errs = append(errs, ve...)
		}
	}
	if len(errs) > 0 {
		return 0, errs
	}
	perf := o.ModelPerformance
	impact := logShare(o.BusinessImpact, s.Impact)
	tm := 1 - logShare(o.DeploymentDays, s.Days)
	cost := 1 - logShare(o.ComputeCost, s.Cost)
	sum := w.Performance + w.Impact + w.Time + w.Cost
	score := 100 * (w.Performance*perf + w.Impact*impact + w.Time*tm + w.Cost*cost) / sum
	score = math.Round(score*100) / 100
	return math.Max(0, math.Min(100, score)), nil
}

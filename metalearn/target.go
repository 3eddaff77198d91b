package metalearn

import (
	"math"
)

// Target is one of the outcomes a Model predicts.
type Target int

// The targets, in the order a Model stores them.
const (
	// TargetSuccess is the success score, 0-100, modelled on its own scale.
	TargetSuccess Target = iota
	// TargetDeploymentDays is the time to deployment in days, modelled as
	// log(days) and reported back in days.
	TargetDeploymentDays
	// TargetComputeCost is the compute cost, modelled as log(1 + cost) and
	// reported back in cost units.
	TargetComputeCost
	numTargets
)

// Targets returns every target in storage order.
func Targets() []Target { return []Target{TargetSuccess, TargetDeploymentDays, TargetComputeCost} }

// String returns the target's snake_case name, as used in JSON.
func (t Target) String() string {
	switch t {
	case TargetSuccess:
		return "success_score"
	case TargetDeploymentDays:
		return "deployment_days"
	case TargetComputeCost:
		return "compute_cost"
	}
	return "unknown"
}

func (t Target) valid() bool { return t >= 0 && t < numTargets }

// value extracts the target from an outcome.
func (t Target) value(o Outcome) float64 {
	switch t {
	case TargetDeploymentDays:
		return o.DeploymentDays
	case TargetComputeCost:
		return o.ComputeCost
	}
	return o.SuccessScore
}

// forward maps a target value to the space the models learn in.
func (t Target) forward(v float64) float64 {
	switch t {
	case TargetDeploymentDays:
		return math.Log(math.Max(v, 1e-9))
	case TargetComputeCost:
		return math.Log1p(math.Max(v, 0))
	}
	return v
}

// inverse maps a model-space value back to the target's units, clamped to
// the target's valid range.
func (t Target) inverse(v float64) float64 {
	switch t {
	case TargetDeploymentDays:
		return math.Exp(math.Min(v, 700))
	case TargetComputeCost:
		return math.Max(math.Expm1(math.Min(v, 700)), 0)
	}
	return math.Max(0, math.Min(100, v))
}

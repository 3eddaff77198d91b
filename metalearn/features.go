package metalearn

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Problem classes known to feature set version 1. They match the registry's
// and the reference server's problem_class values.
const (
	ClassClassification   = "classification"
	ClassRegression       = "regression"
	ClassForecasting      = "forecasting"
	ClassNLP              = "nlp"
	ClassComputerVision   = "computer_vision"
	ClassRecommendation   = "recommendation"
	ClassAnomalyDetection = "anomaly_detection"
	ClassOther            = "other"
)

// problemClasses is the one-hot order of feature set version 1. It is part
// of the feature-set contract: changing it requires a new FeatureSetVersion.
var problemClasses = [...]string{
	ClassClassification, ClassRegression, ClassForecasting, ClassNLP,
	ClassComputerVision, ClassRecommendation, ClassAnomalyDetection, ClassOther,
}

// ProblemClasses returns the problem classes the current feature set knows,
// in one-hot order.
func ProblemClasses() []string { return append([]string(nil), problemClasses[:]...) }

// Experience levels of team members, from least to most experienced.
const (
	LevelJunior    = "junior"
	LevelMid       = "mid"
	LevelSenior    = "senior"
	LevelPrincipal = "principal"
)

// Process metric types that feature set version 1 reads from
// ProjectFeatures.ProcessMetrics. Other keys are accepted and ignored.
const (
	MetricPipelineSuccessRate = "pipeline_success_rate"
	MetricCommitsPerWeek      = "commits_per_week"
	MetricCodeReviewHours     = "code_review_hours"
	MetricOpenDefects         = "open_defects"
)

// Limits that ProjectFeatures.Validate enforces.
const (
	MinComplexity = 1
	MaxComplexity = 10
	MaxTeamSize   = 10000
)

// TeamMember is one member of a project team as the model sees it.
type TeamMember struct {
	// Role is a free-form role such as "ml_engineer" or "data_scientist".
	// Roles are compared case-insensitively.
	Role string `json:"role"`
	// Level is one of LevelJunior, LevelMid, LevelSenior, LevelPrincipal.
	// An empty or unknown level counts as LevelMid.
	Level string `json:"experience_level"`
}

// ArtifactUse is one artifact from the tenant's library used by a project.
type ArtifactUse struct {
	// ID identifies the artifact; it lets the recommender associate the
	// artifact with outcomes across projects.
	ID string `json:"artifact_id"`
	// Name is the artifact's human-readable name, used in reasons.
	Name string `json:"name,omitempty"`
	// Type is the artifact type (feature_pipeline, model_template, schema,
	// notebook, dataset, other).
	Type string `json:"type,omitempty"`
	// Impact is the artifact's mean impact score (0-100) as known before
	// this project's outcome; negative means unknown.
	Impact float64 `json:"impact"`
}

// ProjectFeatures describes a project as it is known before its outcome:
// the inputs of every prediction. The zero value is not valid; at least
// ProblemClass, Complexity and TeamSize are required.
type ProjectFeatures struct {
	// ProjectID optionally identifies the project in the registry.
	ProjectID string `json:"project_id,omitempty"`
	// ProblemClass is one of the Class* constants.
	ProblemClass string `json:"problem_class"`
	// Complexity is the complexity score, 1 to 10.
	Complexity float64 `json:"complexity_score"`
	// TeamSize is the planned team size (at least 1).
	TeamSize int `json:"team_size"`
	// Team lists the registered team members; it may be empty, in which
	// case the experience and role features are missing (see Prediction).
	Team []TeamMember `json:"team,omitempty"`
	// Artifacts lists the library artifacts the project uses.
	Artifacts []ArtifactUse `json:"artifacts,omitempty"`
	// ProcessMetrics holds the project's process figures keyed by the
	// Metric* constants: the latest MetricPipelineSuccessRate (0-1),
	// MetricCommitsPerWeek (a rate), the mean MetricCodeReviewHours and the
	// latest MetricOpenDefects. Missing metrics are missing inputs (see
	// Prediction); metrics the training history never recorded and other
	// keys are ignored and listed in Prediction.IgnoredInputs.
	ProcessMetrics map[string]float64 `json:"process_metrics,omitempty"`
}

// Outcome is what happened to a completed project: the three targets the
// meta-models learn.
type Outcome struct {
	// SuccessScore is the registry's success score, 0 to 100.
	SuccessScore float64 `json:"success_score"`
	// DeploymentDays is the time to deployment in days (> 0).
	DeploymentDays float64 `json:"deployment_days"`
	// ComputeCost is the compute cost (>= 0) in the tenant's currency.
	ComputeCost float64 `json:"compute_cost"`
}

// Record is one completed project of a tenant's history: its features and
// its outcome. CompletedAt, when set, orders the history for forward
// validation and lets the retraining policy count new outcomes since the
// last model. Features should describe the project as it stood at the
// moment the model will be asked about (RegistryHistory's cut-off).
type Record struct {
	Features    ProjectFeatures `json:"features"`
	Outcome     Outcome         `json:"outcome"`
	CompletedAt time.Time       `json:"completed_at,omitzero"`
}

// ValidationError reports an invalid field of ProjectFeatures or Outcome.
// It matches ErrInvalid with errors.Is.
type ValidationError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("metalearn: invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func knownClass(c string) bool {
	for _, k := range problemClasses {
		if k == c {
			return true
		}
	}
	return false
}

// Validate reports the first invalid field of p as a *ValidationError.
func (p ProjectFeatures) Validate() error {
	if !knownClass(p.ProblemClass) {
		return &ValidationError{"problem_class", fmt.Sprintf("unknown class %q (want one of %s)", p.ProblemClass, strings.Join(problemClasses[:], ", "))}
	}
	if !finite(p.Complexity) || p.Complexity < MinComplexity || p.Complexity > MaxComplexity {
		return &ValidationError{"complexity_score", fmt.Sprintf("must be between %d and %d", MinComplexity, MaxComplexity)}
	}
	if p.TeamSize < 1 || p.TeamSize > MaxTeamSize {
		return &ValidationError{"team_size", fmt.Sprintf("must be between 1 and %d", MaxTeamSize)}
	}
	for i, a := range p.Artifacts {
		if !finite(a.Impact) || a.Impact > 100 {
			return &ValidationError{fmt.Sprintf("artifacts[%d].impact", i), "must be at most 100 (negative means unknown)"}
		}
	}
	for k, v := range p.ProcessMetrics {
		if !finite(v) {
			return &ValidationError{"process_metrics." + k, "must be finite"}
		}
	}
	if v, ok := p.ProcessMetrics[MetricPipelineSuccessRate]; ok && (v < 0 || v > 1) {
		return &ValidationError{"process_metrics." + MetricPipelineSuccessRate, "must be between 0 and 1"}
	}
	for _, k := range []string{MetricCommitsPerWeek, MetricCodeReviewHours, MetricOpenDefects} {
		if v, ok := p.ProcessMetrics[k]; ok && v < 0 {
			return &ValidationError{"process_metrics." + k, "must not be negative"}
		}
	}
	return nil
}

// Validate reports the first invalid field of o as a *ValidationError.
func (o Outcome) Validate() error {
	switch {
	case !finite(o.SuccessScore) || o.SuccessScore < 0 || o.SuccessScore > 100:
		return &ValidationError{"success_score", "must be between 0 and 100"}
	case !finite(o.DeploymentDays) || o.DeploymentDays <= 0:
		return &ValidationError{"deployment_days", "must be positive"}
	case !finite(o.ComputeCost) || o.ComputeCost < 0:
		return &ValidationError{"compute_cost", "must not be negative"}
	}
	return nil
}

// Clone returns a deep copy of p, so callers may keep and modify their own.
func (p ProjectFeatures) Clone() ProjectFeatures {
	q := p
	q.Team = append([]TeamMember(nil), p.Team...)
	q.Artifacts = append([]ArtifactUse(nil), p.Artifacts...)
	if p.ProcessMetrics != nil {
		q.ProcessMetrics = make(map[string]float64, len(p.ProcessMetrics))
		for k, v := range p.ProcessMetrics {
			q.ProcessMetrics[k] = v
		}
	}
	return q
}

// levelRank maps an experience level to 0 (junior) .. 3 (principal).
func levelRank(level string) float64 {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case LevelJunior:
		return 0
	case LevelSenior:
		return 2
	case LevelPrincipal:
		return 3
	default:
		return 1
	}
}

// distinctRoles counts the distinct non-empty roles of a team.
func distinctRoles(team []TeamMember) int {
	seen := make(map[string]struct{}, len(team))
	for _, m := range team {
		r := strings.ToLower(strings.TrimSpace(m.Role))
		if r != "" {
			seen[r] = struct{}{}
		}
	}
	return len(seen)
}

// distinctArtifactTypes counts the distinct non-empty artifact types.
func distinctArtifactTypes(arts []ArtifactUse) int {
	seen := make(map[string]struct{}, len(arts))
	for _, a := range arts {
		t := strings.ToLower(strings.TrimSpace(a.Type))
		if t != "" {
			seen[t] = struct{}{}
		}
	}
	return len(seen)
}

// artifactIDs returns the sorted distinct artifact ids of p.
func artifactIDs(p ProjectFeatures) []string {
	seen := make(map[string]struct{}, len(p.Artifacts))
	out := make([]string, 0, len(p.Artifacts))
	for _, a := range p.Artifacts {
		if a.ID == "" {
			continue
		}
		if _, ok := seen[a.ID]; !ok {
			seen[a.ID] = struct{}{}
			out = append(out, a.ID)
		}
	}
	sort.Strings(out)
	return out
}

package metalearn

import (
	"math"
)

// FeatureSetVersion is the version of the feature set this package encodes.
// A Model records the version it was trained with and refuses to load (or
// predict with) another one. Version 1 is documented in docs/metalearn.md and
// in FeatureDescriptions.
const FeatureSetVersion = 1

// Feature names of feature set version 1. Importances and top factors use
// these names; FeatureProblemClass covers all one-hot class columns.
const (
	FeatureProblemClass        = "problem_class"
	FeatureComplexity          = "complexity"
	FeatureTeamSize            = "team_size"
	FeatureSeniorShare         = "senior_share"
	FeatureMeanExperience      = "mean_experience"
	FeatureRoleCount           = "role_count"
	FeatureArtifactCount       = "artifact_count"
	FeatureArtifactMeanImpact  = "artifact_mean_impact"
	FeatureArtifactTypeCount   = "artifact_type_count"
	FeaturePipelineSuccessRate = "pipeline_success_rate"
	FeatureCommitsPerWeek      = "commits_per_week"
	FeatureCodeReviewHours     = "code_review_hours"
	FeatureOpenDefects         = "open_defects"
)

// numeric feature indices in the raw numeric vector (version 1).
const (
	numComplexity = iota
	numTeamSize
	numSeniorShare
	numMeanExperience
	numRoleCount
	numArtifactCount
	numArtifactImpact
	numArtifactTypes
	numPipeline
	numCommits
	numReviewHours
	numOpenDefects
	numNumeric
)

var numericNames = [numNumeric]string{
	FeatureComplexity, FeatureTeamSize, FeatureSeniorShare, FeatureMeanExperience,
	FeatureRoleCount, FeatureArtifactCount, FeatureArtifactMeanImpact,
	FeatureArtifactTypeCount, FeaturePipelineSuccessRate, FeatureCommitsPerWeek,
	FeatureCodeReviewHours, FeatureOpenDefects,
}

var numericDescriptions = [numNumeric]string{
	"complexity score 1-10, standardized",
	"planned team size, standardized",
	"share of team members who are senior or principal, standardized; missing when no team is registered",
	"mean experience level (junior 0, mid 1, senior 2, principal 3), standardized; missing when no team is registered",
	"number of distinct roles in the team, standardized; missing when no team is registered",
	"log(1 + number of distinct library artifacts used), standardized",
	"mean impact score (0-100) of the artifacts used, from other projects' ratings recorded before the cut-off, standardized; missing when none is known",
	"number of distinct artifact types used, standardized",
	"latest pipeline success rate (0-1), standardized; missing when not recorded",
	"log(1 + commits per week), standardized; missing when not recorded",
	"log(1 + mean hours from review request to approval), standardized; missing when not recorded",
	"log(1 + latest number of open defects), standardized; missing when not recorded",
}

// numClasses is the number of one-hot problem-class columns.
const numClasses = len(problemClasses)

// encodedDim is the number of encoded columns: one-hot classes followed by
// the standardized numerics.
const encodedDim = numClasses + numNumeric

// numGroups is the number of named features (the class one-hot block is one).
const numGroups = 1 + numNumeric

// FeatureNames returns the names of the features of the current feature set
// in a fixed order; importances and top factors use these names.
func FeatureNames() []string {
	out := make([]string, 0, numGroups)
	out = append(out, FeatureProblemClass)
	return append(out, numericNames[:]...)
}

// FeatureDescriptions returns, for each name of FeatureNames, how the
// feature is computed and encoded. A missing value takes the training mean
// in training; at prediction a missing feature the training history
// (nearly) always had is marginalised over its recorded values, and a
// feature the history never recorded is ignored.
func FeatureDescriptions() map[string]string {
	m := make(map[string]string, numGroups)
	m[FeatureProblemClass] = "one-hot over the problem classes (8 columns, 0/1, not scaled); its reference value in explanations is the training class frequencies"
	for i, n := range numericNames {
		m[n] = numericDescriptions[i]
	}
	return m
}

// groupColumns returns the encoded columns of feature group g.
func groupColumns(g int) (lo, hi int) {
	if g == 0 {
		return 0, numClasses
	}
	return numClasses + g - 1, numClasses + g
}

// rawNumerics extracts the numeric features of p; NaN marks a missing value.
func rawNumerics(p ProjectFeatures) [numNumeric]float64 {
	var r [numNumeric]float64
	nan := math.NaN()
	r[numComplexity] = p.Complexity
	r[numTeamSize] = float64(p.TeamSize)
	if len(p.Team) > 0 {
		senior, exp := 0.0, 0.0
		for _, m := range p.Team {
			lv := levelRank(m.Level)
			exp += lv
			if lv >= 2 {
				senior++
			}
		}
		n := float64(len(p.Team))
		r[numSeniorShare] = senior / n
		r[numMeanExperience] = exp / n
		r[numRoleCount] = float64(distinctRoles(p.Team))
	} else {
		r[numSeniorShare], r[numMeanExperience], r[numRoleCount] = nan, nan, nan
	}
	r[numArtifactCount] = math.Log1p(float64(len(artifactIDs(p)) + countAnonymous(p.Artifacts)))
	sum, known := 0.0, 0
	for _, a := range p.Artifacts {
		if a.Impact >= 0 {
			sum += a.Impact
			known++
		}
	}
	if known > 0 {
		r[numArtifactImpact] = sum / float64(known)
	} else {
		r[numArtifactImpact] = nan
	}
	r[numArtifactTypes] = float64(distinctArtifactTypes(p.Artifacts))
	if v, ok := p.ProcessMetrics[MetricPipelineSuccessRate]; ok {
		r[numPipeline] = v
	} else {
		r[numPipeline] = nan
	}
	for _, lm := range logMetrics {
		if v, ok := p.ProcessMetrics[lm.key]; ok && v >= 0 {
			r[lm.index] = math.Log1p(v)
		} else {
			r[lm.index] = nan
		}
	}
	return r
}

// logMetrics are the process metrics encoded as log(1 + value).
var logMetrics = [...]struct {
	index int
	key   string
}{
	{numCommits, MetricCommitsPerWeek},
	{numReviewHours, MetricCodeReviewHours},
	{numOpenDefects, MetricOpenDefects},
}

// countAnonymous counts artifacts without an id (each counts once).
func countAnonymous(arts []ArtifactUse) int {
	n := 0
	for _, a := range arts {
		if a.ID == "" {
			n++
		}
	}
	return n
}

// encoder standardizes numeric features with statistics fitted on the
// training set and imputes missing values with the training mean (0 after
// standardization). A feature the training set never recorded (seen
// false) carries no statistics: its values are treated as missing, never
// read as if they were standardized. It is immutable after fitting.
type encoder struct {
	mean  [numNumeric]float64
	scale [numNumeric]float64
	seen  [numNumeric]bool
}

// fitEncoder computes the per-feature mean and standard deviation over the
// values that are present. A feature that never varies gets scale 1; one
// that is never present is marked unseen.
func fitEncoder(raws [][numNumeric]float64) encoder {
	var e encoder
	for j := 0; j < numNumeric; j++ {
		s, n := 0.0, 0
		for _, r := range raws {
			if !math.IsNaN(r[j]) {
				s += r[j]
				n++
			}
		}
		if n == 0 {
			e.mean[j], e.scale[j] = 0, 1
			continue
		}
		e.seen[j] = true
		m := s / float64(n)
		ss := 0.0
		for _, r := range raws {
			if !math.IsNaN(r[j]) {
				d := r[j] - m
				ss += d * d
			}
		}
		sd := math.Sqrt(ss / float64(n))
		if !(sd > 1e-9) {
			sd = 1
		}
		e.mean[j], e.scale[j] = m, sd
	}
	return e
}

// encodeRaw writes the encoded vector of (class, raw numerics) to dst, which
// must have length encodedDim. Missing values and values of unseen features
// encode as the training mean (0).
func (e *encoder) encodeRaw(class string, r [numNumeric]float64, dst []float64) {
	for i, c := range problemClasses {
		if c == class {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
	for j := 0; j < numNumeric; j++ {
		v := r[j]
		if math.IsNaN(v) || !e.seen[j] {
			dst[numClasses+j] = 0
		} else {
			dst[numClasses+j] = (v - e.mean[j]) / e.scale[j]
		}
	}
}

// encode writes the encoded vector of p to dst (length encodedDim).
func (e *encoder) encode(p ProjectFeatures, dst []float64) {
	e.encodeRaw(p.ProblemClass, rawNumerics(p), dst)
}

// valid reports whether the fitted statistics are usable.
func (e *encoder) valid() bool {
	for j := 0; j < numNumeric; j++ {
		if !finite(e.mean[j]) || !finite(e.scale[j]) || e.scale[j] <= 0 {
			return false
		}
	}
	return true
}

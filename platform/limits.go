package platform

import (
	"errors"
	"fmt"

	"github.com/maestro-ml/maestro/registry"
)

// Limits of the platform's HTTP inputs that the library does not bound on
// its own. Every input whose work grows with its size is bounded, and a
// request beyond a bound is answered 413 or 422, naming the field, before
// any work: the library's bounds (registry.Spec.Validate's items per
// section, items in all and bytes per item; similarity.MaxOverlapPairs;
// registry.MaxMetricBatch, registry.MaxProcessMetricBatch,
// registry.MaxHistoryPoints, registry.MaxLimit, similarity.MaxResults, the
// artifact content limit) and these. docs/platform.md lists them all
// under "Limits".
const (
	// MaxRecommendTeam is the most team members an ad-hoc recommendation
	// request describes ("team").
	MaxRecommendTeam = 1000
	// MaxRecommendArtifacts is the most artifact ids an ad-hoc
	// recommendation request names ("artifact_ids"); each is read from the
	// library.
	MaxRecommendArtifacts = 100
	// MaxRecommendProcessMetrics is the most process metrics an ad-hoc
	// recommendation request gives ("process_metrics"). The meta-models
	// know four; unknown keys are listed back as ignored.
	MaxRecommendProcessMetrics = 32
	// MaxRecommendFieldBytes bounds, in bytes, a team member's role and
	// level and a process metric's key in a recommendation request.
	MaxRecommendFieldBytes = registry.MaxNameLength
	// MaxSimilarTextBytes bounds the free text of POST
	// /api/v1/specs/similar and the description of an ad-hoc
	// recommendation, like a project's description.
	MaxSimilarTextBytes = registry.MaxDescriptionLength
)

// checkSpec records spec's violations of registry.Spec.Validate in v, with
// their JSON paths ("spec.user_stories", "spec.user_stories[3]", ...).
func (v *validator) checkSpec(spec *registry.Spec) {
	if spec == nil {
		return
	}
	var ve registry.ValidationErrors
	if err := spec.Validate(); errors.As(err, &ve) {
		for _, f := range ve {
			v.check(false, f.Field, f.Message)
		}
	}
}

// checkText records in v that the text of field is longer than max
// bytes. (Decoded JSON text is valid UTF-8: the decoder replaces invalid
// bytes.)
func (v *validator) checkText(field, text string, max int) {
	v.check(len(text) <= max, field, fmt.Sprintf("at most %d bytes", max))
}

package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
)

// recommendSimilar is the number of similar projects of a recommendation.
const recommendSimilar = metalearn.DefaultSimilarLimit

// recommendationRequest is the body of POST /api/v1/recommendations:
// either a registered project (project_id alone), or a project described
// ad hoc by its features, with an optional description and spec for the
// similar projects.
type recommendationRequest struct {
	ProjectID string `json:"project_id"`

	ProblemClass    string                 `json:"problem_class"`
	ComplexityScore *float64               `json:"complexity_score"`
	TeamSize        *int                   `json:"team_size"`
	Team            []metalearn.TeamMember `json:"team"`
	ArtifactIDs     []string               `json:"artifact_ids"`
	ProcessMetrics  map[string]float64     `json:"process_metrics"`
	Description     string                 `json:"description"`
	Spec            *registry.Spec         `json:"spec"`
}

// adHoc reports whether the request describes a project by its fields.
func (in *recommendationRequest) adHoc() bool {
	return in.ProblemClass != "" || in.ComplexityScore != nil || in.TeamSize != nil || len(in.Team) > 0 ||
		len(in.ArtifactIDs) > 0 || len(in.ProcessMetrics) > 0 || in.Description != "" || in.Spec != nil
}

// interval is a prediction interval; both ends are null when it is
// unbounded (the model's calibration set cannot support its coverage).
type interval struct {
	Low  *float64 `json:"low"`
	High *float64 `json:"high"`
}

// recommendationResponse is the answer of POST /api/v1/recommendations.
// The top-level numbers are the success score's; forecast holds every
// target (success score, deployment days, compute cost).
type recommendationResponse struct {
	PredictedSuccessScore float64                        `json:"predicted_success_score"`
	Interval              interval                       `json:"interval"`
	IntervalCoverage      float64                        `json:"interval_coverage"`
	RelativeWidth         *float64                       `json:"relative_width"`
	ModelVersion          int                            `json:"model_version"`
	TopFactors            []metalearn.Factor             `json:"top_factors"`
	SuggestedArtifacts    []metalearn.ArtifactSuggestion `json:"suggested_artifacts"`
	TeamComposition       metalearn.TeamComposition      `json:"team_composition"`
	SimilarProjects       []similarity.Match             `json:"similar_projects"`
	Forecast              metalearn.Forecast             `json:"forecast"`
	PredictionID          string                         `json:"prediction_id,omitempty"`
	Notes                 []string                       `json:"notes"`
	Warnings              []string                       `json:"warnings,omitempty"`
}

// recommend handles POST /api/v1/recommendations with the tenant's active
// meta-model (409 no_model without one): for a project described by its
// fields, or for a registered project (project_id), whose features come
// from the registry. It stores nothing; see recommendProject.
func (s *Server) recommend(w http.ResponseWriter, r *http.Request) error {
	var in recommendationRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	return s.answerRecommendation(w, r, &in, false)
}

// recommendProject handles POST /api/v1/projects/{id}/recommendations: the
// recommendation for a registered project, whose prediction is stored to
// be compared with the outcome later (GET /api/v1/projects/{id}/predictions).
// It takes no body (an empty JSON object is accepted).
func (s *Server) recommendProject(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength != 0 {
		if err := decode(w, r, &struct{}{}); err != nil {
			return err
		}
	}
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	return s.answerRecommendation(w, r, &recommendationRequest{ProjectID: id}, true)
}

// answerRecommendation answers the recommendation request in, storing the
// prediction when store is set (in then names a project).
func (s *Server) answerRecommendation(w http.ResponseWriter, r *http.Request, in *recommendationRequest, store bool) error {
	out, err := s.recommendation(r.Context(), in, store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// recommendation computes the recommendation of request in with the
// tenant's active meta-model, storing the prediction when store is set (in
// then names a project). Similar projects come from the similarity index;
// when the embeddings service is down the answer still comes, without them
// and with a warning. The API and the dashboard share it.
func (s *Server) recommendation(ctx context.Context, in *recommendationRequest, store bool) (recommendationResponse, error) {
	var (
		f   metalearn.ProjectFeatures
		err error
	)
	switch {
	case in.ProjectID != "" && in.adHoc():
		return recommendationResponse{}, invalid(fieldError{Field: "project_id", Message: "give either project_id or the project's fields, not both"})
	case in.ProjectID != "":
		if f, err = s.learn.history.Features(ctx, in.ProjectID); err != nil {
			return recommendationResponse{}, err
		}
	default:
		if f, err = s.adHocFeatures(ctx, in); err != nil {
			return recommendationResponse{}, err
		}
	}
	rec, err := s.learn.rec.Recommend(ctx, metalearn.Query{Features: f})
	if err != nil {
		return recommendationResponse{}, err
	}
	succ := rec.Forecast.Success
	out := recommendationResponse{
		PredictedSuccessScore: succ.Value,
		Interval:              interval{Low: succ.Low, High: succ.High},
		IntervalCoverage:      succ.IntervalCoverage,
		RelativeWidth:         succ.RelativeWidth,
		Notes:                 nonNil(rec.Notes),
		ModelVersion:          rec.ModelVersion,
		TopFactors:            nonNil(succ.TopFactors),
		SuggestedArtifacts:    nonNil(rec.SuggestedArtifacts),
		TeamComposition:       rec.Team,
		Forecast:              rec.Forecast,
	}
	if out.SimilarProjects, out.Warnings, err = s.recommendSimilar(ctx, in); err != nil {
		return recommendationResponse{}, err
	}
	if store {
		// The registry stores finite ends: an unbounded interval is stored
		// as the success score's whole range, 0 to 100. Its confidence
		// column is the interval's nominal coverage.
		low, high, ok := succ.Interval()
		if !ok {
			low, high = 0, 100
		}
		p, err := s.reg.reg.RecordPrediction(ctx, in.ProjectID, registry.PredictionInput{
			ModelVersion:   strconv.Itoa(rec.ModelVersion),
			PredictedScore: succ.Value,
			IntervalLow:    low,
			IntervalHigh:   high,
			Confidence:     succ.IntervalCoverage,
		})
		if err != nil {
			return recommendationResponse{}, err
		}
		out.PredictionID = p.ID
	}
	return out, nil
}

// recommendSimilar finds the similar projects of a recommendation: those
// of the registered project, or of the ad-hoc description and spec (none
// without either). When the embeddings service is down, or the tenant's
// index does not fit the similarity memory budget, it returns none and a
// warning that says which instead of failing the recommendation.
func (s *Server) recommendSimilar(ctx context.Context, in *recommendationRequest) ([]similarity.Match, []string, error) {
	var spec registry.Spec
	if in.Spec != nil {
		spec = *in.Spec
	}
	var (
		similar []similarity.Match
		err     error
	)
	switch {
	case in.ProjectID != "":
		similar, err = s.learn.similarTo(ctx, in.ProjectID, recommendSimilar)
	case !spec.IsZero() || in.Description != "":
		similar, err = s.learn.similarToSpec(ctx, in.Description, spec, recommendSimilar)
	}
	switch {
	case err == nil:
		return nonNil(similar), nil, nil
	case classify(err).status == http.StatusServiceUnavailable:
		s.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "recommendation without similar projects",
			slog.String("error", err.Error()))
		why := "the embeddings service is down"
		if errors.As(err, new(*similarity.MemoryError)) {
			why = "the tenant's similarity index exceeds the server's similarity memory budget"
		}
		return []similarity.Match{}, []string{"similar projects are unavailable: " + why}, nil
	}
	return nil, nil, err
}

// adHocFeatures builds the features of a project described in a request,
// after checking every bound of the request (MaxRecommendTeam,
// MaxRecommendArtifacts, MaxRecommendProcessMetrics,
// MaxRecommendFieldBytes, MaxSimilarTextBytes, registry.Spec's bounds)
// before any work. Artifacts are named by id and read from the tenant's library (an
// unknown id is 422); their impact is their current mean impact score.
func (s *Server) adHocFeatures(ctx context.Context, in *recommendationRequest) (metalearn.ProjectFeatures, error) {
	var v validator
	v.check(in.ProblemClass != "", "problem_class", "required (or give project_id)")
	v.check(in.ComplexityScore != nil, "complexity_score", "required (or give project_id)")
	v.check(in.TeamSize != nil, "team_size", "required (or give project_id)")
	v.check(len(in.Team) <= MaxRecommendTeam, "team", fmt.Sprintf("at most %d members", MaxRecommendTeam))
	if len(in.Team) <= MaxRecommendTeam {
		for i, m := range in.Team {
			if len(m.Role) > MaxRecommendFieldBytes || len(m.Level) > MaxRecommendFieldBytes {
				v.check(false, fmt.Sprintf("team[%d]", i), fmt.Sprintf("role and experience_level at most %d bytes each", MaxRecommendFieldBytes))
				break
			}
		}
	}
	v.check(len(in.ArtifactIDs) <= MaxRecommendArtifacts, "artifact_ids", fmt.Sprintf("at most %d artifacts", MaxRecommendArtifacts))
	v.check(len(in.ProcessMetrics) <= MaxRecommendProcessMetrics, "process_metrics", fmt.Sprintf("at most %d metrics", MaxRecommendProcessMetrics))
	if len(in.ProcessMetrics) <= MaxRecommendProcessMetrics {
		for k := range in.ProcessMetrics {
			if len(k) > MaxRecommendFieldBytes {
				v.check(false, "process_metrics", fmt.Sprintf("keys at most %d bytes", MaxRecommendFieldBytes))
				break
			}
		}
	}
	v.checkText("description", in.Description, MaxSimilarTextBytes)
	v.checkSpec(in.Spec)
	if err := v.err(); err != nil {
		return metalearn.ProjectFeatures{}, err
	}
	f := metalearn.ProjectFeatures{
		ProblemClass:   in.ProblemClass,
		Complexity:     *in.ComplexityScore,
		TeamSize:       *in.TeamSize,
		Team:           in.Team,
		ProcessMetrics: in.ProcessMetrics,
	}
	seen := map[string]bool{}
	for i, id := range in.ArtifactIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		a, err := s.reg.reg.GetArtifact(ctx, id)
		if errors.Is(err, registry.ErrNotFound) {
			v.check(false, fmt.Sprintf("artifact_ids[%d]", i), "no such artifact")
			continue
		}
		if err != nil {
			return f, err
		}
		impact := -1.0
		if a.AvgImpactScore != nil {
			impact = *a.AvgImpactScore
		}
		f.Artifacts = append(f.Artifacts, metalearn.ArtifactUse{ID: a.ID, Name: a.Name, Type: string(a.Type), Impact: impact})
	}
	if err := v.err(); err != nil {
		return f, err
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

// storedPrediction is a stored prediction in the vocabulary of a
// recommendation: the same field names, the model version a number, and
// null interval ends for an unbounded interval (stored by recommend as the
// score's whole range, 0 to 100, which is listed as unbounded).
type storedPrediction struct {
	ID                    string    `json:"id"`
	ProjectID             string    `json:"project_id"`
	ModelVersion          int       `json:"model_version"`
	PredictedSuccessScore float64   `json:"predicted_success_score"`
	Interval              interval  `json:"interval"`
	IntervalCoverage      float64   `json:"interval_coverage"`
	CreatedAt             time.Time `json:"created_at"`
	ActualScore           *float64  `json:"actual_score"`
	Error                 *float64  `json:"error"`
	WithinInterval        *bool     `json:"within_interval"`
}

// listPredictions handles GET /api/v1/projects/{id}/predictions: the
// predictions stored for the project, oldest first, each compared with the
// project's success score once its outcome is recorded.
func (s *Server) listPredictions(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ps, err := s.reg.reg.ListPredictions(r.Context(), r.PathValue("id"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	out := make([]storedPrediction, len(ps.Items))
	for i, p := range ps.Items {
		v, _ := strconv.Atoi(p.ModelVersion) // answerRecommendation stores strconv.Itoa of the version
		sp := storedPrediction{
			ID: p.ID, ProjectID: p.ProjectID, ModelVersion: v, PredictedSuccessScore: p.PredictedScore,
			IntervalCoverage: p.Confidence, CreatedAt: p.CreatedAt,
			ActualScore: p.Actual, Error: p.Error, WithinInterval: p.WithinInterval,
		}
		if !(p.IntervalLow <= 0 && p.IntervalHigh >= 100) {
			low, high := p.IntervalLow, p.IntervalHigh
			sp.Interval = interval{Low: &low, High: &high}
		}
		out[i] = sp
	}
	writePage(w, out, ps.NextCursor)
	return nil
}

// nonNil returns s, or an empty slice for nil, so that JSON shows [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

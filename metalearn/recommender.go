package metalearn

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/maestro-ml/maestro/registry"
)

// ModelSource supplies the model a Recommender uses for the context's
// tenant. *Store satisfies it (the pinned or latest version).
type ModelSource interface {
	Active(ctx context.Context) (*Model, ModelInfo, error)
}

// SimilarProject is a past project similar to the one asked about.
type SimilarProject struct {
	ProjectID  string  `json:"project_id"`
	Name       string  `json:"name"`
	Similarity float64 `json:"similarity"`
}

// SimilarQuery asks for projects similar to a registered project (by id)
// or to a specification. Limit is the maximum number of results.
type SimilarQuery struct {
	ProjectID string
	Spec      registry.Spec
	Limit     int
}

// SimilarFinder finds similar past projects of the context's tenant. The
// similarity package can satisfy it through SimilarFinderFunc.
type SimilarFinder interface {
	FindSimilar(ctx context.Context, q SimilarQuery) ([]SimilarProject, error)
}

// SimilarFinderFunc adapts a function to SimilarFinder.
type SimilarFinderFunc func(ctx context.Context, q SimilarQuery) ([]SimilarProject, error)

// FindSimilar calls f.
func (f SimilarFinderFunc) FindSimilar(ctx context.Context, q SimilarQuery) ([]SimilarProject, error) {
	return f(ctx, q)
}

// FeatureSource reads the features of a registered project of the
// context's tenant. *RegistryHistory satisfies it.
type FeatureSource interface {
	Features(ctx context.Context, projectID string) (ProjectFeatures, error)
}

// Interface compliance.
var (
	_ ModelSource     = (*Store)(nil)
	_ ModelRepository = (*Store)(nil)
	_ HistorySource   = (*RegistryHistory)(nil)
	_ FeatureSource   = (*RegistryHistory)(nil)
	_ SimilarFinder   = SimilarFinderFunc(nil)
	_ HistorySource   = HistoryFunc(nil)
)

// Defaults of the Recommender.
const (
	// DefaultMaxArtifacts is the number of suggested artifacts.
	DefaultMaxArtifacts = 5
	// DefaultSimilarLimit is the number of similar projects.
	DefaultSimilarLimit = 5
	// DefaultMaxTeamSweep caps the team sizes asked about when neither
	// WithMaxTeamSize nor a maxTeam argument says otherwise.
	DefaultMaxTeamSweep = 50
)

// Recommender answers "how will this project go, and what would help":
// the predictions with intervals and top factors, the team size the model
// predicts best, artifacts associated with success in projects of the same
// class, and similar past projects. It is safe for concurrent use.
type Recommender struct {
	models       ModelSource
	features     FeatureSource
	similar      SimilarFinder
	maxTeam      int
	maxArtifacts int
	similarLimit int
}

// RecommenderOption configures a Recommender.
type RecommenderOption func(*Recommender)

// WithSimilarFinder sets where similar projects come from (default none:
// the recommendation lists no similar projects). A *similarity.Indexer is
// one: it answers from the tenant's project embeddings, with every project
// write that returned included. A failing finder fails the
// recommendation (see Recommend).
func WithSimilarFinder(f SimilarFinder) RecommenderOption {
	return func(r *Recommender) { r.similar = f }
}

// WithFeatureSource sets where RecommendProject reads a registered
// project's features (typically a *RegistryHistory).
func WithFeatureSource(f FeatureSource) RecommenderOption {
	return func(r *Recommender) { r.features = f }
}

// WithMaxTeamSize bounds the team sizes asked about (default: the largest
// team size in the model's training history, so the model is never asked
// to extrapolate beyond it, but at most DefaultMaxTeamSweep).
func WithMaxTeamSize(n int) RecommenderOption {
	return func(r *Recommender) {
		if n > 0 && n <= MaxTeamSize {
			r.maxTeam = n
		}
	}
}

// WithMaxArtifacts sets the number of suggested artifacts (default
// DefaultMaxArtifacts; 0 suggests none).
func WithMaxArtifacts(n int) RecommenderOption {
	return func(r *Recommender) {
		if n >= 0 {
			r.maxArtifacts = n
		}
	}
}

// WithSimilarLimit sets the number of similar projects (default
// DefaultSimilarLimit).
func WithSimilarLimit(n int) RecommenderOption {
	return func(r *Recommender) {
		if n > 0 {
			r.similarLimit = n
		}
	}
}

// NewRecommender returns a Recommender that predicts with the models from
// models (typically a *Store).
func NewRecommender(models ModelSource, opts ...RecommenderOption) *Recommender {
	r := &Recommender{models: models, maxArtifacts: DefaultMaxArtifacts, similarLimit: DefaultSimilarLimit}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// ArtifactSuggestion is an artifact whose use is associated with success in
// the tenant's completed projects of the same problem class.
type ArtifactSuggestion struct {
	ArtifactID string `json:"artifact_id"`
	Name       string `json:"name"`
	// Reason states the association with its counts and evidence, e.g.
	// "used by 6 completed nlp projects with mean success 78.1 vs 61.0
	// for the 14 that did not; 9.2 points above what the model expected
	// from their other features (evidence 3.1 standard errors, one-sided
	// p = 0.0012, Benjamini–Hochberg q = 0.041 ≤ 0.1 over all the
	// artifacts this history tested; an association, not a cause)". The
	// model is the artifact-blind refit described at AdjustedLift and p
	// the permutation p-value of PValue; models trained before
	// 2026-12-07 adjusted with the success model itself and a t
	// approximation, until they are retrained.
	Reason string `json:"reason"`
	// Lift is the difference of the two mean success scores.
	Lift float64 `json:"lift"`
	// AdjustedLift is the same difference of the success scores minus
	// their cross-validated predictions by the success model's kind
	// refitted without the artifact features (count, types, impact
	// ratings): the part that the project's other features (team,
	// complexity, class, process) do not explain, which keeps the
	// artifact's own effect whole.
	AdjustedLift float64 `json:"adjusted_lift"`
	// Evidence is AdjustedLift divided by its standard error (the
	// residuals' standard deviation within users and non-users, pooled,
	// times √(1/n_with + 1/n_without)); around 2 or more is unlikely to be
	// chance alone. Suggestions are ordered by it.
	Evidence float64 `json:"evidence"`
	// PValue is the one-sided permutation p-value of AdjustedLift (the
	// share of random relabelings of the class's projects whose users did
	// at least as well) and QValue its Benjamini–Hochberg q-value over
	// every artifact × class the history tested (at least 3 users and 3
	// non-users): an artifact is suggested only at QValue ≤ ArtifactFDR.
	// Nil for models of format version 2.
	PValue *float64 `json:"p_value"`
	QValue *float64 `json:"q_value"`
}

// Recommendation is the Recommender's answer.
type Recommendation struct {
	ModelVersion       int                  `json:"model_version"`
	Forecast           Forecast             `json:"forecast"`
	Team               TeamComposition      `json:"team_composition"`
	SuggestedArtifacts []ArtifactSuggestion `json:"suggested_artifacts"`
	SimilarProjects    []SimilarProject     `json:"similar_projects"`
	// Notes say when the model's history is too small or too uniform to
	// trust (the success model's reliability notes when its Reliability
	// is low); empty otherwise.
	Notes []string `json:"notes"`
}

// Query is what a recommendation is asked for: the project's features and,
// for similar projects, its registry id or specification.
type Query struct {
	Features ProjectFeatures
	Spec     registry.Spec
}

// Recommend answers q for the context's tenant with its active model. It
// fails with ErrNoModel when the tenant has no model and with
// ErrInvalid for invalid features. A failing SimilarFinder fails the
// recommendation (wrapped), so callers can tell a partial answer from a
// full one.
func (r *Recommender) Recommend(ctx context.Context, q Query) (Recommendation, error) {
	if err := q.Features.Validate(); err != nil {
		return Recommendation{}, err
	}
	m, info, err := r.models.Active(ctx)
	if err != nil {
		return Recommendation{}, err
	}
	rec, err := Recommend(m, q.Features, r.maxTeam, r.maxArtifacts)
	if err != nil {
		return Recommendation{}, err
	}
	rec.ModelVersion = info.Version
	if r.similar != nil && (q.Features.ProjectID != "" || !q.Spec.IsZero()) {
		sim, err := r.similar.FindSimilar(ctx, SimilarQuery{ProjectID: q.Features.ProjectID, Spec: q.Spec, Limit: r.similarLimit})
		if err != nil {
			return Recommendation{}, fmt.Errorf("metalearn: similar projects: %w", err)
		}
		for _, s := range sim {
			if q.Features.ProjectID == "" || s.ProjectID != q.Features.ProjectID {
				rec.SimilarProjects = append(rec.SimilarProjects, s)
			}
		}
		if len(rec.SimilarProjects) > r.similarLimit {
			rec.SimilarProjects = rec.SimilarProjects[:r.similarLimit]
		}
	}
	if rec.SimilarProjects == nil {
		rec.SimilarProjects = []SimilarProject{}
	}
	return rec, nil
}

// ErrNoFeatureSource is returned by RecommendProject when the Recommender
// was built without WithFeatureSource.
var ErrNoFeatureSource = errors.New("metalearn: recommender has no feature source")

// RecommendProject answers for a registered project: its features come
// from the FeatureSource (its team, artifacts and process metrics as
// recorded), and similar projects are asked for by its id.
func (r *Recommender) RecommendProject(ctx context.Context, projectID string) (Recommendation, error) {
	if r.features == nil {
		return Recommendation{}, ErrNoFeatureSource
	}
	f, err := r.features.Features(ctx, projectID)
	if err != nil {
		return Recommendation{}, err
	}
	f.ProjectID = projectID
	return r.Recommend(ctx, Query{Features: f})
}

// Recommend computes a recommendation from model m alone (no store, no
// similar projects): the forecast, the best team size among 1..maxTeam
// (0 means the largest size in m's training history, at most
// DefaultMaxTeamSweep) and up to
// maxArtifacts artifact suggestions not already used by p.
func Recommend(m *Model, p ProjectFeatures, maxTeam, maxArtifacts int) (Recommendation, error) {
	fc, err := m.Predict(p)
	if err != nil {
		return Recommendation{}, err
	}
	if maxTeam <= 0 {
		maxTeam = min(m.maxTeamSize, DefaultMaxTeamSweep)
	}
	team, err := m.BestTeamSize(p, maxTeam)
	if err != nil {
		return Recommendation{}, err
	}
	notes := []string{}
	if met := m.Metrics(TargetSuccess); met.Reliability == ReliabilityLow {
		for _, n := range met.ReliabilityNotes {
			notes = append(notes, "low reliability: "+n)
		}
	}
	return Recommendation{
		Forecast:           fc,
		Team:               team,
		SuggestedArtifacts: m.SuggestArtifacts(p, maxArtifacts),
		Notes:              notes,
	}, nil
}

// SuggestArtifacts returns up to limit artifacts associated with success in
// the training history's projects of p's class, strongest evidence first, leaving
// out artifacts p already uses, those whose evidence is below
// MinArtifactEvidence and those whose q-value exceeds ArtifactFDR. The association is observational: projects
// that chose an artifact may differ in other ways, which the reason's
// counts let a reader weigh.
func (m *Model) SuggestArtifacts(p ProjectFeatures, limit int) []ArtifactSuggestion {
	out := []ArtifactSuggestion{}
	if limit <= 0 {
		return out
	}
	used := map[string]bool{}
	for _, a := range p.Artifacts {
		used[a.ID] = true
	}
	for _, a := range m.artifacts {
		if a.class != p.ProblemClass || used[a.id] || !(a.evidence >= MinArtifactEvidence) {
			continue
		}
		controlled := !math.IsNaN(a.qValue)
		if controlled && !(a.qValue <= ArtifactFDR) {
			continue
		}
		var pv, qv *float64
		evidence := fmt.Sprintf("evidence %.1f standard errors", a.evidence)
		if controlled {
			p, q := a.pValue, a.qValue
			pv, qv = &p, &q
			evidence += fmt.Sprintf(", one-sided p = %.2g, Benjamini–Hochberg q = %.2g ≤ %.2g over all the artifacts this history tested", p, q, ArtifactFDR)
		}
		out = append(out, ArtifactSuggestion{
			ArtifactID:   a.id,
			Name:         a.name,
			Lift:         a.lift(),
			AdjustedLift: a.adjLift,
			Evidence:     a.evidence,
			PValue:       pv,
			QValue:       qv,
			Reason: fmt.Sprintf("used by %d completed %s projects with mean success %.1f vs %.1f for the %d that did not; %.1f points above what the model expected from their other features (%s; an association, not a cause)",
				a.withN, a.class, a.withMean, a.withoutMean, a.withoutN, a.adjLift, evidence),
		})
		if len(out) == limit {
			break
		}
	}
	return out
}

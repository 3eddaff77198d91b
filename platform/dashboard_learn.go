package platform

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
)

// metaModelsView is the data of the meta-model page.
type metaModelsView struct {
	Models  []metalearn.ModelInfo
	Active  *metalearn.ModelInfo
	Trained int            // the version just trained, 0 otherwise
	Job     *metalearn.Job // the training job the page follows
	Pinned  bool           // a version is pinned
	Factors []importance
}

// importance is one feature's share of the active model's importance.
type importance struct {
	Feature string
	Share   float64
}

// pageMetaModels lists the tenant's meta-models with their
// cross-validated figures against the baseline, the active one in detail.
func (s *Server) pageMetaModels(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.learn.models.List(r.Context())
	if err != nil {
		return err
	}
	v := metaModelsView{Models: infos}
	v.Trained, _ = strconv.Atoi(r.URL.Query().Get("trained"))
	if id := r.URL.Query().Get("job"); id != "" {
		job, err := s.learn.jobs.Get(r.Context(), id)
		if err != nil {
			return err
		}
		v.Job = &job
	}
	for i := range infos {
		v.Pinned = v.Pinned || infos[i].Pinned
		if infos[i].Active {
			v.Active = &infos[i]
			for k, share := range infos[i].FeatureImportances {
				v.Factors = append(v.Factors, importance{Feature: k, Share: share})
			}
		}
	}
	slices.SortFunc(v.Factors, func(a, b importance) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return strings.Compare(a.Feature, b.Feature)
	})
	s.render(w, r, http.StatusOK, "metamodels", "Meta-models", v)
	return nil
}

// pageTrain starts a job training the tenant's next meta-model (the
// library's Retrainer: one job per tenant at a time; a request while one
// runs joins it) and shows the meta-model page following its progress. Too
// short a history is a 409 page naming the minimum.
func (s *Server) pageTrain(w http.ResponseWriter, r *http.Request) error {
	if err := s.learn.trainer.CheckHistory(r.Context()); err != nil {
		return err
	}
	job, _, err := s.learn.trainer.Start(r.Context())
	if err != nil {
		return err
	}
	redirect(w, r, "/meta-models?job="+url.QueryEscape(job.ID))
	return nil
}

// pageTrainingJob answers a training job's state as JSON (the API's job
// body) for the meta-model page's script, which polls it to show the
// progress and then the trained version. Another tenant's job is 404.
func (s *Server) pageTrainingJob(w http.ResponseWriter, r *http.Request) error {
	job, err := s.learn.jobs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, jobBody{Job: job})
	return nil
}

// pageMetaModelPin pins a version as the active meta-model (admins).
func (s *Server) pageMetaModelPin(w http.ResponseWriter, r *http.Request) error {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		return notFound("meta-model version")
	}
	if err := s.learn.models.Pin(r.Context(), v); err != nil {
		return pageError(err)
	}
	redirect(w, r, "/meta-models")
	return nil
}

// pageMetaModelUnpin removes the pin: the newest version is active again.
func (s *Server) pageMetaModelUnpin(w http.ResponseWriter, r *http.Request) error {
	if err := s.learn.models.Unpin(r.Context()); err != nil {
		return pageError(err)
	}
	redirect(w, r, "/meta-models")
	return nil
}

// pageMetaModelRollback pins the version before the active one; the
// oldest active version is a 409 page.
func (s *Server) pageMetaModelRollback(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.learn.models.Rollback(r.Context()); err != nil {
		return pageError(err)
	}
	redirect(w, r, "/meta-models")
	return nil
}

// recommendForm is the recommendation form's values.
type recommendForm struct {
	ProblemClass string
	Complexity   string
	TeamSize     string
	Team         string
	Description  string
	Artifacts    []string
}

// recommendView is the data of the recommendation page.
type recommendView struct {
	Form      recommendForm
	Classes   []registry.ProblemClass
	Library   []registry.Artifact
	Result    *recommendationResponse
	Sizes     []sizeScore
	Errors    []fieldError
	Bounded   bool
	ArtifactN map[string]string
}

// sizeScore is one row of the team-size what-if.
type sizeScore struct {
	Size        int
	Score       float64
	Planned     bool
	Recommended bool
}

// pageRecommend shows the recommendation form.
func (s *Server) pageRecommend(w http.ResponseWriter, r *http.Request) error {
	v, err := s.recommendPage(r, recommendForm{Complexity: "5", TeamSize: "4"})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "recommend", "Recommendation", v)
	return nil
}

// recommendPage is the recommendation page with form values f.
func (s *Server) recommendPage(r *http.Request, f recommendForm) (recommendView, error) {
	lib, err := s.reg.reg.SearchArtifacts(r.Context(), registry.ArtifactFilter{Limit: 200})
	if err != nil {
		return recommendView{}, err
	}
	return recommendView{Form: f, Classes: registry.ProblemClasses(), Library: lib.Items}, nil
}

// pageRecommendSubmit recommends for the project the form describes with
// the tenant's active meta-model: the predicted success score with its
// interval and factors, the team-size what-if and suggested artifacts. It
// stores nothing, so viewers may ask.
func (s *Server) pageRecommendSubmit(w http.ResponseWriter, r *http.Request) error {
	fm := &form{r: r}
	rf := recommendForm{ProblemClass: fm.str("problem_class"), Complexity: fm.str("complexity_score"),
		TeamSize: fm.str("team_size"), Team: fm.str("team"), Description: fm.str("description"), Artifacts: r.PostForm["artifact_ids"]}
	v, err := s.recommendPage(r, rf)
	if err != nil {
		return err
	}
	complexity, size := fm.number("complexity_score"), fm.integer("team_size")
	in := recommendationRequest{ProblemClass: rf.ProblemClass, ComplexityScore: &complexity, TeamSize: &size,
		ArtifactIDs: rf.Artifacts, Description: rf.Description}
	for i, line := range fm.list("team") {
		role, level, _ := strings.Cut(line, ":")
		role, level = strings.TrimSpace(role), strings.TrimSpace(level)
		fm.v.check(role != "", fmt.Sprintf("team line %d", i+1), "write role:level, e.g. ml_engineer:senior")
		in.Team = append(in.Team, metalearn.TeamMember{Role: role, Level: level})
	}
	err = fm.v.err()
	var out recommendationResponse
	if err == nil {
		out, err = s.recommendation(r.Context(), &in, false)
	}
	if err != nil {
		e := classify(pageError(err))
		if e.status != http.StatusUnprocessableEntity {
			return pageError(err)
		}
		v.Errors = e.fields
		s.render(w, r, http.StatusUnprocessableEntity, "recommend", "Recommendation", v)
		return nil
	}
	v.Result, v.Bounded = &out, out.Interval.Low != nil && out.Interval.High != nil
	tc := out.TeamComposition
	for size, score := range tc.PredictedScoreBySize {
		v.Sizes = append(v.Sizes, sizeScore{Size: size, Score: score, Planned: size == tc.PlannedSize, Recommended: size == tc.RecommendedSize})
	}
	slices.SortFunc(v.Sizes, func(a, b sizeScore) int { return a.Size - b.Size })
	s.render(w, r, http.StatusOK, "recommend", "Recommendation", v)
	return nil
}

// artifactsView is the data of the artifact library.
type artifactsView struct {
	Items      []registry.Artifact
	Types      []registry.ArtifactType
	Type, Q    string
	Tag        string
	MinImpact  string
	NextQuery  string
	Filtered   bool
	TotalShown int
}

// pageArtifacts lists the artifact library, filtered by type, tag and
// minimum impact and searched by text.
func (s *Server) pageArtifacts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := registry.ArtifactFilter{Type: registry.ArtifactType(q.Get("type")), Q: q.Get("q"), Tag: q.Get("tag"), Limit: 50, Cursor: q.Get("cursor")}
	var v validator
	v.check(f.Type == "" || f.Type.Valid(), "type", "unknown artifact type")
	v.check(len(f.Q) <= registry.MaxNameLength && len(f.Tag) <= registry.MaxNameLength, "q", fmt.Sprintf("at most %d characters", registry.MaxNameLength))
	v.check(len(f.Cursor) <= maxCursorLen, "cursor", "not a cursor this server issued")
	if mi := q.Get("min_impact"); mi != "" {
		x, err := strconv.ParseFloat(mi, 64)
		v.check(err == nil && x >= 0 && x <= 100, "min_impact", "must be a number from 0 to 100")
		f.MinImpact = &x
	}
	if err := v.err(); err != nil {
		return err
	}
	page, err := s.reg.reg.SearchArtifacts(r.Context(), f)
	if err != nil {
		return err
	}
	view := artifactsView{Items: page.Items, Types: registry.ArtifactTypes(), Type: string(f.Type), Q: f.Q, Tag: f.Tag,
		MinImpact: q.Get("min_impact"), Filtered: f.Type != "" || f.Q != "" || f.Tag != "" || f.MinImpact != nil}
	if page.NextCursor != "" {
		nq := q
		nq.Set("cursor", page.NextCursor)
		view.NextQuery = nq.Encode()
	}
	s.render(w, r, http.StatusOK, "artifacts", "Artifacts", view)
	return nil
}

// pageModels lists the registered models.
func (s *Server) pageModels(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.reg.reg.ListModels(r.Context(), registry.PageRequest{Limit: 200})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "models", "Models", ms.Items)
	return nil
}

// modelView is the data of a model's page.
type modelView struct {
	Model    *registry.RegisteredModel
	Versions []registry.ModelVersion
	Aliases  map[int][]string
}

// pageModel shows a model's versions, each with the aliases that point
// at it.
func (s *Server) pageModel(w http.ResponseWriter, r *http.Request) error {
	ctx, name := r.Context(), r.PathValue("name")
	m, err := s.reg.reg.GetModel(ctx, name)
	if err != nil {
		return err
	}
	vs, err := s.reg.reg.ListModelVersions(ctx, name, registry.PageRequest{Limit: 200})
	if err != nil {
		return err
	}
	as, err := s.reg.reg.ListModelAliases(ctx, name, registry.PageRequest{Limit: 200})
	if err != nil {
		return err
	}
	v := modelView{Model: m, Versions: vs.Items, Aliases: map[int][]string{}}
	for _, a := range as.Items {
		v.Aliases[a.Version] = append(v.Aliases[a.Version], a.Alias)
	}
	slices.Reverse(v.Versions)
	s.render(w, r, http.StatusOK, "model", m.Name, v)
	return nil
}

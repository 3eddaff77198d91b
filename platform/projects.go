package platform

import (
	"fmt"
	"net/http"
	"time"

	"github.com/maestro-ml/maestro/registry"
)

// createProject handles POST /api/v1/projects. The project is recorded
// for the similarity index in the write's own transaction and indexed
// before the answer is written (see similarity.Indexer).
func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var in registry.ProjectInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.learn.createProject(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// listProjects handles GET /api/v1/projects?problem_class=&status=&q=&tag=.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := registry.ProjectFilter{
		ProblemClass: registry.ProblemClass(q.Get("problem_class")),
		Status:       registry.ProjectStatus(q.Get("status")),
		Q:            q.Get("q"),
		Tags:         q["tag"],
		Limit:        pg.Limit,
		Cursor:       pg.Cursor,
	}
	var v validator
	v.check(f.ProblemClass == "" || f.ProblemClass.Valid(), "problem_class", "unknown problem class")
	v.check(f.Status == "" || f.Status.Valid(), "status", "unknown status")
	v.check(len(f.Q) <= registry.MaxNameLength, "q", fmt.Sprintf("at most %d characters", registry.MaxNameLength))
	if err := v.paramErr(); err != nil {
		return err
	}
	page, err := s.reg.reg.ListProjects(r.Context(), f)
	if err != nil {
		return queryError(err, map[string]string{"tags": "tag"})
	}
	writePage(w, page.Items, page.NextCursor)
	return nil
}

// getProject handles GET /api/v1/projects/{id}.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.reg.reg.GetProject(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// updateProject handles PATCH /api/v1/projects/{id} and re-indexes the
// project for similarity search.
func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var patch registry.ProjectPatch
	if err := decode(w, r, &patch); err != nil {
		return err
	}
	p, err := s.learn.updateProject(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// deleteProject handles DELETE /api/v1/projects/{id}: the project with
// everything recorded about it, and its similarity embedding.
func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.learn.deleteProject(r.Context(), id); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// outcomeRequest is the body of PUT /api/v1/projects/{id}/outcome. Every
// field is required: a missing number must not read as 0.
type outcomeRequest struct {
	ModelPerformance *float64 `json:"model_performance"`
	BusinessImpact   *float64 `json:"business_impact"`
	DeploymentDays   *float64 `json:"deployment_days"`
	ComputeCost      *float64 `json:"compute_cost"`
}

// recordOutcome handles PUT /api/v1/projects/{id}/outcome: the project is
// completed and scored.
func (s *Server) recordOutcome(w http.ResponseWriter, r *http.Request) error {
	var in outcomeRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var v validator
	v.check(in.ModelPerformance != nil, "model_performance", "required")
	v.check(in.BusinessImpact != nil, "business_impact", "required")
	v.check(in.DeploymentDays != nil, "deployment_days", "required")
	v.check(in.ComputeCost != nil, "compute_cost", "required")
	if err := v.err(); err != nil {
		return err
	}
	p, err := s.reg.reg.RecordOutcome(r.Context(), r.PathValue("id"), registry.Outcome{
		ModelPerformance: *in.ModelPerformance,
		BusinessImpact:   *in.BusinessImpact,
		DeploymentDays:   *in.DeploymentDays,
		ComputeCost:      *in.ComputeCost,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// parseOptionalTime parses an optional RFC 3339 time; nil is the zero time
// (the library reads it as "now").
func parseOptionalTime(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

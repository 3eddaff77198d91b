package platform

import (
	"net/http"

	"github.com/maestro-ml/maestro/registry"
)

// createExperiment handles POST /api/v1/projects/{id}/experiments.
func (s *Server) createExperiment(w http.ResponseWriter, r *http.Request) error {
	var in registry.ExperimentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.reg.reg.CreateExperiment(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// experimentFilter reads ?q= and ?lifecycle= of an experiment list.
func experimentFilter(r *http.Request, projectID string) (registry.ExperimentFilter, error) {
	pg, err := pageParams(r)
	if err != nil {
		return registry.ExperimentFilter{}, err
	}
	l, err := lifecycleParam(r)
	if err != nil {
		return registry.ExperimentFilter{}, err
	}
	return registry.ExperimentFilter{ProjectID: projectID, Q: r.URL.Query().Get("q"), Lifecycle: l, Limit: pg.Limit, Cursor: pg.Cursor}, nil
}

// listExperiments handles GET /api/v1/projects/{id}/experiments?q=&lifecycle=.
func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request) error {
	f, err := experimentFilter(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeExperiments(w, r, f)
}

// listAllExperiments handles GET /api/v1/experiments?project_id=&q=&lifecycle=:
// the tenant's experiments, in a project or not; an unknown project_id
// (or another tenant's) is 404.
func (s *Server) listAllExperiments(w http.ResponseWriter, r *http.Request) error {
	f, err := experimentFilter(r, r.URL.Query().Get("project_id"))
	if err != nil {
		return err
	}
	return s.writeExperiments(w, r, f)
}

func (s *Server) writeExperiments(w http.ResponseWriter, r *http.Request, f registry.ExperimentFilter) error {
	es, err := s.reg.reg.SearchExperiments(r.Context(), f)
	if err != nil {
		return queryError(err, nil)
	}
	writePage(w, es.Items, es.NextCursor)
	return nil
}

// updateExperiment handles PATCH /api/v1/experiments/{id} {"name","description"}.
func (s *Server) updateExperiment(w http.ResponseWriter, r *http.Request) error {
	var in registry.ExperimentPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err := s.reg.reg.UpdateExperiment(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// deleteExperiment handles DELETE /api/v1/experiments/{id}: a soft
// delete of the experiment and its runs.
func (s *Server) deleteExperiment(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteExperiment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// restoreExperiment handles POST /api/v1/experiments/{id}/restore.
func (s *Server) restoreExperiment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.reg.reg.RestoreExperiment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// getExperiment handles GET /api/v1/experiments/{id}.
func (s *Server) getExperiment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.reg.reg.GetExperiment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

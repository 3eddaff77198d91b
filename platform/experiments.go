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

// listExperiments handles GET /api/v1/projects/{id}/experiments.
func (s *Server) listExperiments(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	es, err := s.reg.reg.ListExperiments(r.Context(), r.PathValue("id"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, es.Items, es.NextCursor)
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

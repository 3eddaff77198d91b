package platform

import (
	"net/http"
	"strconv"

	"github.com/maestro-ml/maestro/metalearn"
)

// trainMetaModel handles POST /api/v1/meta-models/train: a model trained
// now on the tenant's completed projects becomes the tenant's next version.
// Concurrent requests of one tenant share one training. Too short a
// history is 409 insufficient_history, with the minimum in the detail.
func (s *Server) trainMetaModel(w http.ResponseWriter, r *http.Request) error {
	info, err := s.learn.trainer.Train(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, info)
	return nil
}

// listMetaModels handles GET /api/v1/meta-models: the tenant's models,
// newest first, the active one marked.
func (s *Server) listMetaModels(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.learn.models.List(r.Context())
	if err != nil {
		return err
	}
	return writeSlicePage(w, r, infos)
}

// pinMetaModel handles POST /api/v1/meta-models/{version}/pin: predictions
// use that version until another is pinned or the pin is removed.
func (s *Server) pinMetaModel(w http.ResponseWriter, r *http.Request) error {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 {
		return notFound("meta-model version")
	}
	if err := s.learn.models.Pin(r.Context(), v); err != nil {
		return err
	}
	return s.writeActiveMetaModel(w, r)
}

// unpinMetaModel handles DELETE /api/v1/meta-models/pin: the latest
// version becomes active again.
func (s *Server) unpinMetaModel(w http.ResponseWriter, r *http.Request) error {
	if err := s.learn.models.Unpin(r.Context()); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// rollbackMetaModel handles POST /api/v1/meta-models/rollback: the version
// before the active one is pinned; 409 no_older_version when the active
// one is the oldest, no_model when there is none at all.
func (s *Server) rollbackMetaModel(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.learn.models.Rollback(r.Context()); err != nil {
		return err
	}
	return s.writeActiveMetaModel(w, r)
}

// writeActiveMetaModel answers 200 with the tenant's active model.
func (s *Server) writeActiveMetaModel(w http.ResponseWriter, r *http.Request) error {
	infos, err := s.learn.models.List(r.Context())
	if err != nil {
		return err
	}
	for _, info := range infos {
		if info.Active {
			writeJSON(w, http.StatusOK, info)
			return nil
		}
	}
	return metalearn.ErrNoModel
}

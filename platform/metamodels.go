package platform

import (
	"net/http"
	"strconv"

	"github.com/maestro-ml/maestro/metalearn"
)

// trainMetaModel handles POST /api/v1/meta-models/train: it starts a
// background job that trains the tenant's next model on its completed
// projects and answers 202 with the job and its Location. While the
// tenant has an active job — started on any replica — the answer is that
// job: at most one runs per tenant. The job outlives the request. Too short
// a history is 409 insufficient_history at once, with the minimum in the
// detail.
func (s *Server) trainMetaModel(w http.ResponseWriter, r *http.Request) error {
	if err := s.learn.trainer.CheckHistory(r.Context()); err != nil {
		return err // InsufficientHistoryError: 409 in the error table
	}
	job, _, err := s.learn.trainer.Start(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Location", jobPath(job.ID))
	writeJSON(w, http.StatusAccepted, jobBody{Job: job})
	return nil
}

// jobBody is the JSON of a training job: {"job": {...}}.
type jobBody struct {
	Job metalearn.Job `json:"job"`
}

// jobPath is the URL path of training job id.
func jobPath(id string) string { return "/api/v1/meta-models/jobs/" + id }

// getTrainingJob handles GET /api/v1/meta-models/jobs/{id}: the job's
// status (queued, running, succeeded, failed), its progress, the model's
// info once it succeeded and the error once it failed. A job whose replica
// stopped is reported failed once its heartbeat expired.
func (s *Server) getTrainingJob(w http.ResponseWriter, r *http.Request) error {
	job, err := s.learn.jobs.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jobBody{Job: job})
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

// getMetaModel handles GET /api/v1/meta-models/{version}: one of the
// tenant's models as the list shows it (training metrics, feature
// importances, pinned and active); 404 for a version the tenant does not
// have.
func (s *Server) getMetaModel(w http.ResponseWriter, r *http.Request) error {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v < 1 || strconv.Itoa(v) != r.PathValue("version") {
		return notFound("meta-model version")
	}
	infos, err := s.learn.models.List(r.Context())
	if err != nil {
		return err
	}
	for _, info := range infos {
		if info.Version == v {
			writeJSON(w, http.StatusOK, info)
			return nil
		}
	}
	return notFound("meta-model version")
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

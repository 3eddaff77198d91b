package platform

import (
	"net/http"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/similarity"
)

// routesIntel registers the intelligence routes: meta-models and
// recommendations (intel_metamodels.go, intel_recommend.go) and similarity
// search (intel_similar.go). Asking is a read (viewer); training, pinning
// and storing a prediction are writes.
func (s *server) routesIntel(rt *router) {
	rt.handle("POST /api/v1/meta-models/train", member, s.trainMetaModel)
	rt.handle("GET /api/v1/meta-models", viewer, s.listMetaModels)
	rt.handle("POST /api/v1/meta-models/{version}/pin", admin, s.pinMetaModel)
	rt.handle("DELETE /api/v1/meta-models/pin", admin, s.unpinMetaModel)
	rt.handle("POST /api/v1/meta-models/rollback", admin, s.rollbackMetaModel)
	rt.handle("POST /api/v1/recommendations", viewer, s.recommend)
	rt.handle("GET /api/v1/projects/{id}/predictions", viewer, s.listPredictions)
	rt.handle("GET /api/v1/projects/{id}/similar", viewer, s.similarProjects)
	rt.handle("POST /api/v1/specs/similar", viewer, s.similarSpecs)
	rt.handle("POST /api/v1/specs/overlap", viewer, s.specOverlap)

	// The embeddings service failing, or answering what cannot be used, is
	// a dependency down: 503, never a 500 and never the caller's fault.
	for _, target := range []error{similarity.ErrProvider, similarity.ErrBadResponse,
		similarity.ErrDimensionMismatch, similarity.ErrModelMismatch} {
		s.mapError(target, http.StatusServiceUnavailable, "embeddings_unavailable",
			"the embeddings service is unavailable; retry later")
	}
	s.mapError(metalearn.ErrNoModel, http.StatusConflict, "no_model",
		"no meta-model has been trained for this tenant; POST /api/v1/meta-models/train first")
}

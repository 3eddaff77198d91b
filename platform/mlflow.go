package platform

import (
	"context"
	"net/http"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/mlflowapi"
)

// WithMLflow mounts MLflow's REST API (package mlflowapi) over the
// platform's registry, so that the platform's base URL is an MLflow
// tracking URI: /api/2.0/mlflow/... and the artifact proxy
// /api/2.0/mlflow-artifacts/artifacts/.... Its calls take the platform's
// credentials (an access token or API key as Bearer, or Basic auth whose
// password is an API key), are scoped to the credential's tenant, and
// follow mlflowapi.Endpoints' rule: a viewer reads, a member writes.
// Errors are MLflow's {"error_code","message"}, not problems.
func WithMLflow() Option {
	return func(s *settings) error {
		s.mlflow = true
		return nil
	}
}

// mlflowPrefixes are the paths the MLflow handler is mounted on.
var mlflowPrefixes = []string{mlflowapi.APIPrefix, mlflowapi.ArtifactsPrefix, mlflowapi.ArtifactsPrefix + "/"}

// mountMLflow mounts the MLflow handler on mux behind its authentication
// (auth.Middleware with the platform's verifiers and principal check,
// answering as MLflow), the access log's principal, and the heavy
// routes' deadline.
func (s *Server) mountMLflow(mux *http.ServeMux) error {
	h, err := mlflowapi.New(s.reg.reg, mlflowapi.WithClock(s.now))
	if err != nil {
		return err
	}
	timeout := s.timeouts[1]
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	next = notePrincipalMiddleware(next)
	next = mlflowapi.Authenticate(s.identity.tokens,
		auth.WithAPIKeyVerifier(s.identity.apiKeys),
		auth.WithPrincipalCheck(s.checkPrincipal))(next)
	for _, p := range mlflowPrefixes {
		mux.Handle(p, next)
	}
	return nil
}

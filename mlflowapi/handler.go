package mlflowapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// Path prefixes the Handler serves.
const (
	// APIPrefix is the prefix of MLflow's REST API.
	APIPrefix = "/api/2.0/mlflow/"
	// ArtifactsPrefix is the prefix of MLflow's artifact proxy.
	ArtifactsPrefix = "/api/2.0/mlflow-artifacts/artifacts"
)

// MaxBodyBytes bounds a JSON request body (artifact uploads are bounded by
// the registry's content limit instead).
const MaxBodyBytes = 4 << 20

// ErrInvalid is returned (wrapped) by New for an invalid argument.
var ErrInvalid = errors.New("mlflowapi: invalid input")

// Handler serves MLflow's REST API over a registry. Create it with New.
type Handler struct {
	reg   *registry.Registry
	now   func() time.Time
	log   *slog.Logger
	table map[string][]endpoint // by path relative to APIPrefix
}

// Option configures a Handler.
type Option func(*Handler) error

// WithClock sets the clock the Handler reads the time from (default
// time.Now); it must not be nil.
func WithClock(now func() time.Time) Option {
	return func(h *Handler) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		h.now = now
		return nil
	}
}

// WithLogger sets the logger of internal errors (the client sees only
// INTERNAL_ERROR); the default discards them. It must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(h *Handler) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalid)
		}
		h.log = l
		return nil
	}
}

// New returns a Handler over reg.
func New(reg *registry.Registry, opts ...Option) (*Handler, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registry", ErrInvalid)
	}
	h := &Handler{reg: reg, now: time.Now, log: slog.New(slog.DiscardHandler), table: map[string][]endpoint{}}
	for _, e := range endpoints() {
		h.table[e.Path] = append(h.table[e.Path], e)
	}
	for _, o := range opts {
		if err := o(h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Endpoint is one call of the API the Handler serves.
type Endpoint struct {
	// Method and Path, the path relative to APIPrefix (or
	// ArtifactsPrefix + "/{path}" for the artifact proxy).
	Method, Path string
	// Write calls need the role member; the others viewer.
	Write bool
	// Summary says what the call does.
	Summary string
}

type call struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	args *args
}

type handleFunc func(c *call) (any, error)

type endpoint struct {
	Endpoint
	handle handleFunc
}

func get(path, summary string, f handleFunc) endpoint {
	return endpoint{Endpoint{Method: http.MethodGet, Path: path, Summary: summary}, f}
}

func post(path, summary string, f handleFunc) endpoint {
	return endpoint{Endpoint{Method: http.MethodPost, Path: path, Write: true, Summary: summary}, f}
}

// write is a writing call of another method (PATCH, DELETE).
func write(method, path, summary string, f handleFunc) endpoint {
	return endpoint{Endpoint{Method: method, Path: path, Write: true, Summary: summary}, f}
}

// read marks a POST that only reads (MLflow's searches).
func read(e endpoint) endpoint {
	e.Write = false
	return e
}

// endpoints is the API's table: each call's method, path and whether it
// writes, which is the whole access rule (viewer reads, member writes).
func endpoints() []endpoint {
	return []endpoint{
		post("experiments/create", "Create an experiment that belongs to no project.", createExperiment),
		get("experiments/get", "Get an experiment by id.", getExperiment),
		get("experiments/get-by-name", "Get an experiment by name.", getExperimentByName),
		read(post("experiments/search", "Search experiments.", searchExperiments)),
		get("experiments/search", "Search experiments.", searchExperiments),
		post("experiments/update", "Rename an experiment.", updateExperiment),
		post("experiments/delete", "Delete an experiment and its runs (restorable).", deleteExperiment),
		post("experiments/restore", "Restore a deleted experiment and its runs.", restoreExperiment),
		post("experiments/set-experiment-tag", "Set a tag of an experiment.", setExperimentTag),
		post("experiments/delete-experiment-tag", "Delete a tag of an experiment.", deleteExperimentTag),
		post("runs/create", "Start a run.", createRun),
		get("runs/get", "Get a run with its metrics, params, tags and inputs.", getRun),
		post("runs/update", "Update a run's status, end time or name.", updateRun),
		post("runs/delete", "Delete a run (restorable).", deleteRun),
		post("runs/restore", "Restore a deleted run.", restoreRun),
		post("runs/log-metric", "Log a metric value.", logMetric),
		post("runs/log-parameter", "Log a parameter (write-once).", logParam),
		post("runs/set-tag", "Set a tag of a run.", setRunTag),
		post("runs/delete-tag", "Delete a tag of a run.", deleteRunTag),
		post("runs/log-batch", "Log metrics, params and tags at once.", logBatch),
		post("runs/log-inputs", "Record the datasets a run used.", logInputs),
		read(post("runs/search", "Search runs with MLflow's filter grammar.", searchRuns)),
		get("metrics/get-history", "Read a metric's full history, paged.", getMetricHistory),
		post("registered-models/create", "Register a model.", createRegisteredModel),
		get("registered-models/get", "Get a registered model with its latest version and aliases.", getRegisteredModel),
		get("registered-models/search", "Search registered models by name.", searchRegisteredModels),
		read(post("registered-models/get-latest-versions", "Get the latest version of a model in each stage asked for (every stage when none is).", getLatestVersions)),
		get("registered-models/get-latest-versions", "Get the latest version of a model in each stage asked for (every stage when none is).", getLatestVersions),
		write(http.MethodPatch, "registered-models/update", "Change a registered model's description.", updateRegisteredModel),
		post("registered-models/rename", "Rename a registered model; its versions and aliases follow.", renameRegisteredModel),
		write(http.MethodDelete, "registered-models/delete", "Delete a registered model with its versions and aliases.", deleteRegisteredModel),
		post("registered-models/set-tag", "Set a tag of a registered model.", setRegisteredModelTag),
		write(http.MethodDelete, "registered-models/delete-tag", "Delete a tag of a registered model.", deleteRegisteredModelTag),
		post("registered-models/alias", "Point an alias at a model version.", setAlias),
		write(http.MethodDelete, "registered-models/alias", "Delete an alias.", deleteAlias),
		get("registered-models/alias", "Get the model version an alias points at.", getByAlias),
		post("model-versions/create", "Create a model version (status READY at once).", createModelVersion),
		get("model-versions/get", "Get a model version.", getModelVersion),
		write(http.MethodPatch, "model-versions/update", "Change a model version's description.", updateModelVersion),
		write(http.MethodDelete, "model-versions/delete", "Delete a model version and the aliases pointing at it.", deleteModelVersion),
		post("model-versions/set-tag", "Set a tag of a model version.", setModelVersionTag),
		write(http.MethodDelete, "model-versions/delete-tag", "Delete a tag of a model version.", deleteModelVersionTag),
		post("model-versions/transition-stage", "Move a model version to None, Staging, Production or Archived.", transitionStage),
		get("model-versions/search", "Search model versions by name, run_id, source or version_number.", searchModelVersions),
		get("model-versions/get-download-uri", "Get where a model version's files are.", getDownloadURI),
		post("runs/outputs", "Record the logged models a run produced.", logOutputs),
		post(LoggedModelsPath, "Create a logged model (status pending).", createLoggedModel),
		read(post(LoggedModelsPath+"/search", "Search logged models with MLflow's filter grammar.", searchLoggedModels)),
	}
}

// loggedModelEndpoints are the calls on one logged model, routed by
// loggedModelCall.
var loggedModelEndpoints = []Endpoint{
	{Method: http.MethodGet, Path: LoggedModelsPath + "/{model_id}", Summary: "Get a logged model."},
	{Method: http.MethodPatch, Path: LoggedModelsPath + "/{model_id}", Write: true, Summary: "Finalize a logged model: status ready or upload failed."},
	{Method: http.MethodDelete, Path: LoggedModelsPath + "/{model_id}", Write: true, Summary: "Delete a logged model and its files."},
	{Method: http.MethodPatch, Path: LoggedModelsPath + "/{model_id}/tags", Write: true, Summary: "Set tags of a logged model."},
	{Method: http.MethodDelete, Path: LoggedModelsPath + "/{model_id}/tags/{key}", Write: true, Summary: "Delete a tag of a logged model."},
	{Method: http.MethodPost, Path: LoggedModelsPath + "/{model_id}/params", Write: true, Summary: "Log parameters of a logged model (write-once)."},
}

// artifactEndpoints are the artifact proxy's calls.
var artifactEndpoints = []Endpoint{
	{Method: http.MethodGet, Path: ArtifactsPrefix + "?path={dir}", Summary: "List a directory of a run's artifacts."},
	{Method: http.MethodGet, Path: ArtifactsPrefix + "/{path}", Summary: "Download an artifact."},
	{Method: http.MethodPut, Path: ArtifactsPrefix + "/{path}", Write: true, Summary: "Upload an artifact."},
	{Method: http.MethodDelete, Path: ArtifactsPrefix + "/{path}", Write: true, Summary: "Delete an artifact or a directory of them."},
}

// Endpoints returns every call the Handler serves, with its access rule.
func Endpoints() []Endpoint {
	var out []Endpoint
	for _, e := range endpoints() {
		out = append(out, e.Endpoint)
	}
	out = append(out, loggedModelEndpoints...)
	return append(out, artifactEndpoints...)
}

// ServeHTTP serves a call of the API. The request's context must carry
// the caller's verified auth.Principal (put there by auth.Middleware, see
// Authenticate); the call is scoped to the principal's tenant, reads need
// any role in it and writes the role member.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		WriteError(w, http.StatusUnauthorized, CodeUnauthenticated, "A valid credential is required.")
		return
	}
	path := r.URL.Path
	var (
		handle handleFunc
		write  bool
	)
	switch {
	case path == ArtifactsPrefix || strings.HasPrefix(path, ArtifactsPrefix+"/"):
		handle, write = artifactCall(r.Method, strings.TrimPrefix(path, ArtifactsPrefix))
		if handle == nil {
			h.fail(w, newError(CodeBadRequest, http.StatusMethodNotAllowed, "method %s is not allowed here", r.Method))
			return
		}
	case strings.HasPrefix(path, APIPrefix):
		name := strings.TrimPrefix(path, APIPrefix)
		es, allowed := h.table[name]
		for _, e := range es {
			if e.Method == r.Method {
				handle, write = e.handle, e.Write
			}
		}
		if rest, ok := strings.CutPrefix(name, LoggedModelsPath+"/"); ok && handle == nil && !allowed {
			handle, write, allowed = loggedModelCall(r.Method, rest)
		}
		if handle == nil {
			if allowed {
				h.fail(w, newError(CodeBadRequest, http.StatusMethodNotAllowed, "method %s is not allowed for %s", r.Method, name))
			} else {
				h.fail(w, newError(CodeEndpointNotFound, http.StatusNotFound, "no endpoint %s", path))
			}
			return
		}
	default:
		h.fail(w, newError(CodeEndpointNotFound, http.StatusNotFound, "no endpoint %s", path))
		return
	}
	switch {
	case p.TenantID == "":
		h.fail(w, newError(CodePermissionDenied, http.StatusForbidden, "MLflow calls need a credential bound to a tenant"))
		return
	case !p.Role.AtLeast(auth.RoleViewer):
		h.fail(w, newError(CodePermissionDenied, http.StatusForbidden, "the credential grants no role in its tenant"))
		return
	case write && !p.Role.AtLeast(auth.RoleMember):
		h.fail(w, newError(CodePermissionDenied, http.StatusForbidden, "this call needs the member role"))
		return
	}
	r = r.WithContext(tenancy.WithTenant(r.Context(), p.TenantID))
	c := &call{h: h, w: w, r: r}
	if !strings.HasPrefix(path, ArtifactsPrefix) {
		a, err := readArgs(r)
		if err != nil {
			h.fail(w, err)
			return
		}
		c.args = a
	}
	out, err := handle(c)
	if err != nil {
		h.fail(w, err)
		return
	}
	if out == nil {
		return // the handler wrote the response (artifact download)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// readArgs reads a call's parameters: the query of a GET, the JSON
// object of another method's body (at most MaxBodyBytes; an empty body is
// no parameters).
func readArgs(r *http.Request) (*args, error) {
	if r.Method == http.MethodGet {
		q, err := urlQuery(r)
		if err != nil {
			return nil, err
		}
		return &args{query: q}, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "text/plain") {
			return nil, invalidParam("the body must be JSON (Content-Type application/json)")
		}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, invalidParam("the body could not be read")
	}
	if len(b) > MaxBodyBytes {
		return nil, invalidParam("the body is larger than %d bytes", MaxBodyBytes)
	}
	a := &args{body: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(b)) == 0 {
		if r.Method == http.MethodDelete && r.URL.RawQuery != "" {
			// Some clients send a DELETE's parameters in the query.
			q, err := urlQuery(r)
			if err != nil {
				return nil, err
			}
			return &args{query: q}, nil
		}
		return a, nil
	}
	if err := json.Unmarshal(b, &a.body); err != nil || a.body == nil {
		return nil, invalidParam("the body must be a JSON object")
	}
	return a, nil
}

func urlQuery(r *http.Request) (url.Values, error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalidParam("malformed query string")
	}
	return q, nil
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	e := errorFor(err)
	if e.Status >= 500 {
		h.log.Error("mlflow call failed", slog.String("error", err.Error()))
	}
	WriteError(w, e.Status, e.Code, e.Message)
}

// Authenticate returns middleware that verifies an MLflow client's
// credential and puts its auth.Principal in the request context, for a
// Handler behind it. It accepts what MLflow's clients send:
// "Authorization: Bearer <token>" (MLFLOW_TRACKING_TOKEN: an access token
// or an API key) and "Authorization: Basic" whose password is an API key
// (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD; the user name is
// ignored). It is auth.Middleware with opts (give it
// auth.WithAPIKeyVerifier, and auth.WithPrincipalCheck as the host
// checks principals) and its refusals written as MLflow errors.
func Authenticate(tokens auth.AccessVerifier, opts ...auth.MiddlewareOption) func(http.Handler) http.Handler {
	opts = append(slices.Clone(opts), auth.WithErrorWriter(AuthErrorWriter), auth.WithRealm("mlflow"))
	mw := auth.Middleware(tokens, opts...)
	return func(next http.Handler) http.Handler {
		inner := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, pass, ok := r.BasicAuth(); ok {
				_ = user
				r = r.Clone(r.Context())
				if auth.IsAPIKeyLike(pass) {
					r.Header.Set("Authorization", "Bearer "+pass)
				} else {
					r.Header.Del("Authorization") // a password is never a credential here
				}
			}
			inner.ServeHTTP(w, r)
		})
	}
}

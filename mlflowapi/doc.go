// Package mlflowapi serves MLflow's REST API over Maestro's registry, as
// an http.Handler a host mounts, so that an unmodified MLflow client
// (mlflow, mlflow-skinny) tracks into Maestro: the host's base URL is the
// tracking URI.
//
//	h, err := mlflowapi.New(reg)
//	authn := mlflowapi.Authenticate(jwtManager, auth.WithAPIKeyVerifier(apiKeys))
//	mux.Handle(mlflowapi.APIPrefix, authn(h))             // /api/2.0/mlflow/...
//	mux.Handle(mlflowapi.ArtifactsPrefix+"/", authn(h))   // /api/2.0/mlflow-artifacts/artifacts/...
//	mux.Handle(mlflowapi.ArtifactsPrefix, authn(h))       // its listing
//
// Package platform mounts it with platform.WithMLflow.
//
// # What is served
//
// Endpoints lists every call with its access rule: experiments (create,
// get, get-by-name, search, update, delete, restore, set-experiment-tag,
// delete-experiment-tag),
// runs (create, get, update, delete, restore, log-metric, log-parameter,
// set-tag, delete-tag, log-batch with MLflow's limits, log-inputs,
// search with MLflow's filter grammar, order_by, max_results and page
// tokens), metrics/get-history (paged), the model registry over the
// registry's models, versions, aliases, tags and stages (registered-models
// create, get, search, get-latest-versions, alias, update, rename, delete,
// set-tag, delete-tag; model-versions create, get, search,
// get-download-uri, update, delete, set-tag, delete-tag,
// transition-stage), MLflow 3's logged models (create, get, finalize,
// tags, params, delete, search; their files through the artifact proxy
// under <experiment id>/models/<model id>/artifacts) and runs/outputs, so
// that mlflow.pyfunc.log_model and load_model work, and the artifact
// proxy (upload, download, list, delete). docs/mlflow.md says what
// differs from MLflow's server and what is not served (traces, prompts).
//
// # Credentials and tenants
//
// The Handler trusts only the auth.Principal in the request's context;
// Authenticate puts it there from what MLflow's clients send: a Bearer
// token (MLFLOW_TRACKING_TOKEN: an access token or an API key) or Basic
// auth whose password is an API key. Every call is scoped to the
// principal's tenant (tenancy.WithTenant): another tenant's experiment or
// run is RESOURCE_DOES_NOT_EXIST, searches never show it, and experiment
// names are unique per tenant. Reads need any role in the tenant, writes
// the role member (else PERMISSION_DENIED); a credential bound to no
// tenant is refused.
//
// # One store
//
// Experiments, runs, parameters, metrics and tags are the registry's rows
// (registry.TrackedExperiment, registry.TrackedRun): a run logged here is
// the run Maestro's own API shows. Experiments created here belong to no
// project (their project_id is NULL); a project's experiments appear here
// too, tagged maestro.project_id.
//
// # Errors
//
// Errors are MLflow's {"error_code", "message"} with its statuses:
// RESOURCE_DOES_NOT_EXIST 404, INVALID_PARAMETER_VALUE 400,
// RESOURCE_ALREADY_EXISTS 400, PERMISSION_DENIED 403, UNAUTHENTICATED
// 401, ENDPOINT_NOT_FOUND 404; an unexpected failure is an INTERNAL_ERROR
// 500 that reveals nothing (logged with WithLogger).
package mlflowapi

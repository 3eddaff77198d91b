package platform

import (
	"net/http"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
)

// apiOps documents every route of Routes for openapi.json, one row per
// route, grouped like routeTable. A new route is a row here: its pattern,
// an operationId, the Go types of its body and answer, its success status,
// its query parameters and any error status beyond those errorStatuses
// gives every route of its kind; then regenerate the document with
//
//	go test ./platform -run TestOpenAPIDocument -update-openapi
//
// TestOpenAPICoversRoutes fails, naming the route, while one is missing.
func apiOps() []apiOp {
	str := func(desc string) apiParam {
		return apiParam{schema: map[string]any{"type": "string"}, desc: desc}
	}
	named := func(name string, p apiParam) apiParam { p.name = name; return p }
	enum := func(vals ...string) map[string]any {
		e := make([]any, len(vals))
		for i, v := range vals {
			e[i] = v
		}
		return map[string]any{"type": "string", "enum": e}
	}
	id := func(op string) map[string]string { return map[string]string{"id": "$response.body#/id"} }
	link := func(name, opID string, params map[string]string) apiLink {
		return apiLink{name: name, opID: opID, params: params}
	}
	lifecycleQ := apiParam{name: "lifecycle", schema: enum("active", "deleted", "all"), desc: "Which lifecycle stage to list; active by default."}
	expQ := apiParam{name: "q", schema: map[string]any{"type": "string", "maxLength": registry.MaxNameLength}, desc: "Text in the name (case-insensitive)."}
	spec := registry.Spec{UserStories: []string{"As an analyst I see the churn risk of each customer"},
		FunctionalRequirements: []string{"Score every customer nightly"}}
	return []apiOp{
		// health.go
		{pattern: "GET /health/live", id: "live", status: 200, resp: liveBody{}},
		{pattern: "GET /health/ready", id: "ready", status: 200, resp: readyBody{},
			desc: "503 `not_ready` names the dependencies that do not answer."},

		// openapi.go
		{pattern: "GET /api/v1/openapi.json", id: "openapi", status: 200, resp: map[string]any{},
			desc: "This document."},

		// sessions.go
		{pattern: "POST /api/v1/auth/login", id: "login", status: 200, resp: tokenResponse{},
			body: loginRequest{}, example: loginRequest{Username: "ada", Password: "correct horse battery staple", Tenant: "acme"},
			errs: []int{http.StatusUnauthorized, http.StatusTooManyRequests}},
		{pattern: "POST /api/v1/auth/refresh", id: "refresh", status: 200, resp: tokenResponse{},
			body: refreshRequest{}, example: refreshRequest{RefreshToken: "rt_..."}, errs: []int{http.StatusUnauthorized}},
		{pattern: "POST /api/v1/auth/logout", id: "logout", status: 204},
		{pattern: "GET /api/v1/auth/me", id: "me", status: 200, resp: meResponse{}},
		{pattern: "POST /api/v1/auth/password", id: "changePassword", status: 204,
			body: passwordRequest{}, example: passwordRequest{CurrentPassword: "old passphrase 2024", NewPassword: "a new long passphrase"},
			errs: []int{http.StatusTooManyRequests}},

		// apikeys.go
		{pattern: "POST /api/v1/auth/api-keys", id: "createAPIKey", status: 201, resp: apiKeyBody{},
			body: apiKeyRequest{}, example: apiKeyRequest{CurrentPassword: "my passphrase 2024", Name: "ci", Role: "member", ExpiresInDays: 30},
			errs: []int{http.StatusTooManyRequests}},
		listOp(apiOp{pattern: "GET /api/v1/auth/api-keys", id: "listAPIKeys", status: 200, resp: apiKeyBody{}}),
		{pattern: "DELETE /api/v1/auth/api-keys/{id}", id: "deleteAPIKey", status: 204},

		// tenants.go
		{pattern: "POST /api/v1/tenants", id: "createTenant", status: 201, resp: tenantBody{},
			body: tenantRequest{}, example: tenantRequest{Name: "Acme", Slug: "acme"}, errs: []int{http.StatusConflict},
			links: []apiLink{link("GetTenant", "getTenant", id("")), link("ListMembers", "listMembers", id(""))}},
		listOp(apiOp{pattern: "GET /api/v1/tenants", id: "listTenants", status: 200, resp: tenantBody{}}),
		{pattern: "GET /api/v1/tenants/{id}", id: "getTenant", status: 200, resp: tenantBody{}},
		{pattern: "PATCH /api/v1/tenants/{id}", id: "updateTenant", status: 200, resp: tenantBody{},
			body: tenantPatch{}, example: map[string]any{"name": "Acme Corp"}, errs: []int{http.StatusConflict}},
		{pattern: "DELETE /api/v1/tenants/{id}", id: "deleteTenant", status: 204},

		// members.go
		{pattern: "POST /api/v1/tenants/{id}/members", id: "addMember", status: 201, resp: memberBody{},
			body: memberRequest{}, example: memberRequest{Username: "grace", Email: "grace@example.com", Password: "a long enough passphrase", Role: "member"},
			errs: []int{http.StatusConflict}},
		listOp(apiOp{pattern: "GET /api/v1/tenants/{id}/members", id: "listMembers", status: 200, resp: memberBody{}}),
		{pattern: "PATCH /api/v1/tenants/{id}/members/{user_id}", id: "updateMember", status: 200, resp: memberBody{},
			body: memberPatch{}, example: memberPatch{Role: "admin"}, errs: []int{http.StatusConflict}},
		{pattern: "DELETE /api/v1/tenants/{id}/members/{user_id}", id: "removeMember", status: 204, errs: []int{http.StatusConflict}},

		// quota.go
		{pattern: "GET /api/v1/tenants/{id}/quota", id: "getQuota", status: 200, resp: quotaBody{}},
		{pattern: "PUT /api/v1/tenants/{id}/quota", id: "setQuota", status: 200, resp: quotaBody{},
			body: quotaRequest{}, example: quotaRequest{Limits: &quotaLimits{Users: ptr(int64(100)), Projects: ptr(int64(1000)),
				Artifacts: ptr(int64(1000)), StorageBytes: ptr(int64(10 << 30)), MetricPoints: ptr(int64(5_000_000))}},
			desc: "Every limit is required; 0 means unlimited."},

		// projects.go
		{pattern: "POST /api/v1/projects", id: "createProject", status: 201, resp: registry.Project{},
			body: registry.ProjectInput{}, example: registry.ProjectInput{Name: "churn", ProblemClass: registry.Classification,
				ComplexityScore: 6, TeamSize: 4, Description: "Predict which customers leave", Spec: spec, Tags: []string{"crm"}},
			errs: []int{http.StatusConflict},
			links: []apiLink{
				link("GetProject", "getProject", id("")), link("UpdateProject", "updateProject", id("")),
				link("RecordOutcome", "recordOutcome", id("")), link("AddTeamMember", "addTeamMember", id("")),
				link("CreateExperiment", "createExperiment", id("")), link("RecordProcessMetrics", "recordProcessMetrics", id("")),
				link("SimilarProjects", "similarProjects", id("")), link("DeleteProject", "deleteProject", id("")),
			}},
		listOp(apiOp{pattern: "GET /api/v1/projects", id: "listProjects", status: 200, resp: registry.Project{},
			query: []apiParam{
				{name: "problem_class", schema: enum("classification", "regression", "forecasting", "nlp", "computer_vision", "recommendation", "anomaly_detection", "other")},
				{name: "status", schema: enum("active", "on_hold", "completed", "cancelled")},
				{name: "q", schema: map[string]any{"type": "string", "maxLength": registry.MaxNameLength}, desc: "Text in the name or description."},
				{name: "tag", schema: map[string]any{"type": "string"}, array: true, desc: "May repeat; every tag must match."},
			}}),
		{pattern: "GET /api/v1/projects/{id}", id: "getProject", status: 200, resp: registry.Project{}},
		{pattern: "PATCH /api/v1/projects/{id}", id: "updateProject", status: 200, resp: registry.Project{},
			body: registry.ProjectPatch{}, example: map[string]any{"status": "on_hold", "tags": []string{"crm", "q3"}}},
		{pattern: "DELETE /api/v1/projects/{id}", id: "deleteProject", status: 204},
		{pattern: "PUT /api/v1/projects/{id}/outcome", id: "recordOutcome", status: 200, resp: registry.Project{},
			body: outcomeRequest{}, example: map[string]any{"model_performance": 0.91, "business_impact": 0.7, "deployment_days": 45, "compute_cost": 1200}},

		// team.go
		{pattern: "POST /api/v1/projects/{id}/team", id: "addTeamMember", status: 201, resp: registry.TeamMember{},
			body: registry.TeamMemberInput{}, example: registry.TeamMemberInput{Name: "Ada", Role: "ml_engineer", ExperienceLevel: registry.Senior, ContributionHours: 120},
			errs:  []int{http.StatusConflict},
			links: []apiLink{link("RemoveTeamMember", "removeTeamMember", map[string]string{"id": "$response.body#/project_id", "member_id": "$response.body#/id"})}},
		listOp(apiOp{pattern: "GET /api/v1/projects/{id}/team", id: "listTeam", status: 200, resp: registry.TeamMember{}}),
		{pattern: "DELETE /api/v1/projects/{id}/team/{member_id}", id: "removeTeamMember", status: 204},

		// processmetrics.go
		{pattern: "POST /api/v1/projects/{id}/process-metrics", id: "recordProcessMetrics", status: 204,
			body: []processMetricRequest{}, example: []map[string]any{{"metric_type": "velocity", "value": 21.5, "timestamp": "2026-01-02T03:04:05Z"}}},
		listOp(apiOp{pattern: "GET /api/v1/projects/{id}/process-metrics", id: "listProcessMetrics", status: 200, resp: registry.ProcessMetric{},
			query: []apiParam{named("metric_type", str("Only values of this type."))}}),
		{pattern: "GET /api/v1/projects/{id}/process-metrics/summary", id: "summarizeProcessMetrics", status: 200, resp: processSummaryBody{}},

		// experiments.go
		{pattern: "POST /api/v1/projects/{id}/experiments", id: "createExperiment", status: 201, resp: registry.Experiment{},
			body: registry.ExperimentInput{}, example: registry.ExperimentInput{Name: "baseline", Description: "logistic regression"},
			errs:  []int{http.StatusConflict},
			links: []apiLink{link("GetExperiment", "getExperiment", id("")), link("CreateRun", "createRun", id("")), link("ListRuns", "listRuns", id(""))}},
		listOp(apiOp{pattern: "GET /api/v1/projects/{id}/experiments", id: "listExperiments", status: 200, resp: registry.Experiment{},
			query: []apiParam{expQ, lifecycleQ}}),
		{pattern: "GET /api/v1/experiments/{id}", id: "getExperiment", status: 200, resp: registry.Experiment{}},
		listOp(apiOp{pattern: "GET /api/v1/experiments", id: "listAllExperiments", status: 200, resp: registry.Experiment{},
			query: []apiParam{named("project_id", str("Only the experiments of this project (404 when it is unknown).")), expQ, lifecycleQ},
			errs:  []int{http.StatusNotFound}}),
		{pattern: "PATCH /api/v1/experiments/{id}", id: "updateExperiment", status: 200, resp: registry.Experiment{},
			body: registry.ExperimentPatch{}, example: map[string]any{"name": "baseline-v2", "description": "with class weights"},
			errs: []int{http.StatusConflict}, desc: "409 `conflict` names the experiment that holds the name (names are unique within a project)."},
		{pattern: "DELETE /api/v1/experiments/{id}", id: "deleteExperiment", status: 204,
			desc: "Soft, as MLflow: the experiment and all its runs turn `deleted` (hidden from lists, refusing new runs); restorable."},
		{pattern: "POST /api/v1/experiments/{id}/restore", id: "restoreExperiment", status: 200, resp: registry.Experiment{},
			desc: "Restores the experiment and every run of it."},

		// runs.go
		{pattern: "POST /api/v1/experiments/{id}/runs", id: "createRun", status: 201, resp: registry.Run{},
			body: registry.RunInput{}, example: registry.RunInput{Name: "lr-0.1", Params: map[string]string{"lr": "0.1"}},
			errs:  []int{http.StatusConflict},
			links: []apiLink{link("GetRun", "getRun", id("")), link("UpdateRun", "updateRun", id("")), link("LogMetrics", "logMetrics", id("")), link("ListMetrics", "listMetrics", id(""))}},
		listOp(apiOp{pattern: "GET /api/v1/experiments/{id}/runs", id: "listRuns", status: 200, resp: registry.Run{}, query: []apiParam{lifecycleQ}}),
		{pattern: "GET /api/v1/runs/{id}", id: "getRun", status: 200, resp: registry.Run{}},
		{pattern: "PATCH /api/v1/runs/{id}", id: "updateRun", status: 200, resp: registry.Run{},
			body: registry.RunPatch{}, example: map[string]any{"name": "lr-0.1-final", "status": "finished", "ended_at": "2026-01-02T03:04:05.123456Z", "params": map[string]string{"epochs": "10"}},
			desc: "Only the fields given change. A terminal status without `ended_at` ends the run now; `running` clears the end. 422 for an end before the start, or a parameter given another value (parameters are write-once)."},
		{pattern: "POST /api/v1/experiments/{id}/runs/search", id: "searchRuns", status: 200, resp: registry.Run{}, list: true,
			body: registry.RunSearch{}, example: map[string]any{
				"filter":   []map[string]any{{"metric": "loss", "op": "<", "value": 0.3}, {"param": "lr", "op": "=", "value": "0.01"}, {"tag": "team", "op": "=", "value": "a"}},
				"status":   []string{"finished"},
				"order_by": []map[string]any{{"metric": "accuracy", "direction": "desc"}},
				"limit":    50},
			errs: []int{http.StatusRequestEntityTooLarge},
			desc: "Metric clauses compare the latest value (highest step, then latest timestamp); a run without the metric, parameter or tag never matches. Runs without a sort key sort last. `limit` and `cursor` are in the body (400 `invalid_parameter` for a cursor of another search). 413 when the experiment has more runs in the selected stages and statuses than the search reads (10000)."},
		{pattern: "DELETE /api/v1/runs/{id}", id: "deleteRun", status: 204,
			desc: "Soft: the run turns `deleted`, leaves lists and searches unless `lifecycle` asks for it, and refuses metrics and tags; its metrics, parameters, tags and artifacts stay, and a model version made from it keeps its source."},
		{pattern: "POST /api/v1/runs/{id}/restore", id: "restoreRun", status: 200, resp: registry.Run{},
			errs: []int{http.StatusUnprocessableEntity}, desc: "422 while the run's experiment is deleted."},
		{pattern: "PUT /api/v1/runs/{id}/tags/{key...}", id: "setRunTag", status: 200, resp: registry.Run{},
			body: tagRequest{}, example: map[string]any{"value": "team-a"},
			errs: []int{http.StatusRequestEntityTooLarge},
			desc: "The key is the rest of the path (it may hold `/`). The same tags MLflow's set-tag writes. 422 on a deleted run; 413 past 1000 tags."},
		{pattern: "DELETE /api/v1/runs/{id}/tags/{key...}", id: "deleteRunTag", status: 204,
			errs: []int{http.StatusUnprocessableEntity}, desc: "404 for a tag the run does not have; 422 on a deleted run."},
		{pattern: "POST /api/v1/runs/metrics/latest", id: "latestMetrics", status: 200, resp: latestMetricsBody{},
			body: latestMetricsRequest{}, example: map[string]any{"run_ids": []string{"0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a"}, "keys": []string{"loss", "accuracy"}},
			desc: "1 to 100 run ids and 1 to 100 keys. Runs that do not exist (or are another tenant's) are left out of `runs`, as are keys a run has not logged."},
		{pattern: "POST /api/v1/runs/{id}/metrics", id: "logMetrics", status: 204,
			body: []metricPointRequest{}, example: []map[string]any{{"key": "loss", "value": 0.42, "step": 1}, {"key": "loss", "value": 0.37, "step": 2}},
			errs: []int{http.StatusConflict}, desc: "409 quota_exceeded when the tenant's metric points quota does not allow the batch."},
		listOp(apiOp{pattern: "GET /api/v1/runs/{id}/metrics", id: "listMetrics", status: 200, resp: registry.MetricSummary{}}),
		{pattern: "GET /api/v1/runs/{id}/metrics/{key...}", id: "metricHistory", status: 200, resp: metricHistoryBody{},
			query: []apiParam{{name: "max_points", schema: map[string]any{"type": "integer", "minimum": 2, "maximum": registry.MaxHistoryPoints, "default": 1000},
				desc: "Downsample evenly to at most this many points, keeping the first and the last."}}},

		// artifacts.go
		{pattern: "POST /api/v1/artifacts", id: "createArtifact", status: 201, resp: registry.Artifact{},
			body: registry.ArtifactInput{}, example: registry.ArtifactInput{Name: "churn-features", Type: registry.FeaturePipeline, Version: "1.0.0", Tags: []string{"crm"}},
			errs: []int{http.StatusConflict},
			links: []apiLink{link("GetArtifact", "getArtifact", id("")), link("PutArtifactContent", "putArtifactContent", id("")),
				link("ListArtifactUsages", "listArtifactUsages", id("")), link("DeleteArtifact", "deleteArtifact", id(""))}},
		listOp(apiOp{pattern: "GET /api/v1/artifacts", id: "searchArtifacts", status: 200, resp: registry.Artifact{},
			query: []apiParam{
				{name: "type", schema: enum("feature_pipeline", "model_template", "schema", "notebook", "dataset", "other")},
				{name: "q", schema: map[string]any{"type": "string", "maxLength": registry.MaxNameLength}, desc: "Text in the name or description."},
				{name: "tag", schema: map[string]any{"type": "string", "maxLength": registry.MaxTagLength}},
				{name: "min_impact", schema: map[string]any{"type": "number", "minimum": 0, "maximum": 100}, desc: "Only artifacts with at least this mean impact."},
			}}),
		{pattern: "GET /api/v1/artifacts/top", id: "topArtifacts", status: 200, resp: registry.Artifact{}, list: true,
			query: []apiParam{
				{name: "type", schema: enum("feature_pipeline", "model_template", "schema", "notebook", "dataset", "other")},
				{name: "limit", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxPageSize, "default": 10}},
			}},
		{pattern: "GET /api/v1/artifacts/{id}", id: "getArtifact", status: 200, resp: registry.Artifact{}},
		{pattern: "DELETE /api/v1/artifacts/{id}", id: "deleteArtifact", status: 204},
		{pattern: "PUT /api/v1/artifacts/{id}/content", id: "putArtifactContent", status: 200, resp: registry.Artifact{}, rawBody: true,
			desc: "The raw body, any content type, up to the content limit (256 MiB by default); 409 quota_exceeded past the tenant's storage quota.",
			errs: []int{http.StatusConflict}},
		{pattern: "GET /api/v1/artifacts/{id}/content", id: "getArtifactContent", status: 200, rawResp: true,
			respHeader: []string{"ETag", "Content-Digest"}, desc: "404 before the first upload."},
		{pattern: "POST /api/v1/artifacts/{id}/usages", id: "recordArtifactUsage", status: 201, resp: registry.ArtifactUsage{},
			body: registry.ArtifactUsageInput{}, example: map[string]any{"project_id": "0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a", "impact_score": 72.5},
			errs: []int{http.StatusConflict}},
		listOp(apiOp{pattern: "GET /api/v1/artifacts/{id}/usages", id: "listArtifactUsages", status: 200, resp: registry.ArtifactUsage{}}),

		// models.go
		{pattern: "POST /api/v1/models", id: "createModel", status: 201, resp: registry.RegisteredModel{},
			body: registry.ModelInput{}, example: registry.ModelInput{Name: "churn-classifier", Description: "gradient boosting"},
			errs: []int{http.StatusConflict},
			links: []apiLink{link("GetModel", "getModel", map[string]string{"name": "$response.body#/name"}),
				link("CreateModelVersion", "createModelVersion", map[string]string{"name": "$response.body#/name"}),
				link("ListModelVersions", "listModelVersions", map[string]string{"name": "$response.body#/name"})}},
		listOp(apiOp{pattern: "GET /api/v1/models", id: "listModels", status: 200, resp: registry.RegisteredModel{}}),
		{pattern: "GET /api/v1/models/{name}", id: "getModel", status: 200, resp: registry.RegisteredModel{}},
		{pattern: "PATCH /api/v1/models/{name}", id: "updateModel", status: 200, resp: registry.RegisteredModel{},
			body: registry.ModelUpdate{}, example: map[string]any{"name": "churn-classifier-v2", "description": "retrained monthly"},
			errs: []int{http.StatusConflict},
			desc: "Each field given changes. A new name renames the model (409 when taken); its versions and aliases follow."},
		{pattern: "DELETE /api/v1/models/{name}", id: "deleteModel", status: 204,
			desc: "Deletes the model's versions and aliases with it, atomically; the files the versions' sources name are not touched."},
		{pattern: "PUT /api/v1/models/{name}/tags/{key...}", id: "setModelTag", status: 200, resp: registry.RegisteredModel{},
			body: tagRequest{}, example: map[string]any{"value": "risk"},
			desc: "Keys of at most 250 characters (letters, digits, `_ - . : /` and spaces), values of at most 8000 bytes, at most 1000 tags a model."},
		{pattern: "DELETE /api/v1/models/{name}/tags/{key...}", id: "deleteModelTag", status: 204},
		{pattern: "POST /api/v1/models/{name}/versions", id: "createModelVersion", status: 201, resp: registry.ModelVersion{},
			body: registry.ModelVersionInput{}, example: registry.ModelVersionInput{Source: "s3://models/churn/1"},
			errs: []int{http.StatusConflict}},
		listOp(apiOp{pattern: "GET /api/v1/models/{name}/versions", id: "listModelVersions", status: 200, resp: registry.ModelVersion{}}),
		{pattern: "GET /api/v1/models/{name}/versions/{version}", id: "getModelVersion", status: 200, resp: registry.ModelVersion{}},
		{pattern: "PATCH /api/v1/models/{name}/versions/{version}", id: "updateModelVersion", status: 200, resp: registry.ModelVersion{},
			body: registry.ModelVersionUpdate{}, example: map[string]any{"description": "passed the holdout review", "stage": "Staging"},
			desc: "`stage` is None, Staging, Production or Archived (any case); it moves this version only."},
		{pattern: "DELETE /api/v1/models/{name}/versions/{version}", id: "deleteModelVersion", status: 204,
			desc: "The aliases pointing at the version go with it; its number is never given again."},
		{pattern: "PUT /api/v1/models/{name}/versions/{version}/tags/{key...}", id: "setModelVersionTag", status: 200, resp: registry.ModelVersion{},
			body: tagRequest{}, example: map[string]any{"value": "yes"},
			desc: "Limits as for model tags."},
		{pattern: "DELETE /api/v1/models/{name}/versions/{version}/tags/{key...}", id: "deleteModelVersionTag", status: 204},
		listOp(apiOp{pattern: "GET /api/v1/models/{name}/aliases", id: "listModelAliases", status: 200, resp: registry.ModelAlias{}}),
		{pattern: "PUT /api/v1/models/{name}/aliases/{alias}", id: "setModelAlias", status: 200, resp: registry.ModelAlias{},
			body: aliasRequest{}, example: map[string]any{"version": 1},
			desc: "A version the model does not have is 422 on `version`."},
		{pattern: "GET /api/v1/models/{name}/aliases/{alias}", id: "getModelAlias", status: 200, resp: aliasedVersion{}},
		{pattern: "DELETE /api/v1/models/{name}/aliases/{alias}", id: "deleteModelAlias", status: 204},

		// metamodels.go
		{pattern: "POST /api/v1/meta-models/train", id: "trainMetaModel", status: 202, resp: jobBody{},
			respHeader: []string{"Location"}, errs: []int{http.StatusConflict},
			desc:  "Starts a background training job, or answers the tenant's active one (at most one per tenant across replicas); 409 `insufficient_history` names the minimum and the count found.",
			links: []apiLink{link("GetTrainingJob", "getTrainingJob", map[string]string{"id": "$response.body#/job/id"})}},
		{pattern: "GET /api/v1/meta-models/jobs/{id}", id: "getTrainingJob", status: 200, resp: jobBody{},
			desc: "status queued, running, succeeded or failed; progress 0-1; the model's info once it succeeded, the error once it failed."},
		listOp(apiOp{pattern: "GET /api/v1/meta-models", id: "listMetaModels", status: 200, resp: metalearn.ModelInfo{}}),
		{pattern: "GET /api/v1/meta-models/{version}", id: "getMetaModel", status: 200, resp: metalearn.ModelInfo{},
			desc: "The same object the list shows: training metrics, feature importances, pinned and active."},
		{pattern: "POST /api/v1/meta-models/{version}/pin", id: "pinMetaModel", status: 200, resp: metalearn.ModelInfo{}, errs: []int{http.StatusConflict}},
		{pattern: "DELETE /api/v1/meta-models/pin", id: "unpinMetaModel", status: 204, errs: []int{http.StatusConflict}},
		{pattern: "POST /api/v1/meta-models/rollback", id: "rollbackMetaModel", status: 200, resp: metalearn.ModelInfo{}, errs: []int{http.StatusConflict}},

		// recommendations.go
		{pattern: "POST /api/v1/recommendations", id: "recommend", status: 200, resp: recommendationResponse{},
			body: recommendationRequest{}, example: map[string]any{"problem_class": "classification", "complexity_score": 6, "team_size": 4,
				"team": []map[string]any{{"role": "ml_engineer", "experience_level": "senior"}}, "description": "Predict which customers leave"},
			errs: []int{http.StatusConflict, http.StatusNotFound}, desc: "409 `no_model` before the first training; 404 for an unknown project_id. " + similarWarningDesc},
		{pattern: "POST /api/v1/projects/{id}/recommendations", id: "recommendProject", status: 200, resp: recommendationResponse{},
			errs: []int{http.StatusConflict, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge},
			desc: "No body (or an empty JSON object). " + similarWarningDesc},
		listOp(apiOp{pattern: "GET /api/v1/projects/{id}/predictions", id: "listPredictions", status: 200, resp: storedPrediction{}}),

		// similarity.go
		{pattern: "GET /api/v1/projects/{id}/similar", id: "similarProjects", status: 200, resp: similarity.Match{}, list: true,
			query: []apiParam{{name: "limit", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": similarity.MaxResults, "default": defaultSimilarLimit}}},
			errs:  []int{http.StatusServiceUnavailable}, desc: memoryBudgetDesc},
		{pattern: "POST /api/v1/specs/similar", id: "similarSpecs", status: 200, resp: similarity.Match{}, list: true,
			body: similarRequest{}, example: map[string]any{"text": "identify which flower is in a picture", "limit": 5},
			errs: []int{http.StatusServiceUnavailable}, desc: memoryBudgetDesc},
		{pattern: "POST /api/v1/specs/overlap", id: "specOverlap", status: 200, resp: similarity.OverlapReport{},
			body: overlapRequest{}, example: map[string]any{"spec": spec, "project_id": "0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a"},
			errs: []int{http.StatusNotFound}},
	}
}

// memoryBudgetDesc describes the 503 of a search in a tenant whose index
// does not fit the similarity memory budget.
const memoryBudgetDesc = "503 `similarity_memory_exceeded`, without Retry-After, when the tenant's index alone needs more than the server's similarity memory budget: `detail` gives both sizes; an operator raises " + envSimilarityMemory + "."

// similarWarningDesc says how a recommendation answers without its
// similar projects.
const similarWarningDesc = "When similar projects cannot be searched (the embeddings service down, the tenant's index beyond the similarity memory budget) the answer has none and a `warnings` entry that says why."

// ptr returns a pointer to v, for examples.
func ptr[T any](v T) *T { return &v }

// The request and response bodies of the API, one struct per schema of
// platform/openapi.json (the names are the client's own). A new route's
// body is a new struct here.

package client

import "time"

// AliasedVersion is a model version resolved through an alias.
type AliasedVersion struct {
	Alias       string    `json:"alias"`
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description"`
	ID          string    `json:"id"`
	ModelID     string    `json:"model_id"`
	RunID       *string   `json:"run_id"`
	Source      string    `json:"source"`
	Version     int       `json:"version"`
}

// aliasRequest is the body of SetModelAlias.
type aliasRequest struct {
	Version *int `json:"version,omitempty"`
}

// APIEndpoint is an API endpoint a spec describes.
type APIEndpoint struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Purpose string `json:"purpose,omitempty"`
}

// APIEndpointInput is an API endpoint of a SpecInput.
type APIEndpointInput struct {
	Method  string `json:"method,omitempty"`
	Path    string `json:"path,omitempty"`
	Purpose string `json:"purpose,omitempty"`
}

// APIKey is an API key of the caller. Key is set only in the answer of CreateAPIKey: the secret is shown once.
type APIKey struct {
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	ID         string     `json:"id"`
	Key        string     `json:"key,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	RevokedAt  *time.Time `json:"revoked_at"`
	Role       string     `json:"role"`
	UserID     string     `json:"user_id"`
}

// APIKeyInput is the body of CreateAPIKey. CurrentPassword re-authenticates the caller; Role may not exceed the caller's.
type APIKeyInput struct {
	CurrentPassword string `json:"current_password,omitempty"`
	ExpiresInDays   int    `json:"expires_in_days,omitempty"`
	Name            string `json:"name,omitempty"`
	Role            string `json:"role,omitempty"`
}

// Artifact is an artifact of the library, with its usage count and measured impact.
type Artifact struct {
	AvgImpactScore *float64  `json:"avg_impact_score"`
	ContentSHA256  string    `json:"content_sha256,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	Description    string    `json:"description"`
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	SizeBytes      int       `json:"size_bytes"`
	Tags           []string  `json:"tags"`
	Type           string    `json:"type"`
	UpdatedAt      time.Time `json:"updated_at"`
	UsageCount     int       `json:"usage_count"`
	Version        string    `json:"version"`
}

// ArtifactInput is the body of CreateArtifact.
type ArtifactInput struct {
	Description string   `json:"description,omitempty"`
	Name        string   `json:"name"`
	Tags        []string `json:"tags,omitempty"`
	Type        string   `json:"type"`
	Version     string   `json:"version"`
}

// ArtifactSuggestion is an artifact a recommendation suggests, with the lift measured for it.
type ArtifactSuggestion struct {
	AdjustedLift float64  `json:"adjusted_lift"`
	ArtifactID   string   `json:"artifact_id"`
	Evidence     float64  `json:"evidence"`
	Lift         float64  `json:"lift"`
	Name         string   `json:"name"`
	PValue       *float64 `json:"p_value"`
	QValue       *float64 `json:"q_value"`
	Reason       string   `json:"reason"`
}

// ArtifactUsage records that a project used an artifact, with the impact measured.
type ArtifactUsage struct {
	ArtifactID  string    `json:"artifact_id"`
	Context     string    `json:"context"`
	CreatedAt   time.Time `json:"created_at"`
	ID          string    `json:"id"`
	ImpactScore *float64  `json:"impact_score"`
	ProjectID   string    `json:"project_id"`
}

// ArtifactUsageInput is the body of RecordArtifactUsage.
type ArtifactUsageInput struct {
	Context     string  `json:"context,omitempty"`
	ImpactScore float64 `json:"impact_score,omitempty"`
	ProjectID   string  `json:"project_id,omitempty"`
}

// CandidateMetrics is the cross-validated quality of one candidate model of a meta-model.
type CandidateMetrics struct {
	CVMAE      float64 `json:"cv_mae"`
	CVSpearman float64 `json:"cv_spearman"`
	Model      string  `json:"model"`
}

// DataModel is a data model (an entity and its fields) a spec describes.
type DataModel struct {
	Entity string   `json:"entity"`
	Fields []string `json:"fields,omitempty"`
}

// DataModelInput is a data model of a SpecInput.
type DataModelInput struct {
	Entity string   `json:"entity,omitempty"`
	Fields []string `json:"fields,omitempty"`
}

// Experiment is an experiment of a project: a group of runs. Lifecycle is "active", or "deleted" once DeleteExperiment removed it (RestoreExperiment brings it back).
type Experiment struct {
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description"`
	ID          string    `json:"id"`
	Lifecycle   string    `json:"lifecycle"`
	Name        string    `json:"name"`
	ProjectID   string    `json:"project_id"`
}

// ExperimentInput is the body of CreateExperiment.
type ExperimentInput struct {
	Description string `json:"description,omitempty"`
	Name        string `json:"name"`
}

// ExperimentPatch is the body of UpdateExperiment: a nil field is left as it is.
type ExperimentPatch struct {
	Description *string `json:"description,omitempty"`
	Name        *string `json:"name,omitempty"`
}

// Factor is one input that moved a prediction, and by how much.
type Factor struct {
	Category string   `json:"category,omitempty"`
	Effect   float64  `json:"effect"`
	Feature  string   `json:"feature"`
	Value    *float64 `json:"value"`
}

// FieldError names one invalid field of a request (a JSON path such as "items[0].name", or a query parameter) and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Forecast is a recommendation's forecast of a project's success score, deployment days and compute cost.
type Forecast struct {
	ComputeCost    Prediction `json:"compute_cost"`
	DeploymentDays Prediction `json:"deployment_days"`
	SuccessScore   Prediction `json:"success_score"`
}

// Interval is a prediction interval; a nil bound is unbounded.
type Interval struct {
	High *float64 `json:"high"`
	Low  *float64 `json:"low"`
}

// ItemMatch is how one item of a spec section matches a project's.
type ItemMatch struct {
	EffortHours  float64 `json:"effort_hours"`
	MatchedIndex int     `json:"matched_index"`
	MatchedText  string  `json:"matched_text"`
	Similarity   float64 `json:"similarity"`
	Status       string  `json:"status"`
	Text         string  `json:"text"`
}

// jobBody is the answer of the training-job routes.
type jobBody struct {
	Job TrainingJob `json:"job"`
}

// LatestMetric is the latest point of a metric: the value of the highest step (the latest timestamp among equal steps).
type LatestMetric struct {
	Step      int       `json:"step"`
	Timestamp time.Time `json:"timestamp"`
	Value     float64   `json:"value"`
}

// latestMetricsBody is the answer of LatestMetrics.
type latestMetricsBody struct {
	Runs []RunLatestMetrics `json:"runs"`
}

// latestMetricsRequest is the body of LatestMetrics.
type latestMetricsRequest struct {
	Keys   []string `json:"keys"`
	RunIDs []string `json:"run_ids"`
}

// Liveness is the answer of Live.
type Liveness struct {
	Status string `json:"status"`
}

// loginRequest is the body of Login.
type loginRequest struct {
	Password string `json:"password"`
	Tenant   string `json:"tenant,omitempty"`
	Username string `json:"username"`
}

// Me is the caller: the user, the tenant of the credential (nil for a superadmin without one) and the role in it.
type Me struct {
	Role   *string    `json:"role"`
	Tenant *TenantRef `json:"tenant"`
	User   User       `json:"user"`
}

// Member is a member of a tenant, with the role.
type Member struct {
	Role     string `json:"role"`
	UserID   string `json:"user_id"`
	Username string `json:"username"`
}

// MemberInput is the body of AddMember: an existing username, or a new user with email and password.
type MemberInput struct {
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role,omitempty"`
	Username string `json:"username,omitempty"`
}

// MemberPatch is the body of UpdateMember.
type MemberPatch struct {
	Role string `json:"role,omitempty"`
}

// MetaModel is a trained meta-model of the tenant: its version, quality and whether it is the active one.
type MetaModel struct {
	Active                    bool                        `json:"active"`
	CreatedAt                 time.Time                   `json:"created_at"`
	DataThrough               *time.Time                  `json:"data_through,omitempty"`
	FeatureImportances        map[string]float64          `json:"feature_importances"`
	FeatureSetVersion         int                         `json:"feature_set_version"`
	FormatVersion             int                         `json:"format_version"`
	ID                        string                      `json:"id"`
	IntervalCoverage          float64                     `json:"interval_coverage"`
	Metrics                   MetaModelMetrics            `json:"metrics"`
	NProjects                 int                         `json:"n_projects"`
	Pinned                    bool                        `json:"pinned"`
	SHA256                    string                      `json:"sha256"`
	SizeBytes                 int                         `json:"size_bytes"`
	Targets                   map[string]MetaModelMetrics `json:"targets"`
	TeamSizeEffectProbability *float64                    `json:"team_size_effect_probability"`
	TrainedAt                 time.Time                   `json:"trained_at"`
	Version                   int                         `json:"version"`
}

// MetaModelMetrics is the cross-validated quality of a meta-model for one target.
type MetaModelMetrics struct {
	BaselineMAE        float64            `json:"baseline_mae"`
	Candidates         []CandidateMetrics `json:"candidates"`
	CVMAE              float64            `json:"cv_mae"`
	CVMAEStdErr        float64            `json:"cv_mae_std_err"`
	CVSpearman         float64            `json:"cv_spearman"`
	Folds              int                `json:"folds"`
	ForwardBaselineMAE *float64           `json:"forward_baseline_mae"`
	ForwardCoverage    *float64           `json:"forward_coverage"`
	ForwardMAE         *float64           `json:"forward_mae"`
	ForwardN           int                `json:"forward_n"`
	GainOverBaseline   float64            `json:"gain_over_baseline"`
	GainStdErr         float64            `json:"gain_std_err"`
	Model              string             `json:"model"`
	Reliability        string             `json:"reliability"`
	ReliabilityNotes   []string           `json:"reliability_notes"`
	SelectionMargin    float64            `json:"selection_margin"`
	SelectionStdErr    float64            `json:"selection_std_err"`
	// Trend is the drift over time the history shows beyond the inputs,
	// nil when it shows none.
	Trend *Trend `json:"trend"`
}

// Trend is a drift of a target's outcomes over the tenant's history, on
// the target's model scale: the predictions are moved by Shift to the
// level of the latest project. It is an association with time, not a
// cause.
type Trend struct {
	PerProject float64 `json:"per_project"`
	Shift      float64 `json:"shift"`
	TStat      float64 `json:"t_stat"`
}

// MetricHistory is the history of one metric of a run, downsampled to at most the max points asked.
type MetricHistory struct {
	Key    string        `json:"key"`
	Points []MetricValue `json:"points"`
	RunID  string        `json:"run_id"`
}

// MetricPoint is one metric point to log: a key, a value, a step and (optionally) when it was measured.
type MetricPoint struct {
	Key       string     `json:"key,omitempty"`
	Step      int        `json:"step,omitempty"`
	Timestamp *time.Time `json:"timestamp,omitempty"`
	Value     float64    `json:"value"`
}

// MetricSummary summarises one metric key of a run: the count, range and the last point.
type MetricSummary struct {
	Count         int       `json:"count"`
	Key           string    `json:"key"`
	LastStep      int       `json:"last_step"`
	LastTimestamp time.Time `json:"last_timestamp"`
	LastValue     float64   `json:"last_value"`
	Max           float64   `json:"max"`
	Min           float64   `json:"min"`
}

// MetricValue is one point of a metric's history.
type MetricValue struct {
	Step      int       `json:"step"`
	Timestamp time.Time `json:"timestamp"`
	Value     float64   `json:"value"`
}

// ModelAlias is an alias pointing at a model version.
type ModelAlias struct {
	Alias     string    `json:"alias"`
	ModelID   string    `json:"model_id"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

// ModelInput is the body of CreateModel.
type ModelInput struct {
	Description string `json:"description,omitempty"`
	Name        string `json:"name"`
}

// ModelVersion is a version of a registered model. Stage is None,
// Staging, Production or Archived.
type ModelVersion struct {
	CreatedAt   time.Time         `json:"created_at"`
	Description string            `json:"description"`
	ID          string            `json:"id"`
	ModelID     string            `json:"model_id"`
	RunID       *string           `json:"run_id"`
	Source      string            `json:"source"`
	Stage       string            `json:"stage"`
	Tags        map[string]string `json:"tags"`
	Version     int               `json:"version"`
}

// ModelUpdate is the body of UpdateModel: each field that is not nil
// changes.
type ModelUpdate struct {
	Description *string `json:"description,omitempty"`
	// Name renames the model; versions and aliases follow it.
	Name *string `json:"name,omitempty"`
}

// ModelVersionUpdate is the body of UpdateModelVersion: each field that
// is not nil changes.
type ModelVersionUpdate struct {
	Description *string `json:"description,omitempty"`
	// Stage moves the version to None, Staging, Production or Archived
	// (any case), archiving no other version.
	Stage *string `json:"stage,omitempty"`
}

// ModelVersionInput is the body of CreateModelVersion.
type ModelVersionInput struct {
	Description string `json:"description,omitempty"`
	RunID       string `json:"run_id,omitempty"`
	Source      string `json:"source"`
}

// OutcomeInput is the body of RecordOutcome: the measured outcome of a project. A nil field is not recorded.
type OutcomeInput struct {
	BusinessImpact   *float64 `json:"business_impact,omitempty"`
	ComputeCost      *float64 `json:"compute_cost,omitempty"`
	DeploymentDays   *float64 `json:"deployment_days,omitempty"`
	ModelPerformance *float64 `json:"model_performance,omitempty"`
}

// OverlapReport compares a spec with a project's, section by section, with the effort it saves.
type OverlapReport struct {
	EstimatedEffortHours float64                   `json:"estimated_effort_hours"`
	Model                string                    `json:"model"`
	Overall              float64                   `json:"overall"`
	ProjectID            string                    `json:"project_id"`
	ReuseStrategy        string                    `json:"reuse_strategy"`
	Sections             map[string]SectionOverlap `json:"sections"`
}

// OverlapRequest is the body of SpecOverlap: the spec to compare and the project to compare it with.
type OverlapRequest struct {
	ProjectID string     `json:"project_id,omitempty"`
	Spec      *SpecInput `json:"spec,omitempty"`
}

// passwordRequest is the body of ChangePassword.
type passwordRequest struct {
	CurrentPassword string `json:"current_password,omitempty"`
	NewPassword     string `json:"new_password,omitempty"`
}

// PlannedTeamMember is a member of the planned team of a RecommendationRequest.
type PlannedTeamMember struct {
	ExperienceLevel string `json:"experience_level,omitempty"`
	Role            string `json:"role,omitempty"`
}

// Prediction is a prediction of one target with its interval and the inputs that moved it.
type Prediction struct {
	Bounded          bool     `json:"bounded"`
	High             *float64 `json:"high"`
	IgnoredInputs    []string `json:"ignored_inputs"`
	IntervalCoverage float64  `json:"interval_coverage"`
	KnownInputs      []string `json:"known_inputs"`
	Low              *float64 `json:"low"`
	MissingInputs    []string `json:"missing_inputs"`
	Notes            []string `json:"notes"`
	RelativeWidth    *float64 `json:"relative_width"`
	Target           string   `json:"target"`
	TopFactors       []Factor `json:"top_factors"`
	Value            float64  `json:"value"`
}

// problemDetail is the RFC 9457 problem every error response of the API carries.
type problemDetail struct {
	// A stable machine-readable code, the suffix of type (docs/platform.md lists them).
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
	// The invalid fields of a 422, or the bad parameter of a 400.
	Errors []FieldError `json:"errors,omitempty"`
	Status int          `json:"status"`
	Title  string       `json:"title"`
	Type   string       `json:"type"`
}

// ProcessMetric is one recorded process metric of a project.
type ProcessMetric struct {
	ID         string    `json:"id"`
	MetricType string    `json:"metric_type"`
	ProjectID  string    `json:"project_id"`
	Timestamp  time.Time `json:"timestamp"`
	Value      float64   `json:"value"`
}

// ProcessMetricPoint is one process metric to record (a type such as "velocity", a value and when).
type ProcessMetricPoint struct {
	MetricType string     `json:"metric_type,omitempty"`
	Timestamp  *time.Time `json:"timestamp,omitempty"`
	Value      float64    `json:"value"`
}

// ProcessSummary summarises the process metrics of one type.
type ProcessSummary struct {
	Count          int       `json:"count"`
	FirstTimestamp time.Time `json:"first_timestamp"`
	LastValue      float64   `json:"last_value"`
	LastTimestamp  time.Time `json:"last_timestamp"`
	Max            float64   `json:"max"`
	Mean           float64   `json:"mean"`
	MetricType     string    `json:"metric_type"`
	Min            float64   `json:"min"`
	RatePerWeek    float64   `json:"rate_per_week"`
	Sum            float64   `json:"sum"`
	TrendPerWeek   float64   `json:"trend_per_week"`
}

// ProcessSummaryReport summarises a project's process metrics by type.
type ProcessSummaryReport struct {
	Metrics   []ProcessSummary `json:"metrics"`
	ProjectID string           `json:"project_id"`
}

// Project is a project of the tenant, with its spec and, once recorded, its outcome and success score.
type Project struct {
	BusinessImpact   *float64   `json:"business_impact"`
	CompletedAt      *time.Time `json:"completed_at"`
	ComplexityScore  int        `json:"complexity_score"`
	ComputeCost      *float64   `json:"compute_cost"`
	CreatedAt        time.Time  `json:"created_at"`
	DeploymentDays   *float64   `json:"deployment_days"`
	Description      string     `json:"description"`
	ID               string     `json:"id"`
	ModelPerformance *float64   `json:"model_performance"`
	Name             string     `json:"name"`
	ProblemClass     string     `json:"problem_class"`
	Spec             Spec       `json:"spec"`
	StartedAt        time.Time  `json:"started_at"`
	Status           string     `json:"status"`
	SuccessScore     *float64   `json:"success_score"`
	Tags             []string   `json:"tags"`
	TeamSize         int        `json:"team_size"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// ProjectInput is the body of CreateProject.
type ProjectInput struct {
	ComplexityScore int        `json:"complexity_score"`
	Description     string     `json:"description,omitempty"`
	Name            string     `json:"name"`
	ProblemClass    string     `json:"problem_class"`
	Spec            *SpecInput `json:"spec,omitempty"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	Tags            []string   `json:"tags,omitempty"`
	TeamSize        int        `json:"team_size"`
}

// ProjectPatch is the body of UpdateProject: a nil field is left as it is.
type ProjectPatch struct {
	ComplexityScore *int       `json:"complexity_score,omitempty"`
	Description     *string    `json:"description,omitempty"`
	Name            *string    `json:"name,omitempty"`
	ProblemClass    *string    `json:"problem_class,omitempty"`
	Spec            *SpecInput `json:"spec,omitempty"`
	Status          *string    `json:"status,omitempty"`
	Tags            []string   `json:"tags,omitempty"`
	TeamSize        *int       `json:"team_size,omitempty"`
}

// Quota is a tenant's limits and its use of each.
type Quota struct {
	Limits QuotaValues `json:"limits"`
	Usage  QuotaValues `json:"usage"`
}

// QuotaLimits is the body of SetQuota: every limit, 0 meaning unlimited.
type QuotaLimits struct {
	Artifacts    int `json:"artifacts"`
	MetricPoints int `json:"metric_points"`
	Projects     int `json:"projects"`
	StorageBytes int `json:"storage_bytes"`
	Users        int `json:"users"`
}

// quotaRequest is the wire form of SetQuota's body.
type quotaRequest struct {
	Limits *QuotaLimits `json:"limits,omitempty"`
}

// QuotaValues is a value for each quota dimension.
type QuotaValues struct {
	Artifacts    int `json:"artifacts"`
	MetricPoints int `json:"metric_points"`
	Projects     int `json:"projects"`
	StorageBytes int `json:"storage_bytes"`
	Users        int `json:"users"`
}

// Readiness is the answer of Ready: the overall status and each dependency's.
type Readiness struct {
	Checks map[string]string `json:"checks"`
	Status string            `json:"status"`
}

// Recommendation is a meta-model's recommendation for a project: its predicted success, the similar projects, artifacts to reuse and the team size.
type Recommendation struct {
	Forecast              Forecast             `json:"forecast"`
	Interval              Interval             `json:"interval"`
	IntervalCoverage      float64              `json:"interval_coverage"`
	ModelVersion          int                  `json:"model_version"`
	Notes                 []string             `json:"notes"`
	PredictedSuccessScore float64              `json:"predicted_success_score"`
	PredictionID          string               `json:"prediction_id,omitempty"`
	RelativeWidth         *float64             `json:"relative_width"`
	SimilarProjects       []SimilarProject     `json:"similar_projects"`
	SuggestedArtifacts    []ArtifactSuggestion `json:"suggested_artifacts"`
	TeamComposition       TeamComposition      `json:"team_composition"`
	TopFactors            []Factor             `json:"top_factors"`
	Warnings              []string             `json:"warnings,omitempty"`
}

// RecommendationRequest is the body of Recommend: a registered project (ProjectID) or a description of one.
type RecommendationRequest struct {
	ArtifactIDs     []string            `json:"artifact_ids,omitempty"`
	ComplexityScore *float64            `json:"complexity_score,omitempty"`
	Description     string              `json:"description,omitempty"`
	ProblemClass    string              `json:"problem_class,omitempty"`
	ProcessMetrics  map[string]float64  `json:"process_metrics,omitempty"`
	ProjectID       string              `json:"project_id,omitempty"`
	Spec            *SpecInput          `json:"spec,omitempty"`
	Team            []PlannedTeamMember `json:"team,omitempty"`
	TeamSize        *int                `json:"team_size,omitempty"`
}

// refreshRequest is the body of Refresh.
type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// RegisteredModel is a model of the model registry.
type RegisteredModel struct {
	CreatedAt     time.Time         `json:"created_at"`
	Description   string            `json:"description"`
	ID            string            `json:"id"`
	LatestVersion int               `json:"latest_version"`
	Name          string            `json:"name"`
	Tags          map[string]string `json:"tags"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// Run is a run of an experiment, with its parameters, tags and status. Lifecycle is "active", or "deleted" once DeleteRun (or DeleteExperiment) removed it.
type Run struct {
	EndedAt      *time.Time        `json:"ended_at"`
	ExperimentID string            `json:"experiment_id"`
	ID           string            `json:"id"`
	Lifecycle    string            `json:"lifecycle"`
	Name         string            `json:"name"`
	Params       map[string]string `json:"params"`
	StartedAt    time.Time         `json:"started_at"`
	Status       string            `json:"status"`
	Tags         map[string]string `json:"tags"`
}

// RunClause is one condition of a RunSearch: exactly one of Metric, Param or Tag names what it compares, Op how ("=", "!=", "<", "<=", ">", ">="; a parameter or a tag takes "=" and "!=" only) and Value with what: a float64 for a metric (its latest value is compared), a string for a parameter or a tag. A run without the metric, parameter or tag does not match. MetricClause, ParamClause and TagClause build one.
type RunClause struct {
	Metric string `json:"metric,omitempty"`
	Op     string `json:"op"`
	Param  string `json:"param,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Value  any    `json:"value"`
}

// RunInput is the body of CreateRun.
type RunInput struct {
	Name   string            `json:"name,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// RunLatestMetrics is the latest point of each metric asked for of one run; a metric the run has not logged is absent.
type RunLatestMetrics struct {
	Metrics map[string]LatestMetric `json:"metrics"`
	RunID   string                  `json:"run_id"`
}

// RunOrder is one sort key of a RunSearch: a metric's latest value (Metric; runs without it sort last) or a field (Field: "started_at", "ended_at" or "name"), ascending unless Direction is "desc".
type RunOrder struct {
	Direction string `json:"direction,omitempty"`
	Field     string `json:"field,omitempty"`
	Metric    string `json:"metric,omitempty"`
}

// RunPatch is the body of UpdateRun: an empty field is left as it is. A terminal status ("finished", "failed", "killed") without EndedAt ends the run now; "running" clears the end and takes no EndedAt. Params are added to the run's: a parameter is written once, and another value for a logged one is ErrInvalid.
type RunPatch struct {
	EndedAt *time.Time        `json:"ended_at,omitempty"`
	Name    string            `json:"name,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	// Status is "running", "finished", "failed" or "killed".
	Status string `json:"status,omitempty"`
}

// RunSearch is the body of SearchRuns: every clause of Filter holds (at most 50), the status is one of Status (any when empty), Lifecycle selects "active" (the default), "deleted" or "all", ordered by OrderBy (at most 5 terms; ties and no OrderBy oldest first), a page of Limit (0: the server's default, at most 1000) after Cursor, the NextCursor of the previous page of the same search.
type RunSearch struct {
	Cursor    string      `json:"cursor,omitempty"`
	Filter    []RunClause `json:"filter,omitempty"`
	Lifecycle string      `json:"lifecycle,omitempty"`
	Limit     int         `json:"limit,omitempty"`
	OrderBy   []RunOrder  `json:"order_by,omitempty"`
	Status    []string    `json:"status,omitempty"`
}

// SectionOverlap is the overlap of one spec section.
type SectionOverlap struct {
	EffortHours float64     `json:"effort_hours"`
	Items       []ItemMatch `json:"items"`
	Modified    int         `json:"modified"`
	New         int         `json:"new"`
	Overlap     float64     `json:"overlap"`
	Reused      int         `json:"reused"`
}

// SimilarProject is a past project similar to the one asked about, with the cosine similarity.
type SimilarProject struct {
	Name       string  `json:"name"`
	ProjectID  string  `json:"project_id"`
	Similarity float64 `json:"similarity"`
}

// SimilarSpecsRequest is the body of SimilarSpecs: a spec or a free text, and how many matches to return.
type SimilarSpecsRequest struct {
	Limit *int       `json:"limit,omitempty"`
	Spec  *SpecInput `json:"spec,omitempty"`
	Text  string     `json:"text,omitempty"`
}

// Spec is a project's specification: user stories, requirements, data models and API endpoints.
type Spec struct {
	APIEndpoints              []APIEndpoint `json:"api_endpoints,omitempty"`
	DataModels                []DataModel   `json:"data_models,omitempty"`
	FunctionalRequirements    []string      `json:"functional_requirements,omitempty"`
	NonFunctionalRequirements []string      `json:"non_functional_requirements,omitempty"`
	UserStories               []string      `json:"user_stories,omitempty"`
}

// SpecInput is the specification of a project as sent.
type SpecInput struct {
	APIEndpoints              []APIEndpointInput `json:"api_endpoints,omitempty"`
	DataModels                []DataModelInput   `json:"data_models,omitempty"`
	FunctionalRequirements    []string           `json:"functional_requirements,omitempty"`
	NonFunctionalRequirements []string           `json:"non_functional_requirements,omitempty"`
	UserStories               []string           `json:"user_stories,omitempty"`
}

// StoredPrediction is a prediction stored for a project, compared with its outcome once recorded.
type StoredPrediction struct {
	ActualScore           *float64  `json:"actual_score"`
	CreatedAt             time.Time `json:"created_at"`
	Error                 *float64  `json:"error"`
	ID                    string    `json:"id"`
	Interval              Interval  `json:"interval"`
	IntervalCoverage      float64   `json:"interval_coverage"`
	ModelVersion          int       `json:"model_version"`
	PredictedSuccessScore float64   `json:"predicted_success_score"`
	ProjectID             string    `json:"project_id"`
	WithinInterval        *bool     `json:"within_interval"`
}

// tagRequest is the body of every tag setter: runs, models and versions.
type tagRequest struct {
	Value string `json:"value"`
}

// TeamComposition is a recommendation's advice on the team size.
type TeamComposition struct {
	PlannedSize          int                `json:"planned_size"`
	PredictedScoreBySize map[string]float64 `json:"predicted_score_by_size"`
	ProbabilityBetter    float64            `json:"probability_better"`
	Reason               string             `json:"reason"`
	RecommendedSize      int                `json:"recommended_size"`
}

// TeamMember is a member of a project's team.
type TeamMember struct {
	ContributionHours float64   `json:"contribution_hours"`
	CreatedAt         time.Time `json:"created_at"`
	ExperienceLevel   string    `json:"experience_level"`
	ID                string    `json:"id"`
	Name              string    `json:"name"`
	ProjectID         string    `json:"project_id"`
	Role              string    `json:"role"`
}

// TeamMemberInput is the body of AddTeamMember.
type TeamMemberInput struct {
	ContributionHours float64 `json:"contribution_hours,omitempty"`
	ExperienceLevel   string  `json:"experience_level"`
	Name              string  `json:"name"`
	Role              string  `json:"role"`
}

// Tenant is a tenant of the platform.
type Tenant struct {
	CreatedAt time.Time `json:"created_at"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TenantInput is the body of CreateTenant.
type TenantInput struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// TenantPatch is the body of UpdateTenant: a nil field is left as it is.
type TenantPatch struct {
	Name *string `json:"name,omitempty"`
	Slug *string `json:"slug,omitempty"`
}

// TenantRef names the tenant of the caller's credential.
type TenantRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// TokenPair is the answer of Login and Refresh: an access token, its lifetime in seconds and the refresh token that renews it.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
}

// TrainingJob is a meta-model training job: its status (queued, running, succeeded or failed), progress from 0 to 1, and the model or error it ended with.
type TrainingJob struct {
	CreatedAt  time.Time  `json:"created_at"`
	Error      string     `json:"error,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ID         string     `json:"id"`
	Model      *MetaModel `json:"model,omitempty"`
	Progress   float64    `json:"progress"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	Status     string     `json:"status"`
	Trigger    string     `json:"trigger"`
}

// User is a user of the platform.
type User struct {
	Email        string `json:"email"`
	ID           string `json:"id"`
	IsSuperadmin bool   `json:"is_superadmin"`
	Username     string `json:"username"`
}

package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Weighted is one operation of a mix and its relative weight.
type Weighted struct {
	Op     string `json:"op"`
	Weight int    `json:"weight"`
}

// Operations of the mix. Each is one API request (record_outcome is two
// when the virtual user has no open project of its own: it creates one
// first), named in reports by its method and route.
const (
	OpListProjects   = "list_projects"    // GET /projects?limit=20[&problem_class=]
	OpGetProject     = "get_project"      // GET /projects/{id}
	OpLogMetrics     = "log_metrics"      // POST /runs/{id}/metrics, 30 points
	OpMetricHistory  = "metric_history"   // GET /runs/{id}/metrics/loss?max_points=100
	OpProcessMetrics = "process_metrics"  // POST /projects/{id}/process-metrics, 3 values
	OpCreateProject  = "create_project"   // POST /projects
	OpRecordOutcome  = "record_outcome"   // PUT /projects/{id}/outcome
	OpSearchArtifact = "search_artifacts" // GET /artifacts?q= or ?type=
	OpGetArtifact    = "get_artifact"     // GET /artifacts/{id}
	OpRecommend      = "recommend"        // POST /recommendations
	OpSimilar        = "similar_projects" // GET /projects/{id}/similar?limit=5
	OpSimilarSpecs   = "similar_specs"    // POST /specs/similar
	OpRefresh        = "refresh"          // POST /auth/refresh
	OpMe             = "me"               // GET /auth/me
)

// DefaultMix returns the default weighted mix of the mix scenario: mostly
// reads of projects and artifacts, a steady stream of metric batches from
// training runs, and a smaller share of writes, recommendations, similarity
// searches and token refreshes. The weights add up to 100.
func DefaultMix() []Weighted {
	return []Weighted{
		{OpListProjects, 14}, {OpGetProject, 16}, {OpLogMetrics, 12}, {OpMetricHistory, 5},
		{OpProcessMetrics, 3}, {OpCreateProject, 4}, {OpRecordOutcome, 3}, {OpSearchArtifact, 12},
		{OpGetArtifact, 6}, {OpRecommend, 6}, {OpSimilar, 8}, {OpSimilarSpecs, 3},
		{OpRefresh, 3}, {OpMe, 5},
	}
}

// ops maps operation names to their implementation.
var ops = map[string]func(*vu, context.Context) error{
	OpListProjects:   (*vu).listProjects,
	OpGetProject:     (*vu).getProject,
	OpLogMetrics:     (*vu).logMetrics,
	OpMetricHistory:  (*vu).metricHistory,
	OpProcessMetrics: (*vu).processMetrics,
	OpCreateProject:  (*vu).createProject,
	OpRecordOutcome:  (*vu).recordOutcome,
	OpSearchArtifact: (*vu).searchArtifacts,
	OpGetArtifact:    (*vu).getArtifact,
	OpRecommend:      (*vu).recommend,
	OpSimilar:        (*vu).similarProjects,
	OpSimilarSpecs:   (*vu).similarSpecs,
	OpRefresh:        (*vu).refresh,
	OpMe:             (*vu).me,
}

// picker chooses operations by weight.
type picker struct {
	names []string
	cum   []int // cumulative weights
}

// newPicker validates mix and returns its picker.
func newPicker(mix []Weighted) (*picker, error) {
	p := &picker{}
	total := 0
	for _, w := range mix {
		if _, ok := ops[w.Op]; !ok {
			return nil, fmt.Errorf("loadtest: unknown operation %q in the mix", w.Op)
		}
		if w.Weight < 0 {
			return nil, fmt.Errorf("loadtest: operation %q has a negative weight", w.Op)
		}
		if w.Weight == 0 {
			continue
		}
		total += w.Weight
		p.names = append(p.names, w.Op)
		p.cum = append(p.cum, total)
	}
	if total == 0 {
		return nil, errors.New("loadtest: the mix has no operation with a positive weight")
	}
	return p, nil
}

func (p *picker) pick(rng *rand.Rand) string {
	x := rng.IntN(p.cum[len(p.cum)-1])
	i, _ := slices.BinarySearch(p.cum, x+1)
	return p.names[i]
}

// vu is one virtual user: a login session of one user of one tenant. A vu
// is used by one goroutine.
type vu struct {
	id     int
	c      *client
	tenant *TenantFixture
	cred   Credential
	rng    *rand.Rand
	think  time.Duration

	access, refreshToken string
	runID                string
	step                 int64
	open                 []string // projects this user created without an outcome yet
}

// login logs the user in and keeps its token pair.
func (v *vu) login(ctx context.Context) error {
	var tok tokenPair
	if err := v.c.call(ctx, "POST /auth/login", http.MethodPost, "/api/v1/auth/login", "",
		loginBody(v.cred), http.StatusOK, &tok); err != nil {
		return err
	}
	v.access, v.refreshToken = tok.AccessToken, tok.RefreshToken
	return nil
}

// startRun starts the training run this user logs metrics to.
func (v *vu) startRun(ctx context.Context) error {
	exp := v.tenant.ExperimentIDs[v.rng.IntN(len(v.tenant.ExperimentIDs))]
	var run struct {
		ID string `json:"id"`
	}
	if err := v.c.call(ctx, "POST /experiments/{id}/runs", http.MethodPost, "/api/v1/experiments/"+exp+"/runs", v.access,
		map[string]any{"name": fmt.Sprintf("vu-%d", v.id), "params": map[string]string{"learning_rate": "0.01", "max_depth": "6"}},
		http.StatusCreated, &run); err != nil {
		return err
	}
	v.runID = run.ID
	return nil
}

// pause waits a think time: uniformly between half and one and a half
// times v.think. It reports false when ctx ended.
func (v *vu) pause(ctx context.Context) bool {
	if v.think <= 0 {
		return ctx.Err() == nil
	}
	d := time.Duration(float64(v.think) * (0.5 + v.rng.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runMix logs in, starts a run and executes operations picked from p until
// ctx ends or the request budget is spent. A request that answered 401
// (an expired or revoked token) makes the user log in again.
func (v *vu) runMix(ctx context.Context, p *picker) {
	for ctx.Err() == nil {
		if err := v.login(ctx); err == nil {
			break
		} else if errors.Is(err, ErrBudget) || !v.pause(ctx) {
			return
		}
	}
	for v.runID == "" && ctx.Err() == nil {
		if err := v.startRun(ctx); errors.Is(err, ErrBudget) || (err != nil && !v.pause(ctx)) {
			return
		}
	}
	for v.pause(ctx) {
		op := p.pick(v.rng)
		err := ops[op](v, ctx)
		if errors.Is(err, ErrBudget) {
			return
		}
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
			_ = v.login(ctx)
		}
	}
}

// runLogin executes the login scenario: log in, read the profile, log out,
// until ctx ends or the budget is spent.
func (v *vu) runLogin(ctx context.Context) {
	for v.pause(ctx) {
		if err := v.login(ctx); err != nil {
			if errors.Is(err, ErrBudget) {
				return
			}
			continue
		}
		if err := v.me(ctx); errors.Is(err, ErrBudget) {
			return
		}
		if err := v.c.call(ctx, "POST /auth/logout", http.MethodPost, "/api/v1/auth/logout", v.access,
			nil, http.StatusNoContent, nil); errors.Is(err, ErrBudget) {
			return
		}
	}
}

func (v *vu) project() string { return v.tenant.ProjectIDs[v.rng.IntN(len(v.tenant.ProjectIDs))] }

func (v *vu) artifact() string { return v.tenant.ArtifactIDs[v.rng.IntN(len(v.tenant.ArtifactIDs))] }

func (v *vu) get(ctx context.Context, endpoint, path string) error {
	return v.c.call(ctx, endpoint, http.MethodGet, path, v.access, nil, http.StatusOK, nil)
}

func (v *vu) listProjects(ctx context.Context) error {
	q := url.Values{"limit": {"20"}}
	if v.rng.IntN(2) == 0 {
		q.Set("problem_class", problemClasses[v.rng.IntN(len(problemClasses))])
	}
	return v.get(ctx, "GET /projects", "/api/v1/projects?"+q.Encode())
}

func (v *vu) getProject(ctx context.Context) error {
	return v.get(ctx, "GET /projects/{id}", "/api/v1/projects/"+v.project())
}

func (v *vu) logMetrics(ctx context.Context) error {
	const steps = 10
	batch := make([]map[string]any, 0, 3*steps)
	for range steps {
		v.step++
		s := float64(v.step)
		batch = append(batch,
			map[string]any{"key": "loss", "value": 1/(1+s/50) + 0.02*v.rng.Float64(), "step": v.step},
			map[string]any{"key": "accuracy", "value": 1 - 0.5*math.Exp(-s/80) - 0.01*v.rng.Float64(), "step": v.step},
			map[string]any{"key": "learning_rate", "value": 0.01 * math.Pow(0.99, s/10), "step": v.step},
		)
	}
	return v.c.call(ctx, "POST /runs/{id}/metrics", http.MethodPost, "/api/v1/runs/"+v.runID+"/metrics",
		v.access, batch, http.StatusNoContent, nil)
}

func (v *vu) metricHistory(ctx context.Context) error {
	if v.step == 0 {
		return v.logMetrics(ctx)
	}
	return v.get(ctx, "GET /runs/{id}/metrics/{key}", "/api/v1/runs/"+v.runID+"/metrics/loss?max_points=100")
}

func (v *vu) processMetrics(ctx context.Context) error {
	batch := []map[string]any{
		{"metric_type": "code_review_hours", "value": float64(1 + v.rng.IntN(20))},
		{"metric_type": "data_quality_score", "value": 0.6 + 0.4*v.rng.Float64()},
		{"metric_type": "experiments_run", "value": float64(v.rng.IntN(50))},
	}
	return v.c.call(ctx, "POST /projects/{id}/process-metrics", http.MethodPost,
		"/api/v1/projects/"+v.project()+"/process-metrics", v.access, batch, http.StatusNoContent, nil)
}

func (v *vu) createProject(ctx context.Context) error {
	var p struct {
		ID string `json:"id"`
	}
	if err := v.c.call(ctx, "POST /projects", http.MethodPost, "/api/v1/projects", v.access,
		projectInput(v.rng, v.tenant.Slug, v.rng.IntN(1_000_000)), http.StatusCreated, &p); err != nil {
		return err
	}
	v.open = append(v.open, p.ID)
	return nil
}

func (v *vu) recordOutcome(ctx context.Context) error {
	if len(v.open) == 0 {
		if err := v.createProject(ctx); err != nil {
			return err
		}
	}
	id := v.open[len(v.open)-1]
	v.open = v.open[:len(v.open)-1]
	return v.c.call(ctx, "PUT /projects/{id}/outcome", http.MethodPut, "/api/v1/projects/"+id+"/outcome",
		v.access, outcomeFor(v.rng, 1+v.rng.IntN(10), 2+v.rng.IntN(9)), http.StatusOK, nil)
}

func (v *vu) searchArtifacts(ctx context.Context) error {
	q := url.Values{"limit": {"20"}}
	if v.rng.IntN(3) == 0 {
		q.Set("type", artifactTypes[v.rng.IntN(len(artifactTypes))])
	} else {
		q.Set("q", searchWords[v.rng.IntN(len(searchWords))])
	}
	return v.get(ctx, "GET /artifacts", "/api/v1/artifacts?"+q.Encode())
}

func (v *vu) getArtifact(ctx context.Context) error {
	return v.get(ctx, "GET /artifacts/{id}", "/api/v1/artifacts/"+v.artifact())
}

func (v *vu) recommend(ctx context.Context) error {
	if !v.tenant.Trained {
		return v.similarProjects(ctx)
	}
	var body map[string]any
	if v.rng.IntN(3) == 0 {
		body = map[string]any{"project_id": v.project()}
	} else {
		d := domains[v.rng.IntN(len(domains))]
		body = map[string]any{
			"problem_class":    problemClasses[v.rng.IntN(len(problemClasses))],
			"complexity_score": 1 + v.rng.IntN(10),
			"team_size":        2 + v.rng.IntN(9),
			"artifact_ids":     []string{v.artifact(), v.artifact()},
			"description":      "Predict " + d.topic + " from " + d.entity + " history.",
		}
	}
	return v.c.call(ctx, "POST /recommendations", http.MethodPost, "/api/v1/recommendations", v.access,
		body, http.StatusOK, nil)
}

func (v *vu) similarProjects(ctx context.Context) error {
	return v.get(ctx, "GET /projects/{id}/similar", "/api/v1/projects/"+v.project()+"/similar?limit=5")
}

func (v *vu) similarSpecs(ctx context.Context) error {
	d := domains[v.rng.IntN(len(domains))]
	return v.c.call(ctx, "POST /specs/similar", http.MethodPost, "/api/v1/specs/similar", v.access,
		map[string]any{"text": "We need to predict " + d.topic + " for each " + d.entity + " every day.", "limit": 5},
		http.StatusOK, nil)
}

func (v *vu) refresh(ctx context.Context) error {
	var tok tokenPair
	if err := v.c.call(ctx, "POST /auth/refresh", http.MethodPost, "/api/v1/auth/refresh", "",
		map[string]string{"refresh_token": v.refreshToken}, http.StatusOK, &tok); err != nil {
		return err
	}
	v.access, v.refreshToken = tok.AccessToken, tok.RefreshToken
	return nil
}

func (v *vu) me(ctx context.Context) error { return v.get(ctx, "GET /auth/me", "/api/v1/auth/me") }

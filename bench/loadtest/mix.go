package loadtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	mc "github.com/maestro-ml/maestro/client"
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

	api          *mc.Client // authenticated with the session's access token
	refreshToken string
	runID        string
	step         int64
	open         []string // projects this user created without an outcome yet
}

// login logs the user in and keeps its token pair.
func (v *vu) login(ctx context.Context) error {
	api, pair, err := v.c.loginPair(ctx, "POST /auth/login", v.cred)
	if err != nil {
		return err
	}
	v.api, v.refreshToken = api, pair.RefreshToken
	return nil
}

// startRun starts the training run this user logs metrics to.
func (v *vu) startRun(ctx context.Context) error {
	exp := v.tenant.ExperimentIDs[v.rng.IntN(len(v.tenant.ExperimentIDs))]
	return v.c.call(ctx, "POST /experiments/{id}/runs", http.StatusCreated, func(ctx context.Context) error {
		run, err := v.api.CreateRun(ctx, exp, mc.RunInput{Name: fmt.Sprintf("vu-%d", v.id),
			Params: map[string]string{"learning_rate": "0.01", "max_depth": "6"}})
		if err == nil {
			v.runID = run.ID
		}
		return err
	})
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
		if err := v.c.call(ctx, "POST /auth/logout", http.StatusNoContent, v.api.Logout); errors.Is(err, ErrBudget) {
			return
		}
	}
}

func (v *vu) project() string { return v.tenant.ProjectIDs[v.rng.IntN(len(v.tenant.ProjectIDs))] }

func (v *vu) artifact() string { return v.tenant.ArtifactIDs[v.rng.IntN(len(v.tenant.ArtifactIDs))] }

// read makes a request named endpoint that answers 200 with a body of
// type T (read and decoded, then dropped).
func read[T any](ctx context.Context, v *vu, endpoint string, do func(context.Context) (T, error)) error {
	return v.c.call(ctx, endpoint, http.StatusOK, func(ctx context.Context) error {
		_, err := do(ctx)
		return err
	})
}

func (v *vu) listProjects(ctx context.Context) error {
	f := mc.ProjectFilter{PageRequest: mc.PageRequest{Limit: 20}}
	if v.rng.IntN(2) == 0 {
		f.ProblemClass = problemClasses[v.rng.IntN(len(problemClasses))]
	}
	return read(ctx, v, "GET /projects", func(ctx context.Context) (*mc.Page[mc.Project], error) { return v.api.ListProjects(ctx, f) })
}

func (v *vu) getProject(ctx context.Context) error {
	id := v.project()
	return read(ctx, v, "GET /projects/{id}", func(ctx context.Context) (*mc.Project, error) { return v.api.GetProject(ctx, id) })
}

func (v *vu) logMetrics(ctx context.Context) error {
	const steps = 10
	batch := make([]mc.MetricPoint, 0, 3*steps)
	for range steps {
		v.step++
		s, step := float64(v.step), int(v.step)
		batch = append(batch,
			mc.MetricPoint{Key: "loss", Value: 1/(1+s/50) + 0.02*v.rng.Float64(), Step: step},
			mc.MetricPoint{Key: "accuracy", Value: 1 - 0.5*math.Exp(-s/80) - 0.01*v.rng.Float64(), Step: step},
			mc.MetricPoint{Key: "learning_rate", Value: 0.01 * math.Pow(0.99, s/10), Step: step},
		)
	}
	return v.c.call(ctx, "POST /runs/{id}/metrics", http.StatusNoContent, func(ctx context.Context) error {
		return v.api.LogMetrics(ctx, v.runID, batch)
	})
}

func (v *vu) metricHistory(ctx context.Context) error {
	if v.step == 0 {
		return v.logMetrics(ctx)
	}
	return read(ctx, v, "GET /runs/{id}/metrics/{key}", func(ctx context.Context) (*mc.MetricHistory, error) {
		return v.api.MetricHistory(ctx, v.runID, "loss", 100)
	})
}

func (v *vu) processMetrics(ctx context.Context) error {
	batch := []mc.ProcessMetricPoint{
		{MetricType: "code_review_hours", Value: float64(1 + v.rng.IntN(20))},
		{MetricType: "data_quality_score", Value: 0.6 + 0.4*v.rng.Float64()},
		{MetricType: "experiments_run", Value: float64(v.rng.IntN(50))},
	}
	id := v.project()
	return v.c.call(ctx, "POST /projects/{id}/process-metrics", http.StatusNoContent, func(ctx context.Context) error {
		return v.api.RecordProcessMetrics(ctx, id, batch)
	})
}

func (v *vu) createProject(ctx context.Context) error {
	in := projectInput(v.rng, v.tenant.Slug, v.rng.IntN(1_000_000))
	return v.c.call(ctx, "POST /projects", http.StatusCreated, func(ctx context.Context) error {
		p, err := v.api.CreateProject(ctx, in)
		if err == nil {
			v.open = append(v.open, p.ID)
		}
		return err
	})
}

func (v *vu) recordOutcome(ctx context.Context) error {
	if len(v.open) == 0 {
		if err := v.createProject(ctx); err != nil {
			return err
		}
	}
	id := v.open[len(v.open)-1]
	v.open = v.open[:len(v.open)-1]
	out := outcomeFor(v.rng, 1+v.rng.IntN(10), 2+v.rng.IntN(9))
	return read(ctx, v, "PUT /projects/{id}/outcome", func(ctx context.Context) (*mc.Project, error) {
		return v.api.RecordOutcome(ctx, id, out)
	})
}

func (v *vu) searchArtifacts(ctx context.Context) error {
	f := mc.ArtifactFilter{PageRequest: mc.PageRequest{Limit: 20}}
	if v.rng.IntN(3) == 0 {
		f.Type = artifactTypes[v.rng.IntN(len(artifactTypes))]
	} else {
		f.Q = searchWords[v.rng.IntN(len(searchWords))]
	}
	return read(ctx, v, "GET /artifacts", func(ctx context.Context) (*mc.Page[mc.Artifact], error) { return v.api.SearchArtifacts(ctx, f) })
}

func (v *vu) getArtifact(ctx context.Context) error {
	id := v.artifact()
	return read(ctx, v, "GET /artifacts/{id}", func(ctx context.Context) (*mc.Artifact, error) { return v.api.GetArtifact(ctx, id) })
}

func (v *vu) recommend(ctx context.Context) error {
	if !v.tenant.Trained {
		return v.similarProjects(ctx)
	}
	var in mc.RecommendationRequest
	if v.rng.IntN(3) == 0 {
		in.ProjectID = v.project()
	} else {
		d := domains[v.rng.IntN(len(domains))]
		in.ProblemClass = problemClasses[v.rng.IntN(len(problemClasses))]
		complexity, team := float64(1+v.rng.IntN(10)), 2+v.rng.IntN(9)
		in.ComplexityScore, in.TeamSize = &complexity, &team
		in.ArtifactIDs = []string{v.artifact(), v.artifact()}
		in.Description = "Predict " + d.topic + " from " + d.entity + " history."
	}
	return read(ctx, v, "POST /recommendations", func(ctx context.Context) (*mc.Recommendation, error) { return v.api.Recommend(ctx, in) })
}

func (v *vu) similarProjects(ctx context.Context) error {
	id := v.project()
	return read(ctx, v, "GET /projects/{id}/similar", func(ctx context.Context) ([]mc.SimilarProject, error) {
		return v.api.SimilarProjects(ctx, id, 5)
	})
}

func (v *vu) similarSpecs(ctx context.Context) error {
	d := domains[v.rng.IntN(len(domains))]
	limit := 5
	in := mc.SimilarSpecsRequest{Text: "We need to predict " + d.topic + " for each " + d.entity + " every day.", Limit: &limit}
	return read(ctx, v, "POST /specs/similar", func(ctx context.Context) ([]mc.SimilarProject, error) { return v.api.SimilarSpecs(ctx, in) })
}

func (v *vu) refresh(ctx context.Context) error {
	var pair *mc.TokenPair
	if err := v.c.call(ctx, "POST /auth/refresh", http.StatusOK, func(ctx context.Context) error {
		var err error
		pair, err = v.api.Refresh(ctx, v.refreshToken)
		return err
	}); err != nil {
		return err
	}
	api, err := v.c.api(pair.AccessToken)
	if err != nil {
		return err
	}
	v.api, v.refreshToken = api, pair.RefreshToken
	return nil
}

func (v *vu) me(ctx context.Context) error {
	return read(ctx, v, "GET /auth/me", v.api.Me)
}

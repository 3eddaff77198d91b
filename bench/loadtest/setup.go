package loadtest

import (
	"context"
	crand "crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	mc "github.com/maestro-ml/maestro/client"
)

// SetupConfig sizes the data that setup creates before a run.
type SetupConfig struct {
	// Tenants is the number of tenants created (default 4).
	Tenants int
	// UsersPerTenant is the number of users in each tenant (default 5).
	// The first is the tenant's admin and fills it; all are used by
	// virtual users, several virtual users sharing a user when there are
	// more virtual users than users.
	UsersPerTenant int
	// Projects per tenant (default 40).
	Projects int
	// Completed is how many of each tenant's projects get team members,
	// artifact usages and an outcome (default 24; the meta-model needs at
	// least 20). It is capped at Projects.
	Completed int
	// Artifacts per tenant (default 30).
	Artifacts int
	// Experiments per tenant (default 8); every virtual user starts a run
	// in one of its tenant's experiments and logs its metrics there.
	Experiments int
}

func (c *SetupConfig) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Tenants, 4)
	def(&c.UsersPerTenant, 5)
	def(&c.Projects, 40)
	def(&c.Completed, 24)
	def(&c.Artifacts, 30)
	def(&c.Experiments, 8)
	c.Completed = min(c.Completed, c.Projects)
}

// Credential is a user's login.
type Credential struct {
	Username string `json:"username"`
	Password string `json:"-"`
	Tenant   string `json:"tenant"` // slug
}

// TenantFixture is what setup created in one tenant.
type TenantFixture struct {
	ID            string       `json:"id"`
	Slug          string       `json:"slug"`
	Users         []Credential `json:"users"`
	ProjectIDs    []string     `json:"-"`
	ArtifactIDs   []string     `json:"-"`
	ExperimentIDs []string     `json:"-"`
	// Trained reports whether the tenant's meta-model was trained, so that
	// recommendations can be asked.
	Trained bool `json:"trained"`
}

// Fixture is what setup created.
type Fixture struct {
	RunID   string          `json:"run_id"`
	Tenants []TenantFixture `json:"tenants"`
}

// SetupSummary describes the setup phase in a Report.
type SetupSummary struct {
	RunID                string  `json:"run_id"`
	Tenants              int     `json:"tenants"`
	UsersPerTenant       int     `json:"users_per_tenant"`
	ProjectsPerTenant    int     `json:"projects_per_tenant"`
	CompletedPerTenant   int     `json:"completed_per_tenant"`
	ArtifactsPerTenant   int     `json:"artifacts_per_tenant"`
	ExperimentsPerTenant int     `json:"experiments_per_tenant"`
	TrainedTenants       int     `json:"trained_tenants"`
	Requests             int64   `json:"requests"`
	DurationSeconds      float64 `json:"duration_seconds"`
}

// setupWorkers bounds the concurrent requests of the setup phase.
const setupWorkers = 4

// setup creates the run's tenants, users and data through the API. The
// admin credential must belong to a superadmin.
func setup(ctx context.Context, c *client, admin Credential, cfg SetupConfig, seed uint64) (*Fixture, error) {
	runID, err := newRunID()
	if err != nil {
		return nil, err
	}
	adminAPI, err := c.login(ctx, "setup login", admin)
	if err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	fx := &Fixture{RunID: runID, Tenants: make([]TenantFixture, cfg.Tenants)}
	errs := make([]error, cfg.Tenants)
	var wg sync.WaitGroup
	for i := range cfg.Tenants {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i))) // #nosec G115 G404 -- load generation: a seeded, reproducible stream; i is a non-negative index
			errs[i] = setupTenant(ctx, c, adminAPI, cfg, rng, runID, i, &fx.Tenants[i])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return fx, nil
}

// setupTenant creates tenant i with its users and data.
func setupTenant(ctx context.Context, c *client, admin *mc.Client, cfg SetupConfig, rng *rand.Rand,
	runID string, i int, tf *TenantFixture) error {
	tf.Slug = fmt.Sprintf("lt-%s-%d", runID, i)
	if err := c.call(ctx, "setup tenant", http.StatusCreated, func(ctx context.Context) error {
		t, err := admin.CreateTenant(ctx, mc.TenantInput{Name: "Load test " + runID + " tenant " + fmt.Sprint(i), Slug: tf.Slug})
		if err == nil {
			tf.ID = t.ID
		}
		return err
	}); err != nil {
		return err
	}
	for j := range cfg.UsersPerTenant {
		pw, err := newPassword()
		if err != nil {
			return err
		}
		cred := Credential{Username: fmt.Sprintf("lt-%s-t%d-u%d", runID, i, j), Password: pw, Tenant: tf.Slug}
		role := "member"
		if j == 0 {
			role = "admin"
		}
		if err := c.call(ctx, "setup member", http.StatusCreated, func(ctx context.Context) error {
			_, err := admin.AddMember(ctx, tf.ID, mc.MemberInput{Username: cred.Username, Password: cred.Password, Role: role})
			return err
		}); err != nil {
			return err
		}
		tf.Users = append(tf.Users, cred)
	}
	api, err := c.login(ctx, "setup login", tf.Users[0])
	if err != nil {
		return err
	}
	for k := range cfg.Artifacts {
		in := artifactInput(rng, k)
		if err := c.call(ctx, "setup artifact", http.StatusCreated, func(ctx context.Context) error {
			a, err := api.CreateArtifact(ctx, in)
			if err == nil {
				tf.ArtifactIDs = append(tf.ArtifactIDs, a.ID)
			}
			return err
		}); err != nil {
			return err
		}
	}
	// Bodies are generated here, in order, so that the data depends only on
	// the seed; the requests then run in parallel.
	type projectJob struct {
		body    mc.ProjectInput
		outcome *mc.OutcomeInput
		usages  []string
		team    []mc.TeamMemberInput
	}
	jobs := make([]projectJob, cfg.Projects)
	for k := range jobs {
		body := projectInput(rng, tf.Slug, k)
		jobs[k].body = body
		if k < cfg.Completed {
			o := outcomeFor(rng, body.ComplexityScore, body.TeamSize)
			jobs[k].outcome = &o
			// Two distinct artifacts: a project records one usage per artifact.
			perm := rng.Perm(len(tf.ArtifactIDs))
			for n := range min(2, len(perm)) {
				jobs[k].usages = append(jobs[k].usages, tf.ArtifactIDs[perm[n]])
				jobs[k].team = append(jobs[k].team, mc.TeamMemberInput{
					Name: fmt.Sprintf("engineer %d", rng.IntN(1000)), Role: "ml_engineer",
					ExperienceLevel: experienceLevels[rng.IntN(len(experienceLevels))], ContributionHours: float64(40 + rng.IntN(400)),
				})
			}
		}
	}
	tf.ProjectIDs = make([]string, cfg.Projects)
	err = parallel(ctx, len(jobs), func(k int) error {
		var id string
		if err := c.call(ctx, "setup project", http.StatusCreated, func(ctx context.Context) error {
			p, err := api.CreateProject(ctx, jobs[k].body)
			if err == nil {
				id = p.ID
			}
			return err
		}); err != nil {
			return err
		}
		tf.ProjectIDs[k] = id
		for _, m := range jobs[k].team {
			if err := c.call(ctx, "setup team", http.StatusCreated, func(ctx context.Context) error {
				_, err := api.AddTeamMember(ctx, id, m)
				return err
			}); err != nil {
				return err
			}
		}
		for n, a := range jobs[k].usages {
			impact := float64(40 + 15*n + k%40)
			if err := c.call(ctx, "setup usage", http.StatusCreated, func(ctx context.Context) error {
				_, err := api.RecordArtifactUsage(ctx, a, mc.ArtifactUsageInput{ProjectID: id, ImpactScore: impact})
				return err
			}); err != nil {
				return err
			}
		}
		if jobs[k].outcome != nil {
			return c.call(ctx, "setup outcome", http.StatusOK, func(ctx context.Context) error {
				_, err := api.RecordOutcome(ctx, id, *jobs[k].outcome)
				return err
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k := range cfg.Experiments {
		pid := tf.ProjectIDs[k%len(tf.ProjectIDs)]
		if err := c.call(ctx, "setup experiment", http.StatusCreated, func(ctx context.Context) error {
			e, err := api.CreateExperiment(ctx, pid, mc.ExperimentInput{Name: fmt.Sprintf("experiment %d", k)})
			if err == nil {
				tf.ExperimentIDs = append(tf.ExperimentIDs, e.ID)
			}
			return err
		}); err != nil {
			return err
		}
	}
	err = trainAndWait(ctx, c, api)
	var se *StatusError
	switch {
	case err == nil:
		tf.Trained = true
	case errors.As(err, &se) && se.Status == http.StatusConflict:
		// Too little history for this server's minimum: recommendations
		// are left out of this tenant's mix.
	default:
		return err
	}
	return nil
}

// parallel runs f(0..n-1) on setupWorkers goroutines and returns the first
// error; after an error no new call starts.
func parallel(ctx context.Context, n int, f func(int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(setupWorkers, n) {
		wg.Go(func() {
			for k := range next {
				if err := f(k); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for k := range n {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// loginPair signs cred in (the request named endpoint) and returns a platform
// client authenticated with its access token, and the token pair.
func (c *client) loginPair(ctx context.Context, endpoint string, cred Credential) (*mc.Client, mc.TokenPair, error) {
	anon, err := c.api("")
	if err != nil {
		return nil, mc.TokenPair{}, err
	}
	var pair mc.TokenPair
	if err := c.call(ctx, endpoint, http.StatusOK, func(ctx context.Context) error {
		p, err := anon.Login(ctx, cred.Username, cred.Password, cred.Tenant)
		if err == nil {
			pair = *p
		}
		return err
	}); err != nil {
		return nil, mc.TokenPair{}, err
	}
	api, err := c.api(pair.AccessToken)
	return api, pair, err
}

// login is loginPair without the pair.
func (c *client) login(ctx context.Context, endpoint string, cred Credential) (*mc.Client, error) {
	api, _, err := c.loginPair(ctx, endpoint, cred)
	return api, err
}

// b32 encodes random bytes as lower-case base32 without padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRunID returns a short random id that keeps this run's tenants and
// users apart from earlier runs' on the same server.
func newRunID() (string, error) {
	b := make([]byte, 5)
	if _, err := crand.Read(b); err != nil {
		return "", err
	}
	return strings.ToLower(b32.EncodeToString(b)), nil
}

// newPassword returns a random 32-character password for a load-test user.
func newPassword() (string, error) {
	b := make([]byte, 20)
	if _, err := crand.Read(b); err != nil {
		return "", err
	}
	return b32.EncodeToString(b), nil
}

// since is time.Since in seconds.
func since(t time.Time) float64 { return time.Since(t).Seconds() }

// trainAndWait starts a training job and polls it until it ends: nil when
// it succeeded, a *StatusError with 409 when the history is too short.
func trainAndWait(ctx context.Context, c *client, api *mc.Client) error {
	var job *mc.TrainingJob
	if err := c.call(ctx, "setup train", http.StatusAccepted, func(ctx context.Context) error {
		var err error
		job, err = api.TrainMetaModel(ctx)
		return err
	}); err != nil {
		return err
	}
	for {
		switch job.Status {
		case mc.JobSucceeded:
			return nil
		case mc.JobFailed:
			return fmt.Errorf("loadtest: setup train: job %s failed: %s", job.ID, job.Error)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if err := c.call(ctx, "setup train job", http.StatusOK, func(ctx context.Context) error {
			var err error
			job, err = api.GetTrainingJob(ctx, job.ID)
			return err
		}); err != nil {
			return err
		}
	}
}

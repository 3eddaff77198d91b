package metalearn

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/maestro-ml/maestro/tenancy"
)

// HistorySource returns the completed projects (with valid outcomes) of the
// context's tenant. RegistryHistory adapts the registry to it.
type HistorySource interface {
	History(ctx context.Context) ([]Record, error)
}

// HistoryFunc adapts a function to HistorySource.
type HistoryFunc func(ctx context.Context) ([]Record, error)

// History calls f.
func (f HistoryFunc) History(ctx context.Context) ([]Record, error) { return f(ctx) }

// ModelRepository is what the Retrainer needs of a model store; *Store
// satisfies it.
type ModelRepository interface {
	// LatestInfo returns the newest stored model's info or ErrNoModel.
	LatestInfo(ctx context.Context) (ModelInfo, error)
	// Save stores a model as the tenant's next version.
	Save(ctx context.Context, m *Model) (ModelInfo, error)
}

// DefaultMinNewOutcomes is the number of outcomes recorded since the last
// model that makes MaybeRetrain train again.
const DefaultMinNewOutcomes = 10

// Retrainer trains and stores models per tenant with at most one training
// per tenant at a time. Concurrent Train calls for one tenant share one
// training; MaybeRetrain trains only when enough new outcomes arrived. It
// holds no package-level state and is safe for concurrent use.
type Retrainer struct {
	history HistorySource
	repo    ModelRepository
	minNew  int
	opts    []Option
	jobs    *Jobs // nil: in-process exclusion only

	mu       sync.Mutex
	inflight map[string]*flight
}

// flight is one tenant's training in progress.
type flight struct {
	done    chan struct{}
	info    ModelInfo
	trained bool
	err     error
}

// RetrainerOption configures a Retrainer.
type RetrainerOption func(*Retrainer)

// WithMinNewOutcomes sets how many outcomes since the last model make
// MaybeRetrain train (default DefaultMinNewOutcomes; at least 1).
func WithMinNewOutcomes(n int) RetrainerOption {
	return func(r *Retrainer) {
		if n >= 1 {
			r.minNew = n
		}
	}
}

// WithTrainOptions sets the options passed to Train.
func WithTrainOptions(opts ...Option) RetrainerOption {
	return func(r *Retrainer) { r.opts = append([]Option(nil), opts...) }
}

// WithJobs makes every training of the Retrainer a job recorded in jobs:
// Train, MaybeRetrain and Start then exclude one another per tenant across
// every process on the database, not only within this Retrainer, and
// Start becomes available.
func WithJobs(jobs *Jobs) RetrainerOption {
	return func(r *Retrainer) { r.jobs = jobs }
}

// NewRetrainer returns a Retrainer that reads history from h and stores
// models in repo.
func NewRetrainer(h HistorySource, repo ModelRepository, opts ...RetrainerOption) *Retrainer {
	r := &Retrainer{history: h, repo: repo, minNew: DefaultMinNewOutcomes, inflight: map[string]*flight{}}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

// Train trains a model on the tenant's history now and saves it. If a
// training for the tenant is already running, Train waits for it and
// returns its result instead of starting another (a joined caller gets the
// leader's result, including an error from the leader's context; its own
// context only bounds the wait). It fails with an
// *InsufficientHistoryError (ErrInsufficientHistory) when the history is too
// short.
func (r *Retrainer) Train(ctx context.Context) (ModelInfo, error) {
	if r.jobs != nil {
		return r.trainJob(ctx)
	}
	for {
		f, leader, err := r.join(ctx)
		if err != nil {
			return ModelInfo{}, err
		}
		if leader {
			r.finish(ctx, f, func() (ModelInfo, bool, error) {
				info, err := r.trainNow(ctx, nil)
				return info, err == nil, err
			})
		} else if err := wait(ctx, f); err != nil {
			return ModelInfo{}, err
		}
		if f.trained || f.err != nil {
			return f.info, f.err
		}
		// We joined a MaybeRetrain that decided not to train: train now.
	}
}

// MaybeRetrain trains and saves a model when at least the configured number
// of outcomes arrived since the newest stored model (or, when the tenant
// has none, as soon as the history is long enough). It reports whether it
// trained. When a training for the tenant is already running it returns
// at once with trained false. Too short a history is not an error here: it
// returns trained false.
func (r *Retrainer) MaybeRetrain(ctx context.Context) (info ModelInfo, trained bool, err error) {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return ModelInfo{}, false, fmt.Errorf("metalearn: retrain: %w", tenancy.ErrNoTenant)
	}
	if r.jobs != nil {
		return r.maybeJob(ctx)
	}
	r.mu.Lock()
	if r.inflight[tenant] != nil {
		r.mu.Unlock()
		return ModelInfo{}, false, nil
	}
	f := &flight{done: make(chan struct{})}
	r.inflight[tenant] = f
	r.mu.Unlock()
	r.finish(ctx, f, func() (ModelInfo, bool, error) {
		records, err := r.history.History(ctx)
		if err != nil {
			return ModelInfo{}, false, fmt.Errorf("metalearn: history: %w", err)
		}
		last, err := r.repo.LatestInfo(ctx)
		switch {
		case errors.Is(err, ErrNoModel):
		case err != nil:
			return ModelInfo{}, false, err
		default:
			if NewOutcomes(records, last) < r.minNew {
				return last, false, nil
			}
		}
		info, err := r.trainNow(ctx, records)
		if errors.Is(err, ErrInsufficientHistory) {
			return ModelInfo{}, false, nil
		}
		return info, err == nil, err
	})
	return f.info, f.trained, f.err
}

// NewOutcomes counts the records that arrived after the model described by
// last: those completed after its DataThrough, or, when that is unknown or
// the history shrank and grew again, the growth of the history since its
// training size, whichever is larger.
func NewOutcomes(records []Record, last ModelInfo) int {
	n := 0
	if !last.DataThrough.IsZero() {
		for _, rec := range records {
			if rec.CompletedAt.After(last.DataThrough) {
				n++
			}
		}
	}
	return max(n, len(records)-last.NProjects)
}

// join registers the caller as the tenant's training leader or returns the
// flight in progress.
func (r *Retrainer) join(ctx context.Context) (*flight, bool, error) {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return nil, false, fmt.Errorf("metalearn: retrain: %w", tenancy.ErrNoTenant)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := r.inflight[tenant]; f != nil {
		return f, false, nil
	}
	f := &flight{done: make(chan struct{})}
	r.inflight[tenant] = f
	return f, true, nil
}

// finish runs work as the leader of f and releases the tenant.
func (r *Retrainer) finish(ctx context.Context, f *flight, work func() (ModelInfo, bool, error)) {
	tenant, _ := tenancy.TenantFrom(ctx)
	defer func() {
		r.mu.Lock()
		delete(r.inflight, tenant)
		r.mu.Unlock()
		close(f.done)
	}()
	f.info, f.trained, f.err = work()
}

func wait(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// trainNow trains on records (read from the history when nil) and saves.
func (r *Retrainer) trainNow(ctx context.Context, records []Record, extra ...Option) (ModelInfo, error) {
	if records == nil {
		var err error
		if records, err = r.history.History(ctx); err != nil {
			return ModelInfo{}, fmt.Errorf("metalearn: history: %w", err)
		}
	}
	m, err := Train(ctx, records, append(append([]Option(nil), r.opts...), extra...)...)
	if err != nil {
		return ModelInfo{}, err
	}
	return r.repo.Save(ctx, m)
}

// Job triggers.
const (
	triggerManual    = "manual"
	triggerAutomatic = "automatic"
)

// work returns a job's training on records (read from the history when
// nil), reporting progress.
func (r *Retrainer) work(records []Record) trainWork {
	return func(ctx context.Context, progress func(float64)) (ModelInfo, error) {
		return r.trainNow(ctx, records, WithProgress(progress))
	}
}

// Start starts a training of the context's tenant as a background job and
// returns it at once (queued), with started true; when the tenant already
// has an active job, in this process or another, it returns that job and
// started false instead of starting a second. The job outlives ctx: it
// runs until it ends or the Jobs are closed. Start needs WithJobs.
func (r *Retrainer) Start(ctx context.Context) (job Job, started bool, err error) {
	if r.jobs == nil {
		return Job{}, false, fmt.Errorf("%w: Retrainer.Start needs WithJobs", ErrInvalid)
	}
	row, claimed, err := r.jobs.claim(ctx, triggerManual)
	if err != nil || !claimed {
		return row.job(), false, err
	}
	if err := r.jobs.background(row.TenantID, func(bg context.Context) {
		_, _ = r.jobs.run(bg, row, r.work(nil)) // run logs and records the outcome
	}); err != nil {
		_, _ = r.jobs.update(context.WithoutCancel(ctx), row.TenantID, row.ID,
			map[string]any{"status": string(JobFailed), "error": jobError(err), "finished_at": r.jobs.now().UTC()})
		return Job{}, false, err
	}
	return row.job(), true, nil
}

// trainJob is Train with jobs: it runs the training as a job of this
// process, or, when the tenant already has an active job, waits for that
// one and returns its result.
func (r *Retrainer) trainJob(ctx context.Context) (ModelInfo, error) {
	row, claimed, err := r.jobs.claim(ctx, triggerManual)
	if err != nil {
		return ModelInfo{}, err
	}
	var job Job
	if claimed {
		job, err = r.jobs.run(ctx, row, r.work(nil))
	} else {
		job, err = r.jobs.wait(ctx, row.ID)
	}
	switch {
	case err != nil:
		return ModelInfo{}, err
	case job.Status == JobSucceeded && job.Model != nil:
		return *job.Model, nil
	}
	return ModelInfo{}, fmt.Errorf("metalearn: training job %s failed: %s", job.ID, job.Error)
}

// maybeJob is MaybeRetrain with jobs: it decides first, then trains as a
// job unless the tenant already has an active one.
func (r *Retrainer) maybeJob(ctx context.Context) (ModelInfo, bool, error) {
	if _, busy, err := r.jobs.Active(ctx); err != nil || busy {
		return ModelInfo{}, false, err
	}
	records, err := r.history.History(ctx)
	if err != nil {
		return ModelInfo{}, false, fmt.Errorf("metalearn: history: %w", err)
	}
	last, err := r.repo.LatestInfo(ctx)
	switch {
	case errors.Is(err, ErrNoModel):
	case err != nil:
		return ModelInfo{}, false, err
	default:
		if NewOutcomes(records, last) < r.minNew {
			return last, false, nil
		}
	}
	if cfg := newConfig(r.opts); len(records) < max(cfg.minHistory, cfg.folds+1) {
		return ModelInfo{}, false, nil
	}
	row, claimed, err := r.jobs.claim(ctx, triggerAutomatic)
	if err != nil || !claimed {
		return ModelInfo{}, false, err
	}
	job, err := r.jobs.run(ctx, row, r.work(records))
	if err != nil {
		return ModelInfo{}, false, err
	}
	return *job.Model, true, nil
}

// CheckHistory returns an *InsufficientHistoryError when the context
// tenant's history is too short to train on, so that a caller can refuse
// a training before starting a job that would fail.
func (r *Retrainer) CheckHistory(ctx context.Context) error {
	records, err := r.history.History(ctx)
	if err != nil {
		return fmt.Errorf("metalearn: history: %w", err)
	}
	cfg := newConfig(r.opts)
	if need := max(cfg.minHistory, cfg.folds+1); len(records) < need {
		return &InsufficientHistoryError{Have: len(records), Need: need}
	}
	return nil
}

package metalearn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// JobStatus is the state of a training job.
type JobStatus string

// The states of a training job. A job is active while queued or running;
// at most one job per tenant is active, across every process on the
// database.
const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
)

// Active reports whether a job in this state still holds its tenant's
// training slot (queued or running).
func (s JobStatus) Active() bool { return s == JobQueued || s == JobRunning }

// Default timing of training jobs.
const (
	// DefaultJobHeartbeat is how often the process running a job records
	// that it is alive.
	DefaultJobHeartbeat = 3 * time.Second
	// DefaultJobExpiry is how long a job may go without a heartbeat before
	// it is taken to be abandoned (its process died) and marked failed.
	DefaultJobExpiry = 15 * time.Second
)

// ErrNoJob is returned for a job id the tenant does not have.
var ErrNoJob = errors.New("metalearn: no such training job")

// Job is a training job as callers see it.
type Job struct {
	// ID is the job's UUID.
	ID string `json:"id"`
	// Status is queued, running, succeeded or failed.
	Status JobStatus `json:"status"`
	// Progress is the share of the training done, 0 to 1.
	Progress float64 `json:"progress"`
	// Trigger says what started the job: "manual" (Start, Train) or
	// "automatic" (MaybeRetrain).
	Trigger string `json:"trigger"`
	// Model is the trained model's info once the job succeeded.
	Model *ModelInfo `json:"model,omitempty"`
	// Error says why the job failed.
	Error string `json:"error,omitempty"`
	// CreatedAt is when the job was submitted; StartedAt when training
	// began; FinishedAt when it ended.
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// JobRecord is the stored form of a job: one row in table metalearn_jobs.
// A unique partial index on tenant_id over the active states (queued,
// running) lets at most one job per tenant be active, whichever process
// inserts it. It embeds tenancy.Model, so the tenancy plugin scopes it.
type JobRecord struct {
	tenancy.Model
	ID          string     `gorm:"column:id;primaryKey;type:varchar(36)"`
	Status      string     `gorm:"column:status;type:varchar(16);not null"`
	Trigger     string     `gorm:"column:trigger_kind;type:varchar(16);not null"`
	Progress    float64    `gorm:"column:progress;not null"`
	Owner       string     `gorm:"column:owner;type:varchar(64);not null"`
	Error       string     `gorm:"column:error;type:text;not null"`
	Result      string     `gorm:"column:result;type:text;not null"`
	CreatedAt   time.Time  `gorm:"column:created_at;not null"`
	StartedAt   *time.Time `gorm:"column:started_at"`
	HeartbeatAt time.Time  `gorm:"column:heartbeat_at;not null"`
	FinishedAt  *time.Time `gorm:"column:finished_at"`
}

// TableName implements gorm's Tabler.
func (JobRecord) TableName() string { return "metalearn_jobs" }

// job converts the row to the callers' view.
func (r *JobRecord) job() Job {
	j := Job{ID: r.ID, Status: JobStatus(r.Status), Progress: r.Progress, Trigger: r.Trigger, Error: r.Error,
		CreatedAt: r.CreatedAt.UTC(), StartedAt: utcPtr(r.StartedAt), FinishedAt: utcPtr(r.FinishedAt)}
	if r.Result != "" {
		var mi ModelInfo
		if err := json.Unmarshal([]byte(r.Result), &mi); err == nil {
			j.Model = &mi
		}
	}
	return j
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Jobs records training jobs in the database (table metalearn_jobs) so
// that every process on it agrees on them: at most one active job per
// tenant; a job's process records a heartbeat while it trains, and a job
// whose heartbeat is older than the expiry is marked failed by the next
// process that looks at it, so a process that dies mid-job never leaves
// its job "running". A Retrainer given WithJobs runs every training as a
// job; Retrainer.Start runs one in the background.
//
// Jobs holds no package-level state and is safe for concurrent use. Close
// stops its background jobs (they are marked failed) and waits for them.
type Jobs struct {
	db        *gorm.DB
	owner     string
	heartbeat time.Duration
	expiry    time.Duration
	now       func() time.Time
	log       *slog.Logger
	observe   func(tenant string, j Job)
	slots     chan struct{} // bounds the jobs this process trains at once

	base   context.Context // parent of background jobs; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// JobsOption configures Jobs. An invalid value makes NewJobs fail with
// ErrInvalid.
type JobsOption func(*Jobs) error

// WithJobTiming sets how often a running job records a heartbeat and how
// long a job may go without one before it counts as abandoned (defaults
// DefaultJobHeartbeat, DefaultJobExpiry). The expiry must exceed twice the
// heartbeat. Processes sharing a database should use the same values and
// clocks that agree to well within the expiry.
func WithJobTiming(heartbeat, expiry time.Duration) JobsOption {
	return func(j *Jobs) error {
		if heartbeat <= 0 || expiry <= 2*heartbeat {
			return fmt.Errorf("%w: job timing: heartbeat %v must be positive and expiry %v more than twice it", ErrInvalid, heartbeat, expiry)
		}
		j.heartbeat, j.expiry = heartbeat, expiry
		return nil
	}
}

// WithJobsClock sets the clock of job timestamps and expiry (default
// time.Now).
func WithJobsClock(now func() time.Time) JobsOption {
	return func(j *Jobs) error {
		if now == nil {
			return fmt.Errorf("%w: nil jobs clock", ErrInvalid)
		}
		j.now = now
		return nil
	}
}

// WithJobsLogger sets the logger of job starts, progress and ends
// (default: discard).
func WithJobsLogger(l *slog.Logger) JobsOption {
	return func(j *Jobs) error {
		if l == nil {
			return fmt.Errorf("%w: nil jobs logger", ErrInvalid)
		}
		j.log = l
		return nil
	}
}

// WithJobObserver sets a function called with every state change of a job
// this process runs (started, progress, finished), for metrics. It must
// return quickly.
func WithJobObserver(f func(tenant string, j Job)) JobsOption {
	return func(j *Jobs) error {
		if f == nil {
			return fmt.Errorf("%w: nil job observer", ErrInvalid)
		}
		j.observe = f
		return nil
	}
}

// DefaultMaxRunningJobs bounds the jobs one process trains at once.
const DefaultMaxRunningJobs = 2

// WithMaxRunningJobs sets how many jobs this process trains at once
// (default DefaultMaxRunningJobs; at least 1). Further jobs stay queued,
// with heartbeats, until a slot frees.
func WithMaxRunningJobs(n int) JobsOption {
	return func(j *Jobs) error {
		if n < 1 {
			return fmt.Errorf("%w: max running jobs %d below 1", ErrInvalid, n)
		}
		j.slots = make(chan struct{}, n)
		return nil
	}
}

// WithJobOwner sets the name this process records as the owner of the
// jobs it runs (default: a random UUID). Names must differ between
// processes.
func WithJobOwner(name string) JobsOption {
	return func(j *Jobs) error {
		if name == "" || len(name) > 64 {
			return fmt.Errorf("%w: job owner must be 1 to 64 bytes", ErrInvalid)
		}
		j.owner = name
		return nil
	}
}

// NewJobs returns the training jobs on db, whose schema Migrate prepares.
func NewJobs(db *gorm.DB, opts ...JobsOption) (*Jobs, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil database", ErrInvalid)
	}
	j := &Jobs{db: db, owner: uuid.NewString(), heartbeat: DefaultJobHeartbeat, expiry: DefaultJobExpiry,
		now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(j); err != nil {
			return nil, err
		}
	}
	if j.slots == nil {
		j.slots = make(chan struct{}, DefaultMaxRunningJobs)
	}
	j.base, j.cancel = context.WithCancel(context.Background())
	return j, nil
}

// Close cancels the jobs this process runs in the background, waits for
// them to record their failure, and makes later background starts fail.
func (j *Jobs) Close() error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.cancel()
	j.wg.Wait()
	return nil
}

// Get returns the tenant's job id, or ErrNoJob. A job whose heartbeat
// expired is marked failed first.
func (j *Jobs) Get(ctx context.Context, id string) (Job, error) {
	db, tenant, err := j.scoped(ctx)
	if err != nil {
		return Job{}, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return Job{}, fmt.Errorf("%w: %q", ErrNoJob, id)
	}
	if err := j.expire(ctx, tenant); err != nil {
		return Job{}, err
	}
	var row JobRecord
	if err := db.Where("tenant_id = ? AND id = ?", tenant, id).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Job{}, fmt.Errorf("%w: %s", ErrNoJob, id)
		}
		return Job{}, fmt.Errorf("metalearn: job: %w", err)
	}
	return row.job(), nil
}

// Active returns the tenant's active job, if any, after expiring abandoned
// ones.
func (j *Jobs) Active(ctx context.Context) (Job, bool, error) {
	row, ok, err := j.active(ctx)
	if err != nil || !ok {
		return Job{}, false, err
	}
	return row.job(), true, nil
}

func (j *Jobs) active(ctx context.Context) (JobRecord, bool, error) {
	db, tenant, err := j.scoped(ctx)
	if err != nil {
		return JobRecord{}, false, err
	}
	if err := j.expire(ctx, tenant); err != nil {
		return JobRecord{}, false, err
	}
	var row JobRecord
	err = db.Where("tenant_id = ? AND status IN ?", tenant, []string{string(JobQueued), string(JobRunning)}).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return JobRecord{}, false, nil
	case err != nil:
		return JobRecord{}, false, fmt.Errorf("metalearn: active job: %w", err)
	}
	return row, true, nil
}

// scoped returns a session for the context's tenant.
func (j *Jobs) scoped(ctx context.Context) (*gorm.DB, string, error) {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return nil, "", fmt.Errorf("metalearn: jobs: %w", tenancy.ErrNoTenant)
	}
	return j.db.WithContext(ctx), tenant, nil
}

// errStopped is the error recorded for a job whose process shut down
// (Close) while it ran.
var errStopped = errors.New("stopped: the process running the job shut down")

// errAbandoned is the error recorded for a job whose heartbeat expired.
const errAbandoned = "abandoned: the process running the job stopped sending heartbeats"

// expire marks the tenant's active jobs whose heartbeat is older than the
// expiry failed.
func (j *Jobs) expire(ctx context.Context, tenant string) error {
	now := j.now().UTC()
	err := j.db.WithContext(ctx).Model(&JobRecord{}).
		Where("tenant_id = ? AND status IN ? AND heartbeat_at < ?", tenant, []string{string(JobQueued), string(JobRunning)}, now.Add(-j.expiry)).
		Updates(map[string]any{"status": string(JobFailed), "error": errAbandoned, "finished_at": now}).Error
	if err != nil {
		return fmt.Errorf("metalearn: expire jobs: %w", err)
	}
	return nil
}

// claim inserts an active job for the context's tenant, owned by this
// process. When the tenant already has an active job (in any process) it
// returns that job and false.
func (j *Jobs) claim(ctx context.Context, trigger string) (JobRecord, bool, error) {
	db, tenant, err := j.scoped(ctx)
	if err != nil {
		return JobRecord{}, false, err
	}
	for attempt := 0; attempt < 3; attempt++ {
		if err := j.expire(ctx, tenant); err != nil {
			return JobRecord{}, false, err
		}
		now := j.now().UTC()
		row := JobRecord{Model: tenancy.Model{TenantID: tenant}, ID: uuid.NewString(), Status: string(JobQueued),
			Trigger: trigger, Owner: j.owner, CreatedAt: now, HeartbeatAt: now}
		err := db.Create(&row).Error
		if err == nil {
			return row, true, nil
		}
		if !isUniqueViolation(err) {
			return JobRecord{}, false, fmt.Errorf("metalearn: submit job: %w", err)
		}
		cur, ok, err := j.active(ctx)
		if err != nil {
			return JobRecord{}, false, err
		}
		if ok {
			return cur, false, nil
		}
		// The active job ended between the insert and the read: try again.
	}
	return JobRecord{}, false, fmt.Errorf("metalearn: submit job: the tenant's active job kept changing")
}

// update writes fields of a job this process owns while it is active; it
// reports false when the job is no longer ours to write (it expired and
// was marked failed elsewhere).
func (j *Jobs) update(ctx context.Context, tenant, id string, fields map[string]any) (bool, error) {
	res := j.db.WithContext(ctx).Model(&JobRecord{}).
		Where("tenant_id = ? AND id = ? AND owner = ? AND status IN ?", tenant, id, j.owner, []string{string(JobQueued), string(JobRunning)}).
		Updates(fields)
	if res.Error != nil {
		return false, fmt.Errorf("metalearn: update job: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// trainWork is a job's training: it reports progress and returns the
// saved model's info.
type trainWork func(ctx context.Context, progress func(float64)) (ModelInfo, error)

// run runs work as job row (claimed by this process): it marks the job
// running, records heartbeats until work returns, writes progress, and
// records the result. Losing the job (its heartbeat expired and another
// process marked it failed) cancels work. ctx carries the tenant.
func (j *Jobs) run(ctx context.Context, row JobRecord, work trainWork) (Job, error) {
	tenant, log := row.TenantID, j.log.With(slog.String("tenant_id", row.TenantID), slog.String("job_id", row.ID))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Bookkeeping outlives a cancelled job: its end is written anyway.
	book := context.WithoutCancel(ctx)
	var mu sync.Mutex // guards row.Progress and lost
	lost := false
	beat := make(chan struct{})
	go func() { // heartbeats, while queued and while running
		defer close(beat)
		t := time.NewTicker(j.heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			ok, err := j.update(book, tenant, row.ID, map[string]any{"heartbeat_at": j.now().UTC()})
			if err != nil {
				log.Warn("training job heartbeat failed", slog.String("error", err.Error()))
				continue // the expiry tolerates a few misses
			}
			if !ok {
				mu.Lock()
				lost = true
				mu.Unlock()
				log.Warn("training job lost: it expired and was marked failed elsewhere")
				cancel()
				return
			}
		}
	}()
	started := j.now().UTC()
	var err error
	select {
	case j.slots <- struct{}{}:
		defer func() { <-j.slots }()
		started = j.now().UTC()
		var ok bool
		if ok, err = j.update(book, tenant, row.ID, map[string]any{"status": string(JobRunning), "started_at": started, "heartbeat_at": started}); err == nil && !ok {
			err = errors.New("metalearn: job: lost before it started")
		}
	case <-ctx.Done():
		err = fmt.Errorf("metalearn: job: stopped while queued: %w", context.Cause(ctx))
	}
	if err == nil {
		row.Status, row.StartedAt = string(JobRunning), &started
		log.Info("training job started", slog.String("trigger", row.Trigger))
		j.notify(tenant, row)
	}
	progress := func(p float64) {
		mu.Lock()
		if p <= row.Progress {
			mu.Unlock()
			return
		}
		row.Progress = p
		mu.Unlock()
		if _, err := j.update(book, tenant, row.ID, map[string]any{"progress": p}); err != nil {
			log.Warn("training job progress not recorded", slog.String("error", err.Error()))
		}
		log.Info("training job progress", slog.Float64("progress", p))
		j.notify(tenant, row)
	}
	var info ModelInfo
	if err == nil {
		info, err = work(ctx, progress)
	}
	cancel()
	<-beat
	finished := j.now().UTC()
	fields := map[string]any{"finished_at": finished, "heartbeat_at": finished}
	if err == nil {
		result, merr := json.Marshal(info)
		if merr != nil {
			err = fmt.Errorf("metalearn: job result: %w", merr)
		} else {
			fields["status"], fields["progress"], fields["result"] = string(JobSucceeded), 1.0, string(result)
		}
	}
	if err != nil && errors.Is(err, context.Canceled) && j.base.Err() != nil {
		err = errStopped
	}
	if err != nil {
		fields["status"], fields["error"] = string(JobFailed), jobError(err)
	}
	ok, uerr := j.update(book, tenant, row.ID, fields)
	mu.Lock()
	wasLost := lost || (uerr == nil && !ok)
	mu.Unlock()
	switch {
	case uerr != nil:
		log.Error("training job end not recorded; it will expire", slog.String("error", uerr.Error()))
		return row.job(), errors.Join(err, uerr)
	case wasLost:
		row.Status, row.Error = string(JobFailed), errAbandoned
		j.notify(tenant, row)
		return row.job(), fmt.Errorf("metalearn: job %s: %s", row.ID, errAbandoned)
	}
	row.FinishedAt = &finished
	if err != nil {
		row.Status, row.Error = string(JobFailed), jobError(err)
		log.Warn("training job failed", slog.String("error", row.Error), slog.Duration("took", finished.Sub(started)))
	} else {
		row.Status, row.Progress, row.Result = string(JobSucceeded), 1, fields["result"].(string)
		log.Info("training job succeeded", slog.Int("version", info.Version), slog.Duration("took", finished.Sub(started)))
	}
	j.notify(tenant, row)
	return row.job(), err
}

// jobError is the message recorded for a failed job: the error without
// the package prefix, at most 1000 bytes.
func jobError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "metalearn: ")
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	return msg
}

func (j *Jobs) notify(tenant string, row JobRecord) {
	if j.observe != nil {
		j.observe(tenant, row.job())
	}
}

// background runs fn in a goroutine tracked by Close, with a context that
// carries tenant and ends with Close (not with the caller's request).
func (j *Jobs) background(tenant string, fn func(ctx context.Context)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("metalearn: jobs closed")
	}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		fn(tenancy.WithTenant(j.base, tenant))
	}()
	return nil
}

// wait polls the tenant's job id until it ends or ctx does.
func (j *Jobs) wait(ctx context.Context, id string) (Job, error) {
	every := min(j.heartbeat/4, 250*time.Millisecond)
	for {
		job, err := j.Get(ctx, id)
		if err != nil || !job.Status.Active() {
			return job, err
		}
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-time.After(every):
		}
	}
}

func isUniqueViolation(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// Registry is the ML registry of one database. Every method works on the
// tenant carried by its context (tenancy.WithTenant) through the tenancy
// plugin, which the *gorm.DB given to New must have installed
// (db.Use(tenancy.NewPlugin())). A context without a tenant fails with
// tenancy.ErrNoTenant.
//
// A Registry is safe for concurrent use by multiple goroutines. On SQLite
// it runs its own write transactions one at a time (see the package
// documentation, "Concurrency").
type Registry struct {
	db      *gorm.DB
	blobs   BlobStore
	weights ScoreWeights
	scales  ScoreScales
	maxBlob int64
	now     func() time.Time

	// serial is set on SQLite, which allows one writer at a time: write
	// transactions that first read and then write would fail with
	// SQLITE_BUSY when two of them try to upgrade their locks at once (the
	// busy timeout does not help there), so the Registry runs its write
	// transactions one at a time. See "Concurrency" in doc.go.
	serial  bool
	writeMu sync.Mutex
	// sqliteRows is the number of metric points per INSERT on SQLite.
	sqliteRows int
	// maxResequence bounds the stored points a late metric batch moves.
	maxResequence int64
	// maxTeam is MaxTeamMembers; tests lower it.
	maxTeam int64
	// quota, when set, is checked in the transaction of every write that
	// adds to a tenant's use (see WithQuota).
	quota QuotaChecker
}

// Option configures a Registry. An option given an invalid value makes
// New fail with ValidationErrors (ErrInvalid).
type Option func(*Registry) error

// WithBlobStore sets the store that holds artifact content. Without one,
// content methods fail with ErrInvalid ("no blob store configured"). A nil
// store is invalid.
func WithBlobStore(s BlobStore) Option {
	return func(r *Registry) error {
		if s == nil {
			return invalid("blob_store", "must not be nil")
		}
		r.blobs = s
		return nil
	}
}

// WithScoreWeights sets the weights of the success score (see
// SuccessScore). They are validated: finite, non-negative, with a positive
// sum.
func WithScoreWeights(w ScoreWeights) Option {
	return func(r *Registry) error {
		if err := w.Validate(); err != nil {
			return err
		}
		r.weights = w
		return nil
	}
}

// WithScoreScales sets the reference scales of the success score (see
// SuccessScore). They are validated: finite and positive.
func WithScoreScales(s ScoreScales) Option {
	return func(r *Registry) error {
		if err := s.Validate(); err != nil {
			return err
		}
		r.scales = s
		return nil
	}
}

// WithMaxContentSize limits the size of one artifact's content in bytes
// (default DefaultMaxContentSize). Larger uploads fail with ErrTooLarge and
// store nothing.
func WithMaxContentSize(n int64) Option {
	return func(r *Registry) error {
		if n <= 0 {
			return invalid("max_content_size", "must be positive, not %d", n)
		}
		r.maxBlob = n
		return nil
	}
}

// WithClock sets the function the Registry reads the time from (default
// time.Now). Times are stored in UTC with microsecond precision. A nil
// clock is invalid.
func WithClock(now func() time.Time) Option {
	return func(r *Registry) error {
		if now == nil {
			return invalid("clock", "must not be nil")
		}
		r.now = now
		return nil
	}
}

// DefaultMaxContentSize is the default limit of one artifact's content:
// 256 MiB.
const DefaultMaxContentSize int64 = 256 << 20

// New returns a Registry on db. The schema must exist (see Migrate) and db
// must have the tenancy plugin installed (db.Use(tenancy.NewPlugin())):
// the Registry relies on it to scope every statement to the context's
// tenant, so a nil db, a db without the plugin or an invalid option is
// refused with ValidationErrors (ErrInvalid).
func New(db *gorm.DB, opts ...Option) (*Registry, error) {
	if db == nil {
		return nil, invalid("db", "must not be nil")
	}
	if db.Config == nil || db.Config.Plugins[tenancy.PluginName] == nil {
		return nil, invalid("db", "the tenancy plugin is not installed: call db.Use(tenancy.NewPlugin()) first; without it the registry would not scope its statements to a tenant")
	}
	r := &Registry{
		db:      db,
		weights: DefaultScoreWeights(),
		scales:  DefaultScoreScales(),
		maxBlob: DefaultMaxContentSize,
		now:     time.Now,

		sqliteRows:    sqliteRowsPerInsert,
		maxResequence: maxResequence,
		maxTeam:       MaxTeamMembers,
	}
	for _, o := range opts {
		if o == nil {
			return nil, invalid("option", "must not be nil")
		}
		if err := o(r); err != nil {
			return nil, err
		}
	}
	r.serial = db.Dialector.Name() == "sqlite"
	return r, nil
}

// ScoreWeights returns the success-score weights in use.
func (r *Registry) ScoreWeights() ScoreWeights { return r.weights }

// ScoreScales returns the success-score reference scales in use.
func (r *Registry) ScoreScales() ScoreScales { return r.scales }

// dbc returns the database handle bound to ctx. It fails fast with
// tenancy.ErrNoTenant when ctx carries no tenant; the plugin would refuse
// the work anyway.
func (r *Registry) dbc(ctx context.Context) (*gorm.DB, error) {
	if _, ok := tenancy.TenantFrom(ctx); !ok {
		return nil, fmt.Errorf("registry: %w", tenancy.ErrNoTenant)
	}
	return r.db.WithContext(ctx), nil
}

// tx runs fn in a write transaction bound to ctx.
func (r *Registry) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	db, err := r.dbc(ctx)
	if err != nil {
		return err
	}
	if r.serial {
		r.writeMu.Lock()
		defer r.writeMu.Unlock()
	}
	return db.Transaction(fn)
}

// readTx runs fn in a read-only unit of work bound to ctx: a transaction,
// because under PostgreSQL row-level security the tenancy plugin needs
// one to hand rows back through Rows and Scan. On PostgreSQL it is a
// READ ONLY, REPEATABLE READ transaction, so that all of fn's statements
// see one snapshot (under the default READ COMMITTED, a batch committed
// between two of them would be half visible); SQLite's read transactions
// see one snapshot anyway.
func (r *Registry) readTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	db, err := r.dbc(ctx)
	if err != nil {
		return err
	}
	if db.Dialector.Name() == "postgres" {
		return db.Transaction(fn, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	return db.Transaction(fn)
}

// timestamp returns the current time as stored: UTC, microseconds.
func (r *Registry) timestamp() time.Time { return r.now().UTC().Truncate(time.Microsecond) }

// newID returns a new time-ordered (version 7) UUID string, so that ordering
// by id orders by creation.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// validID reports whether s is a canonical UUID string. Ids that are not
// cannot exist and are reported as not found.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// dbErr maps database errors to the package's sentinels.
func dbErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	case isUniqueViolation(err):
		return fmt.Errorf("%w: %s already exists", ErrConflict, what)
	case isForeignKeyViolation(err):
		// Every write checks its parents first, in its transaction; a
		// foreign key fails only when a parent was deleted concurrently.
		return fmt.Errorf("%w: %s refers to a record that no longer exists", ErrNotFound, what)
	}
	return fmt.Errorf("registry: %s: %w", what, err)
}

func isForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
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

// Models returns one zero value of every tenant-owned model of the
// registry, for tenancy setup such as enabling row-level security or
// deleting a tenant's rows.
func Models() []any {
	return []any{
		&Project{}, &projectTag{}, &TeamMember{}, &ProcessMetric{},
		&Artifact{}, &artifactTag{}, &ArtifactUsage{},
		&Experiment{}, &Run{}, &metricPointTotal{}, &metricSeries{}, &metricPoint{},
		&RegisteredModel{}, &ModelVersion{}, &ModelAlias{}, &modelTag{}, &modelVersionTag{},
		&Prediction{},
		&TrackedExperiment{}, &TrackedRun{}, &experimentTag{}, &runTag{}, &DatasetInput{}, &runArtifact{},
		&LoggedModel{}, &loggedModelArtifact{}, &RunOutput{},
	}
}

// TenantTables returns the names of the registry's tenant-owned tables,
// children before parents, in an order in which rows can be deleted.
func TenantTables() []string {
	return []string{
		"run_outputs", "logged_model_artifacts", "logged_models",
		"run_artifacts", "run_inputs", "run_tags", "experiment_tags",
		"predictions", "model_version_tags", "registered_model_tags", "model_aliases", "model_versions", "registered_models",
		"metric_points", "metric_series", "metric_point_totals", "runs", "experiments",
		"artifact_usages", "artifact_tags", "artifacts",
		"process_metrics", "team_members", "project_tags", "projects",
	}
}

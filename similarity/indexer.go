package similarity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// Defaults of the Indexer.
const (
	// DefaultWriteBudget bounds how long a project write waits for its
	// embedding before it returns and leaves the project pending.
	DefaultWriteBudget = 5 * time.Second
	// DefaultDrainLimit is the most pending projects a query brings up to
	// date before it answers.
	DefaultDrainLimit = 100
	// MaxDrainLimit bounds WithDrainLimit.
	MaxDrainLimit = 10000
)

// maxLastError bounds the stored text of the last indexing error.
const maxLastError = 1000

// syncRounds bounds how often one project is processed again in a row
// when concurrent writes keep superseding the version being indexed.
const syncRounds = 3

// Indexer keeps a Service's index in step with the projects of a
// registry, durably and across processes.
//
// Project writes go through the Indexer (CreateProject, UpdateProject,
// DeleteProject), or through a transaction of the host's own that calls
// RecordTx. Every write that changes what is embedded records a row in the
// table similarity_pending in the same database transaction as the
// registry write: the write and its pending row commit together or not at
// all. After the commit the Indexer tries to bring the embedding up to
// date within a budget (WithWriteBudget) and deletes the row on success.
// A write never fails because the embedder is down; its row stays.
//
// Every query (Similar, SimilarText, SimilarSpec, Overlap) first brings
// the tenant's pending projects up to date, from the database, so a row
// left by any process is picked up by whichever process serves the
// tenant next, and answers reflect every write that returned. While the
// embedder is still down (or more than WithDrainLimit projects wait), the
// query fails with ErrUnavailable. Run (or DrainAll) works through every
// tenant's rows in the background.
//
// Index work is idempotent: it indexes the registry's current version of
// the project, and commits the embedding only while the pending row still
// names the write it started from (the row is locked for that short
// transaction), so two processes working on one row at once store one
// consistent result and never lose a later write.
//
// The registry and the Service must use one database. An Indexer is safe
// for concurrent use.
type Indexer struct {
	reg    *registry.Registry
	svc    *Service
	budget time.Duration
	limit  int
	log    *slog.Logger
	now    func() time.Time
	list   func(context.Context) ([]string, error)

	locks keyedLocks
}

// IndexerOption configures an Indexer.
type IndexerOption func(*Indexer) error

// WithWriteBudget bounds how long a project write waits, after its commit,
// for the project's embedding (default DefaultWriteBudget). Past the budget
// the write returns and the project stays pending. The budget must be
// positive.
func WithWriteBudget(d time.Duration) IndexerOption {
	return func(ix *Indexer) error {
		if d <= 0 {
			return fmt.Errorf("%w: write budget %v is not positive", ErrInvalid, d)
		}
		ix.budget = d
		return nil
	}
}

// WithDrainLimit sets the most pending projects one query brings up to
// date before answering (default DefaultDrainLimit, at most MaxDrainLimit).
// A tenant with more pending projects gets ErrUnavailable until they are
// worked through (by later queries or Run).
func WithDrainLimit(n int) IndexerOption {
	return func(ix *Indexer) error {
		if n < 1 || n > MaxDrainLimit {
			return fmt.Errorf("%w: drain limit %d not in [1, %d]", ErrInvalid, n, MaxDrainLimit)
		}
		ix.limit = n
		return nil
	}
}

// WithIndexerLogger sets where the Indexer reports index work that failed
// after a write and in Run (default slog.Default()).
func WithIndexerLogger(l *slog.Logger) IndexerOption {
	return func(ix *Indexer) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalid)
		}
		ix.log = l
		return nil
	}
}

// WithIndexerClock sets the clock of the queued and attempt times (default
// time.Now).
func WithIndexerClock(now func() time.Time) IndexerOption {
	return func(ix *Indexer) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		ix.now = now
		return nil
	}
}

// WithTenantLister sets how DrainAll (and Run) find the tenants to drain.
// By default they read the distinct tenants of similarity_pending on a
// tenancy.CrossTenant context, which needs a connection that may read
// across tenants: SQLite, a PostgreSQL role that bypasses row-level
// security, or policies made with tenancy.RLSConfig.AllowCrossTenant. An
// application role under plain row-level security sees no rows that way;
// give it a lister instead (every tenant, say, from tenancy.Manager).
func WithTenantLister(list func(ctx context.Context) ([]string, error)) IndexerOption {
	return func(ix *Indexer) error {
		if list == nil {
			return fmt.Errorf("%w: nil tenant lister", ErrInvalid)
		}
		ix.list = list
		return nil
	}
}

// NewIndexer returns an Indexer that keeps svc's index in step with the
// projects of reg. Both must work on one database, whose schema includes
// this package's tables at SchemaVersion (Migrate). It reports ErrInvalid
// for a nil registry or Service and for an invalid option.
func NewIndexer(reg *registry.Registry, svc *Service, opts ...IndexerOption) (*Indexer, error) {
	switch {
	case reg == nil:
		return nil, fmt.Errorf("%w: nil registry", ErrInvalid)
	case svc == nil:
		return nil, fmt.Errorf("%w: nil Service", ErrInvalid)
	}
	ix := &Indexer{reg: reg, svc: svc, budget: DefaultWriteBudget, limit: DefaultDrainLimit,
		log: slog.Default(), now: time.Now}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(ix); err != nil {
			return nil, err
		}
	}
	return ix, nil
}

// Service returns the Indexer's Service.
func (ix *Indexer) Service() *Service { return ix.svc }

// CreateProject creates a project in the registry and records it as
// pending in the same transaction, then indexes it (see Indexer). The
// registry's errors are returned unchanged; an index failure is not an
// error of the write.
func (ix *Indexer) CreateProject(ctx context.Context, in registry.ProjectInput) (*registry.Project, error) {
	var p *registry.Project
	err := ix.reg.Transaction(ctx, func(tx *gorm.DB, reg *registry.Registry) error {
		var err error
		if p, err = reg.CreateProject(ctx, in); err != nil {
			return err
		}
		return ix.RecordTx(ctx, tx, p.ID)
	})
	if err != nil {
		return nil, err
	}
	ix.afterWrite(ctx, p.ID)
	return p, nil
}

// UpdateProject applies patch in the registry and, when the patch changes
// the name, description or spec, records the project as pending in the
// same transaction and re-indexes it.
func (ix *Indexer) UpdateProject(ctx context.Context, id string, patch registry.ProjectPatch) (*registry.Project, error) {
	if patch.Name == nil && patch.Description == nil && patch.Spec == nil {
		return ix.reg.UpdateProject(ctx, id, patch)
	}
	var p *registry.Project
	err := ix.reg.Transaction(ctx, func(tx *gorm.DB, reg *registry.Registry) error {
		var err error
		if p, err = reg.UpdateProject(ctx, id, patch); err != nil {
			return err
		}
		return ix.RecordTx(ctx, tx, p.ID)
	})
	if err != nil {
		return nil, err
	}
	ix.afterWrite(ctx, p.ID)
	return p, nil
}

// DeleteProject deletes a project from the registry and records it as
// pending in the same transaction, then removes its embedding.
func (ix *Indexer) DeleteProject(ctx context.Context, id string) error {
	err := ix.reg.Transaction(ctx, func(tx *gorm.DB, reg *registry.Registry) error {
		if err := reg.DeleteProject(ctx, id); err != nil {
			return err
		}
		return ix.RecordTx(ctx, tx, id)
	})
	if err != nil {
		return err
	}
	ix.afterWrite(ctx, id)
	return nil
}

// RecordTx records project projectID of the context's tenant as pending
// with tx, for hosts that write projects in a transaction of their own
// (registry.Registry.Transaction): call it in the transaction of every
// write that changes a project's name, description or spec, or deletes
// it, then call Sync after the commit. Recording a project already pending
// replaces the write it names.
func (ix *Indexer) RecordTx(ctx context.Context, tx *gorm.DB, projectID string) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	if err := validProjectID(projectID); err != nil {
		return err
	}
	row := PendingProject{
		Model:     tenancy.Model{TenantID: tenant},
		ProjectID: projectID,
		Token:     uuid.NewString(),
		QueuedAt:  ix.now().UTC().Truncate(time.Microsecond),
	}
	err = tx.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "project_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"token", "queued_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("similarity: record pending project: %w", err)
	}
	return nil
}

// Record records project projectID of the context's tenant as pending in a
// transaction of its own. It is for projects written without the Indexer
// (an import, a host that has not moved its writes to RecordTx yet): the
// record is durable but not atomic with the write, so a crash between the
// two loses it. Call Sync afterwards, or let the next query pick it up.
func (ix *Indexer) Record(ctx context.Context, projectID string) error {
	return ix.reg.Transaction(ctx, func(tx *gorm.DB, _ *registry.Registry) error {
		return ix.RecordTx(ctx, tx, projectID)
	})
}

// afterWrite brings the embedding of a project that was just written up to
// date. It is not cancelled with ctx — the write is done, and a caller
// that goes away must not leave the index behind — but it is bounded by
// the write budget. A failure is logged; the row stays pending.
func (ix *Indexer) afterWrite(ctx context.Context, projectID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ix.budget)
	defer cancel()
	if err := ix.Sync(ctx, projectID); err != nil {
		ix.log.LogAttrs(ctx, slog.LevelWarn, "similarity index not updated; the project stays pending",
			slog.String("project_id", projectID), slog.String("error", err.Error()))
	}
}

// Sync brings the embedding of project projectID of the context's tenant
// in line with the registry if the project is pending, and deletes its
// pending row on success. A project that is not pending is left alone.
func (ix *Indexer) Sync(ctx context.Context, projectID string) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	row, ok, err := ix.pendingRow(ctx, tenant, projectID)
	if err != nil || !ok {
		return err
	}
	return ix.syncRow(ctx, row)
}

// Pending returns the pending projects of the context's tenant, oldest
// first, at most limit of them (1 to MaxDrainLimit).
func (ix *Indexer) Pending(ctx context.Context, limit int) ([]PendingProject, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxDrainLimit {
		return nil, fmt.Errorf("%w: limit %d not in [1, %d]", ErrInvalid, limit, MaxDrainLimit)
	}
	return ix.pendingRows(ctx, tenant, limit)
}

func (ix *Indexer) pendingRows(ctx context.Context, tenant string, limit int) ([]PendingProject, error) {
	var rows []PendingProject
	if err := ix.svc.db.WithContext(ctx).Where("tenant_id = ?", tenant).
		Order("queued_at, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("similarity: read pending projects: %w", err)
	}
	return rows, nil
}

func (ix *Indexer) pendingRow(ctx context.Context, tenant, projectID string) (PendingProject, bool, error) {
	var row PendingProject
	err := ix.svc.db.WithContext(ctx).Where("tenant_id = ? AND project_id = ?", tenant, projectID).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return PendingProject{}, false, nil
	case err != nil:
		return PendingProject{}, false, fmt.Errorf("similarity: read pending project: %w", err)
	}
	return row, true, nil
}

// Drain brings the pending projects of the context's tenant up to date,
// oldest first, at most the drain limit of them. It fails with an error
// wrapping ErrUnavailable (and the cause) at the first project it cannot
// index, or when more projects are pending than the limit.
func (ix *Indexer) Drain(ctx context.Context) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	rows, err := ix.pendingRows(ctx, tenant, ix.limit+1)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	more := len(rows) > ix.limit
	if more {
		rows = rows[:ix.limit]
	}
	for _, r := range rows {
		if err := ix.syncRow(ctx, r); err != nil {
			return fmt.Errorf("%w: project %s: %w", ErrUnavailable, r.ProjectID, err)
		}
	}
	if more {
		return fmt.Errorf("%w: %w (more than %d)", ErrUnavailable, errBacklog, ix.limit)
	}
	return nil
}

// DrainAll drains every tenant's pending projects (see Drain) and returns
// how many tenants had any. It finds the tenants with WithTenantLister's
// function or, by default, by reading the tenants with pending rows on a
// tenancy.CrossTenant context (see WithTenantLister); a context that
// carries a tenant drains that tenant only. Errors of single tenants are joined; the others are still
// drained.
func (ix *Indexer) DrainAll(ctx context.Context) (int, error) {
	var tenants []string
	if t, ok := tenancy.TenantFrom(ctx); ok {
		tenants = []string{t}
	} else if ix.list != nil {
		var err error
		if tenants, err = ix.list(ctx); err != nil {
			return 0, fmt.Errorf("similarity: list tenants: %w", err)
		}
	} else {
		xctx := tenancy.CrossTenant(ctx, "similarity: bring pending project embeddings up to date")
		if err := ix.svc.db.WithContext(xctx).Model(&PendingProject{}).
			Distinct("tenant_id").Order("tenant_id").Pluck("tenant_id", &tenants).Error; err != nil {
			return 0, fmt.Errorf("similarity: list tenants with pending projects: %w", err)
		}
	}
	var errs []error
	n := 0
	for _, t := range tenants {
		tctx := tenancy.WithTenant(ctx, t)
		rows, err := ix.pendingRows(tctx, t, 1)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
			continue
		}
		if len(rows) == 0 {
			continue
		}
		n++
		// A tenant with more rows than the limit is drained in rounds.
		for {
			err = ix.Drain(tctx)
			if !errors.Is(err, errBacklog) || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
		}
	}
	return n, errors.Join(errs...)
}

// Run calls DrainAll every interval until ctx is done, logging failures,
// and returns ctx's error. A host runs it in one or more processes so
// that pending projects are indexed even while nobody queries.
func (ix *Indexer) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("%w: interval %v is not positive", ErrInvalid, every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := ix.DrainAll(ctx); err != nil && ctx.Err() == nil {
			ix.log.LogAttrs(ctx, slog.LevelWarn, "similarity: pending projects not indexed yet",
				slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// errBacklog reports a drain that stopped at the drain limit with more
// pending projects left.
var errBacklog = errors.New("more project writes are waiting to be indexed than one query handles")

// errSuperseded reports that the pending row no longer names the write
// whose version was prepared: it was done by someone else, or a newer
// write replaced it.
var errSuperseded = errors.New("similarity: pending write superseded")

// syncRow brings one pending project up to date under the project's lock
// in this process, and again while concurrent writes supersede it.
func (ix *Indexer) syncRow(ctx context.Context, row PendingProject) error {
	unlock, err := ix.locks.lock(ctx, row.TenantID+"\x00"+row.ProjectID)
	if err != nil {
		return err
	}
	defer unlock()
	for range syncRounds {
		err := ix.process(ctx, row)
		if !errors.Is(err, errSuperseded) {
			if err != nil {
				ix.recordFailure(ctx, row, err)
			}
			return err
		}
		var ok bool
		if row, ok, err = ix.pendingRow(ctx, row.TenantID, row.ProjectID); err != nil || !ok {
			return err // done meanwhile, by this or another process
		}
	}
	return fmt.Errorf("similarity: project %s: writes keep superseding its index work; retried later", row.ProjectID)
}

// process indexes the registry's current version of a pending project and
// commits the result with the removal of the row, if the row still names
// the write it was read with.
func (ix *Indexer) process(ctx context.Context, row PendingProject) error {
	tenant, id := row.TenantID, row.ProjectID
	// The pending row was read first, so the registry now holds that
	// write or a later one.
	plan, err := ix.planFor(ctx, ix.reg, tenant, id)
	if err != nil {
		return err
	}
	ti := ix.svc.entry(tenant)
	ti.wmu.Lock()
	defer ti.wmu.Unlock()
	var rev int64
	err = ix.reg.Transaction(ctx, func(tx *gorm.DB, reg *registry.Registry) error {
		// Lock the row (a write comes first, so SQLite takes its write
		// lock at once): a concurrent writer's upsert of this row waits
		// for this transaction and then names a new write.
		res := tx.Model(&PendingProject{}).
			Where("tenant_id = ? AND project_id = ? AND token = ?", tenant, id, row.Token).
			Update("attempts", gorm.Expr("attempts"))
		if res.Error != nil {
			return fmt.Errorf("similarity: lock pending project: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errSuperseded
		}
		// The project must still be the version prepared ("" for one
		// that is gone).
		cur, err := reg.GetProject(ctx, id)
		text := ""
		switch {
		case errors.Is(err, registry.ErrNotFound):
		case err != nil:
			return err
		default:
			text = ComposeText(cur.Name, cur.Description, cur.Spec)
		}
		if text != plan.text {
			return errSuperseded
		}
		if err := ix.svc.applyTx(tx, plan); err != nil {
			return err
		}
		if !plan.unchanged {
			if rev, err = bumpRevision(tx, tenant); err != nil {
				return err
			}
		}
		if err := tx.Where("tenant_id = ? AND project_id = ? AND token = ?", tenant, id, row.Token).
			Delete(&PendingProject{}).Error; err != nil {
			return fmt.Errorf("similarity: delete pending project: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ix.svc.applyCache(plan, rev)
	return nil
}

// planFor prepares the index work for the registry's current version of
// project id: its embedding, or its removal when the project is gone (or
// has nothing to embed).
func (ix *Indexer) planFor(ctx context.Context, reg *registry.Registry, tenant, id string) (indexPlan, error) {
	p, err := reg.GetProject(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		return planRemove(tenant, id), nil
	}
	if err != nil {
		return indexPlan{}, err
	}
	plan, err := ix.svc.plan(ctx, tenant, p.ID, p.Name, p.Description, p.Spec)
	if errors.Is(err, errNoText) {
		return planRemove(tenant, id), nil
	}
	return plan, err
}

// recordFailure counts a failed attempt on the pending row, if it still
// names the same write. It is best effort: the row stays pending either
// way.
func (ix *Indexer) recordFailure(ctx context.Context, row PendingProject, cause error) {
	msg := cause.Error()
	if len(msg) > maxLastError {
		msg = msg[:maxLastError]
	}
	now := ix.now().UTC().Truncate(time.Microsecond)
	// A done context must not keep the failure from being recorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Through the registry's transaction, which SQLite serialises with
	// the registry's own writes.
	err := ix.reg.Transaction(ctx, func(tx *gorm.DB, _ *registry.Registry) error {
		return tx.Model(&PendingProject{}).
			Where("tenant_id = ? AND project_id = ? AND token = ?", row.TenantID, row.ProjectID, row.Token).
			Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_error": msg, "last_attempt_at": now}).Error
	})
	if err != nil {
		ix.log.LogAttrs(ctx, slog.LevelWarn, "similarity: pending project failure not recorded",
			slog.String("project_id", row.ProjectID), slog.String("error", err.Error()))
	}
}

// ensureIndexed records a project that exists but has no embedding (it
// was written before the Indexer ran, or around it) as pending and indexes
// it.
func (ix *Indexer) ensureIndexed(ctx context.Context, id string) error {
	if err := ix.Record(ctx, id); err != nil {
		return err
	}
	if err := ix.Sync(ctx, id); err != nil {
		return fmt.Errorf("%w: project %s: %w", ErrUnavailable, id, err)
	}
	return nil
}

// Similar is Service.Similar after Drain. The project must exist in the
// registry (the registry's ErrNotFound otherwise); a project that exists
// but has no embedding is indexed first.
func (ix *Indexer) Similar(ctx context.Context, projectID string, k int) ([]Match, error) {
	if _, err := ix.reg.GetProject(ctx, projectID); err != nil {
		return nil, err
	}
	if err := ix.Drain(ctx); err != nil {
		return nil, err
	}
	ms, err := ix.svc.Similar(ctx, projectID, k)
	if errors.Is(err, ErrNotIndexed) {
		if err := ix.ensureIndexed(ctx, projectID); err != nil {
			return nil, err
		}
		ms, err = ix.svc.Similar(ctx, projectID, k)
	}
	return ms, err
}

// SimilarText is Service.SimilarText after Drain.
func (ix *Indexer) SimilarText(ctx context.Context, text string, k int) ([]Match, error) {
	return ix.SimilarSpec(ctx, text, registry.Spec{}, k)
}

// SimilarSpec is Service.SimilarSpec after Drain; a spec beyond the
// bounds of registry.Spec.Validate is refused before either.
func (ix *Indexer) SimilarSpec(ctx context.Context, text string, spec registry.Spec, k int) ([]Match, error) {
	if err := validK(k); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := ix.Drain(ctx); err != nil {
		return nil, err
	}
	return ix.svc.SimilarSpec(ctx, text, spec, k)
}

// Overlap is Service.Overlap after Drain; a spec beyond the bounds of
// registry.Spec.Validate is refused before either. The project must exist in the
// registry (the registry's ErrNotFound otherwise); a project that exists
// but has no embedding is indexed first.
func (ix *Indexer) Overlap(ctx context.Context, spec registry.Spec, projectID string) (*OverlapReport, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if _, err := ix.reg.GetProject(ctx, projectID); err != nil {
		return nil, err
	}
	if err := ix.Drain(ctx); err != nil {
		return nil, err
	}
	rep, err := ix.svc.Overlap(ctx, spec, projectID)
	if errors.Is(err, ErrNotIndexed) {
		if err := ix.ensureIndexed(ctx, projectID); err != nil {
			return nil, err
		}
		rep, err = ix.svc.Overlap(ctx, spec, projectID)
	}
	return rep, err
}

// ForgetTenant drops what the Indexer holds in memory about a deleted
// tenant (its cached matrix). It has the signature of a
// tenancy.DeleteHook; the tenant's pending rows are deleted with its other
// rows when Models is among the tenant models.
func (ix *Indexer) ForgetTenant(ctx context.Context, tenantID string) error {
	return ix.svc.Invalidate(tenancy.WithTenant(ctx, tenantID))
}

// keyedLocks is a set of mutexes by key, created on demand and dropped
// when unused; lock waits can be cancelled.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

// lock locks key and returns the unlock function, or ctx's error when ctx
// ends first.
func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; k.release(key, l) }, nil
	case <-ctx.Done():
		k.release(key, l)
		return nil, ctx.Err()
	}
}

func (k *keyedLocks) release(key string, l *keyLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(k.m, key)
	}
}

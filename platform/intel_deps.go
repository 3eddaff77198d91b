package platform

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/staticembed"
	"github.com/maestro-ml/maestro/tenancy"
)

// Settings of the OpenAI-compatible embedder. A similarity request waits
// for the provider, so it fails fast: two retries with a short backoff,
// then 503, instead of the library's patient defaults meant for batch work.
const (
	embedRetries        = 2
	embedBackoffInitial = 100 * time.Millisecond
	embedBackoffMax     = time.Second
	embedRequestTimeout = 10 * time.Second
	// indexWriteBudget bounds how long a project write waits for its
	// embedding. A provider that hangs must not hang project writes: past
	// the budget the write answers and the project is left pending.
	indexWriteBudget = 5 * time.Second
	// indexLockStripes is the number of mutexes that serialise the index
	// work of projects (see lockProject).
	indexLockStripes = 64
)

// intelDeps is the server's intelligence: meta-models trained on each
// tenant's completed projects (package metalearn) and similarity search
// over project specifications (package similarity). It is safe for
// concurrent use.
type intelDeps struct {
	reg     *registry.Registry
	log     *slog.Logger
	emb     similarity.Embedder
	sim     *similarity.Service
	models  *metalearn.Store
	history *metalearn.RegistryHistory
	trainer *metalearn.Retrainer
	rec     *metalearn.Recommender

	// pending holds, per tenant, the projects whose embedding could not be
	// updated when they were written (the embeddings service was down).
	// Every similarity query of the tenant first brings them up to date,
	// so answers reflect every write that returned — or the query answers
	// 503 while the service is still down.
	mu      sync.Mutex
	pending map[string]map[string]struct{}

	// locks serialise the index work of each project (see lockProject).
	locks [indexLockStripes]sync.Mutex
}

// newIntelDeps builds the embedder chosen by the configuration, the
// similarity service, the model store, the trainer and the recommender on
// the server's database and registry. Their schema must exist (prepare
// migrates it).
func newIntelDeps(s *Server, reg *registry.Registry, emb similarity.Embedder) (*intelDeps, error) {
	if emb == nil {
		var err error
		if emb, err = newEmbedder(s.cfg); err != nil {
			return nil, err
		}
	}
	sim, err := similarity.NewService(s.db, emb)
	if err != nil {
		return nil, fmt.Errorf("similarity: %w", err)
	}
	store := metalearn.NewStore(s.db, metalearn.WithStoreClock(s.now))
	history := metalearn.NewRegistryHistory(reg)
	return &intelDeps{
		reg:     reg,
		log:     s.log,
		emb:     emb,
		sim:     sim,
		models:  store,
		history: history,
		trainer: metalearn.NewRetrainer(history, store,
			metalearn.WithTrainOptions(metalearn.WithClock(s.now))),
		rec:     metalearn.NewRecommender(store),
		pending: map[string]map[string]struct{}{},
	}, nil
}

// newEmbedder returns the OpenAI-compatible embedder at
// MAESTRO_EMBEDDINGS_URL (model MAESTRO_EMBEDDINGS_MODEL, required then;
// key MAESTRO_EMBEDDINGS_API_KEY, optional), or the built-in offline
// embedder when no URL is configured: staticembed, all-MiniLM-L6-v2
// distilled into static token vectors, which needs no service and ranks
// specs far better than a lexical embedder (docs/similarity.md).
func newEmbedder(cfg Config) (similarity.Embedder, error) {
	if cfg.EmbeddingsURL == "" {
		return staticembed.New()
	}
	if cfg.EmbeddingsModel == "" {
		return nil, fmt.Errorf("%s is required when %s is set", envEmbeddingsModel, envEmbeddingsURL)
	}
	opts := []similarity.OpenAIOption{
		similarity.WithRetries(embedRetries),
		similarity.WithBackoff(embedBackoffInitial, embedBackoffMax),
		similarity.WithRequestTimeout(embedRequestTimeout),
	}
	if cfg.EmbeddingsAPIKey != "" {
		opts = append(opts, similarity.WithAPIKey(cfg.EmbeddingsAPIKey))
	}
	emb, err := similarity.NewOpenAIEmbedder(cfg.EmbeddingsURL, cfg.EmbeddingsModel, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envEmbeddingsURL, err)
	}
	return emb, nil
}

// projectWritten brings the embedding of project id in line with the
// registry after a create, update or delete answered by the registry (see
// refresh). A failure does not fail the write — the registry is the
// record, the index is derived from it: the project's stale embedding is
// dropped, the project is remembered as pending, and the tenant's next
// similarity query retries (see syncPending).
//
// The work is not cancelled with the request — the registry write is done,
// and a client that hangs up must not leave the index behind it — but it
// is bounded by indexWriteBudget.
func (d *intelDeps) projectWritten(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	unlock := d.lockProject(ctx, id)
	defer unlock()
	ictx, cancel := context.WithTimeout(ctx, indexWriteBudget)
	err := d.refresh(ictx, id)
	cancel()
	if err == nil {
		d.unmarkPending(ctx, id)
		return
	}
	d.log.LogAttrs(ctx, slog.LevelWarn, "similarity index not updated; retried on the next query",
		slog.String("project_id", id), slog.String("error", err.Error()))
	if rerr := d.sim.Remove(ctx, id); rerr != nil {
		d.log.LogAttrs(ctx, slog.LevelWarn, "stale embedding not removed",
			slog.String("project_id", id), slog.String("error", rerr.Error()))
	}
	d.markPending(ctx, id)
}

// refresh stores the embedding of project id as the registry holds it
// now, or removes it when the project no longer exists. Callers hold the
// project's lock (lockProject): reading the registry under the lock,
// rather than indexing the version a handler wrote, makes the last
// refresh of concurrent writes index the last committed version.
func (d *intelDeps) refresh(ctx context.Context, id string) error {
	p, err := d.reg.GetProject(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		return d.sim.Remove(ctx, id)
	}
	if err != nil {
		return err
	}
	return d.sim.Index(ctx, p.ID, p.Name, p.Description, p.Spec)
}

// lockProject locks the index work of project id of the context's tenant
// and returns the unlock function. Projects share indexLockStripes
// mutexes by hash, so the locks take fixed memory.
func (d *intelDeps) lockProject(ctx context.Context, id string) func() {
	tenant, _ := tenancy.TenantFrom(ctx)
	h := fnv.New32a()
	_, _ = h.Write([]byte(tenant))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(id))
	m := &d.locks[h.Sum32()%indexLockStripes]
	m.Lock()
	return m.Unlock
}

// markPending remembers that project id of the context's tenant needs its
// embedding brought up to date.
func (d *intelDeps) markPending(ctx context.Context, id string) {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending[tenant] == nil {
		d.pending[tenant] = map[string]struct{}{}
	}
	d.pending[tenant][id] = struct{}{}
}

// unmarkPending forgets that project id is pending.
func (d *intelDeps) unmarkPending(ctx context.Context, id string) {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pending[tenant], id)
	if len(d.pending[tenant]) == 0 {
		delete(d.pending, tenant)
	}
}

// forgetTenant drops what the server holds in memory about a deleted
// tenant: its similarity matrix and its pending projects. It is a
// tenancy.DeleteHook; the tenant's rows are gone when it runs.
func (d *intelDeps) forgetTenant(ctx context.Context, tenantID string) error {
	d.mu.Lock()
	delete(d.pending, tenantID)
	d.mu.Unlock()
	return d.sim.Invalidate(tenancy.WithTenant(ctx, tenantID))
}

// syncPending brings the embeddings of the context tenant's pending
// projects up to date: indexed again from the registry, or removed when
// the project is gone. It stops at the first failure, which the caller
// answers (503 when the embeddings service is still down).
func (d *intelDeps) syncPending(ctx context.Context) error {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return tenancy.ErrNoTenant
	}
	d.mu.Lock()
	ids := make([]string, 0, len(d.pending[tenant]))
	for id := range d.pending[tenant] {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	for _, id := range ids {
		if err := d.refreshLocked(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// refreshLocked refreshes project id under its lock and, on success,
// forgets that it was pending.
func (d *intelDeps) refreshLocked(ctx context.Context, id string) error {
	unlock := d.lockProject(ctx, id)
	defer unlock()
	if err := d.refresh(ctx, id); err != nil {
		return err
	}
	d.unmarkPending(ctx, id)
	return nil
}

// similarTo returns up to k projects most similar to project id (which
// must exist: 404 otherwise), indexing it first if it has no embedding.
func (d *intelDeps) similarTo(ctx context.Context, id string, k int) ([]similarity.Match, error) {
	if _, err := d.reg.GetProject(ctx, id); err != nil {
		return nil, err
	}
	if err := d.syncPending(ctx); err != nil {
		return nil, err
	}
	ms, err := d.sim.Similar(ctx, id, k)
	if errors.Is(err, similarity.ErrNotIndexed) {
		if err := d.refreshLocked(ctx, id); err != nil {
			return nil, err
		}
		ms, err = d.sim.Similar(ctx, id, k)
	}
	return ms, err
}

// similarToSpec returns up to k projects most similar to a spec and free
// text.
func (d *intelDeps) similarToSpec(ctx context.Context, text string, spec registry.Spec, k int) ([]similarity.Match, error) {
	if err := d.syncPending(ctx); err != nil {
		return nil, err
	}
	return d.sim.SimilarSpec(ctx, text, spec, k)
}

// overlap compares spec with project id (404 when unknown), indexing the
// project first if it has no embedding.
func (d *intelDeps) overlap(ctx context.Context, spec registry.Spec, id string) (*similarity.OverlapReport, error) {
	if _, err := d.reg.GetProject(ctx, id); err != nil {
		return nil, err
	}
	if err := d.syncPending(ctx); err != nil {
		return nil, err
	}
	rep, err := d.sim.Overlap(ctx, spec, id)
	if errors.Is(err, similarity.ErrNotIndexed) {
		if err := d.refreshLocked(ctx, id); err != nil {
			return nil, err
		}
		rep, err = d.sim.Overlap(ctx, spec, id)
	}
	return rep, err
}

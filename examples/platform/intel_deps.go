package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

// Settings of the OpenAI-compatible embedder. A similarity request waits
// for the provider, so it fails fast: two retries with a short backoff,
// then 503, instead of the library's patient defaults meant for batch work.
const (
	embedRetries        = 2
	embedBackoffInitial = 100 * time.Millisecond
	embedBackoffMax     = time.Second
	embedRequestTimeout = 15 * time.Second
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
}

// newIntelDeps builds the embedder chosen by the configuration, the
// similarity service, the model store, the trainer and the recommender on
// the server's database and registry. Their schema must exist (prepare
// migrates it).
func newIntelDeps(s *server, reg *registry.Registry) (*intelDeps, error) {
	emb, err := newEmbedder(s.cfg)
	if err != nil {
		return nil, err
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
// embedder when no URL is configured.
func newEmbedder(cfg config) (similarity.Embedder, error) {
	if cfg.EmbeddingsURL == "" {
		return similarity.NewHashingEmbedder(0)
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

// indexProject updates p's embedding after a write. A failure does not
// fail the write — the registry is the record, the index is derived from
// it — but the project is remembered as pending, its stale embedding is
// dropped, and the tenant's next similarity query retries (see
// syncPending).
//
// The work is not cancelled with the request: the registry write is done,
// and a client that hangs up must not leave the index behind it.
func (d *intelDeps) indexProject(ctx context.Context, p *registry.Project) {
	ctx = context.WithoutCancel(ctx)
	err := d.sim.Index(ctx, p.ID, p.Name, p.Description, p.Spec)
	if err == nil {
		d.unmarkPending(ctx, p.ID)
		return
	}
	d.log.LogAttrs(ctx, slog.LevelWarn, "similarity index not updated; retried on the next query",
		slog.String("project_id", p.ID), slog.String("error", err.Error()))
	if rerr := d.sim.Remove(ctx, p.ID); rerr != nil {
		d.log.LogAttrs(ctx, slog.LevelWarn, "stale embedding not removed",
			slog.String("project_id", p.ID), slog.String("error", rerr.Error()))
	}
	d.markPending(ctx, p.ID)
}

// removeProject drops a deleted project's embedding; on failure the
// project is left pending, and the next query removes it.
func (d *intelDeps) removeProject(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	if err := d.sim.Remove(ctx, id); err != nil {
		d.log.LogAttrs(ctx, slog.LevelWarn, "embedding of a deleted project not removed",
			slog.String("project_id", id), slog.String("error", err.Error()))
		d.markPending(ctx, id)
	}
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
		if err := d.reindex(ctx, id); err != nil {
			return err
		}
		d.unmarkPending(ctx, id)
	}
	return nil
}

// reindex stores the current embedding of project id, or removes it when
// the project no longer exists.
func (d *intelDeps) reindex(ctx context.Context, id string) error {
	p, err := d.reg.GetProject(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		return d.sim.Remove(ctx, id)
	}
	if err != nil {
		return err
	}
	return d.sim.Index(ctx, p.ID, p.Name, p.Description, p.Spec)
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
		if err := d.reindex(ctx, id); err != nil {
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
		if err := d.reindex(ctx, id); err != nil {
			return nil, err
		}
		rep, err = d.sim.Overlap(ctx, spec, id)
	}
	return rep, err
}

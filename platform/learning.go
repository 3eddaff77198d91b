package platform

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/minilm"
	"github.com/maestro-ml/maestro/similarity/staticembed"
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
	// inProcessDrainLimit is the most pending projects a similarity query
	// embeds before it answers when the embedder runs in the process
	// (minilm, about 70 ms of CPU a spec): about a second at most, so that
	// no query waits on a whole tenant's backlog; the background drain
	// (Serve) works through the rest, and a query meanwhile is a 503 with
	// Retry-After.
	inProcessDrainLimit = 16
	// indexRetryAfter is the Retry-After of a 503 for a similarity query
	// whose tenant still has project writes waiting to be indexed.
	indexRetryAfter = 5 * time.Second
)

// learning is the server's machine learning: meta-models trained on each
// tenant's completed projects (package metalearn) and similarity search
// over project specifications (package similarity). It is safe for
// concurrent use.
type learning struct {
	reg     *registry.Registry
	log     *slog.Logger
	emb     similarity.Embedder
	sim     *similarity.Service
	models  *metalearn.Store
	history *metalearn.RegistryHistory
	trainer *metalearn.Retrainer
	rec     *metalearn.Recommender
	// jobs are the training jobs, shared through the database by every
	// replica: at most one active per tenant, and a replica that dies
	// mid-job leaves it to expire (see metalearn.Jobs).
	jobs *metalearn.Jobs

	// idx keeps sim in step with the registry's projects. A project write
	// whose embedding cannot be computed (the embeddings service is down)
	// is recorded in the database table similarity_pending; every
	// similarity query of the tenant first brings the tenant's pending
	// projects up to date, whichever process recorded them, so answers
	// reflect every write that returned — or the query answers 503 while
	// the service is still down.
	idx *similarity.Indexer
}

// newLearning builds the embedder chosen by the configuration, the
// similarity service, the model store, the trainer and the recommender on
// the server's database and registry. Their schema must exist (prepare
// migrates it).
func newLearning(s *Server, reg *registry.Registry, o settings) (*learning, error) {
	emb, jobTiming := o.embedder, o.jobTiming
	if emb == nil {
		var err error
		if emb, err = newEmbedder(s.cfg); err != nil {
			return nil, err
		}
	}
	// The service embeds through the metrics' wrapper; emb stays the
	// embedder as configured.
	simOpts := []similarity.Option{similarity.WithCacheObserver(s.metrics.similarityEvent)}
	if budget := cmp.Or(o.similarityMemory, s.cfg.SimilarityMemory); budget > 0 {
		simOpts = append(simOpts, similarity.WithMemoryBudget(budget))
	}
	sim, err := similarity.NewService(s.db, s.metrics.measure(emb), simOpts...)
	if err != nil {
		return nil, fmt.Errorf("similarity: %w", err)
	}
	s.closers = append(s.closers, sim.Close)
	ixOpts := []similarity.IndexerOption{}
	if _, ok := emb.(*minilm.Embedder); ok {
		ixOpts = append(ixOpts, similarity.WithDrainLimit(inProcessDrainLimit))
	}
	idx, err := similarity.NewIndexer(reg, sim, append(ixOpts,
		similarity.WithWriteBudget(indexWriteBudget),
		similarity.WithIndexerLogger(s.log),
		similarity.WithIndexerClock(s.now),
		similarity.WithTenantLister(s.tenantIDs))...)
	if err != nil {
		return nil, fmt.Errorf("similarity: %w", err)
	}
	store := metalearn.NewStore(s.db, metalearn.WithStoreClock(s.now),
		metalearn.WithCacheObserver(s.metrics.cacheEvent(metaModelCache)))
	history := metalearn.NewRegistryHistory(reg)
	jobOpts := []metalearn.JobsOption{metalearn.WithJobsLogger(s.log), metalearn.WithJobsClock(s.now)}
	if jobTiming != [2]time.Duration{} {
		jobOpts = append(jobOpts, metalearn.WithJobTiming(jobTiming[0], jobTiming[1]))
	}
	if s.observeJob != nil {
		jobOpts = append(jobOpts, metalearn.WithJobObserver(s.observeJob))
	}
	jobs, err := metalearn.NewJobs(s.db, jobOpts...)
	if err != nil {
		return nil, fmt.Errorf("metalearn: %w", err)
	}
	s.closers = append(s.closers, jobs.Close)
	return &learning{
		reg:     reg,
		log:     s.log,
		emb:     emb,
		sim:     sim,
		models:  store,
		history: history,
		trainer: metalearn.NewRetrainer(history, store, metalearn.WithJobs(jobs),
			metalearn.WithTrainOptions(metalearn.WithClock(s.now))),
		jobs: jobs,
		rec:  metalearn.NewRecommender(store),
		idx:  idx,
	}, nil
}

// The built-in embedders Config.Embedder names.
const (
	// EmbedderMiniLM is all-MiniLM-L6-v2 run in the process
	// (similarity/minilm): the neural model's ranking quality with no
	// service, at about 70 ms of CPU per spec.
	EmbedderMiniLM = "minilm"
	// EmbedderStatic is staticembed, the model's static token vectors:
	// microseconds per spec, weaker ranking.
	EmbedderStatic = "static"
)

// newEmbedder returns the OpenAI-compatible embedder at
// MAESTRO_EMBEDDINGS_URL (model MAESTRO_EMBEDDINGS_MODEL, required then;
// key MAESTRO_EMBEDDINGS_API_KEY, optional), or the built-in offline
// embedder Config.Embedder names when no URL is configured: by default
// all-MiniLM-L6-v2 in pure Go (minilm), whose vectors match the
// sentence-transformers model's, so an index built with the model behind
// an embedding server stays valid (docs/similarity.md).
func newEmbedder(cfg Config) (similarity.Embedder, error) {
	if cfg.EmbeddingsURL == "" {
		if cfg.Embedder == EmbedderStatic {
			return staticembed.New()
		}
		return minilm.New()
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

// createProject, updateProject and deleteProject are the project writes
// of the server: each records the project as pending for the similarity
// index in the registry write's own transaction, then indexes it (see
// similarity.Indexer). A failure to index does not fail the write.
func (d *learning) createProject(ctx context.Context, in registry.ProjectInput) (*registry.Project, error) {
	return d.idx.CreateProject(ctx, in)
}

func (d *learning) updateProject(ctx context.Context, id string, patch registry.ProjectPatch) (*registry.Project, error) {
	return d.idx.UpdateProject(ctx, id, patch)
}

func (d *learning) deleteProject(ctx context.Context, id string) error {
	return d.idx.DeleteProject(ctx, id)
}

// forgetTenant drops what the server holds in memory about a deleted
// tenant: its similarity matrix. Its pending projects are rows of the
// tenant, deleted with it. It is a tenancy.DeleteHook.
func (d *learning) forgetTenant(ctx context.Context, tenantID string) error {
	return d.idx.ForgetTenant(ctx, tenantID)
}

// similarTo returns up to k projects most similar to project id (which
// must exist: 404 otherwise), after the tenant's pending projects are
// indexed; a project with no embedding is indexed first.
func (d *learning) similarTo(ctx context.Context, id string, k int) ([]similarity.Match, error) {
	ms, err := d.idx.Similar(ctx, id, k)
	return ms, err
}

// similarToSpec returns up to k projects most similar to a spec and free
// text.
func (d *learning) similarToSpec(ctx context.Context, text string, spec registry.Spec, k int) ([]similarity.Match, error) {
	ms, err := d.idx.SimilarSpec(ctx, text, spec, k)
	return ms, err
}

// overlap compares spec with project id (404 when unknown), indexing the
// project first if it has no embedding.
func (d *learning) overlap(ctx context.Context, spec registry.Spec, id string) (*similarity.OverlapReport, error) {
	rep, err := d.idx.Overlap(ctx, spec, id)
	return rep, err
}

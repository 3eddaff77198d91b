// Package similarity finds past projects that resemble a new one, from
// their specifications, and reports how much of a new spec an existing
// project already covers.
//
// # Embedders
//
// An Embedder turns texts into vectors. Three come with this package and
// a fourth, the distilled semantic embedder, with its sub-package
// staticembed:
//
//   - OpenAIEmbedder calls any OpenAI-compatible /v1/embeddings API
//     (OpenAI, Ollama, text-embeddings-inference, llama.cpp, LocalAI, or
//     the all-MiniLM-L6-v2 server in tools/embedserver) through
//     github.com/sashabaranov/go-openai. It batches within the API's
//     limits, retries 429 and 5xx answers with exponential backoff and
//     jitter (honouring Retry-After and the context), bounds each attempt
//     with a timeout, never sends an empty input, and checks every
//     response: one finite vector per input, in index order, of one
//     consistent dimension. Vectors come back L2-normalised.
//   - HashingEmbedder is the built-in offline embedder, the default of the
//     reference platform: deterministic, no service, no data files. It is
//     lexical — word stems, stem bigrams and character trigrams, hashed
//     into 2048 dimensions — and matches shared words and word pieces, not
//     meaning.
//   - FuncEmbedder adapts a function, for tests or in-process models.
//
// Measured on the labelled specs in testdata/specs.json (11 groups of specs
// that solve one problem in different domains and words, plus 10
// distractors that share words but not the problem), ranking all other
// specs for each grouped spec:
//
//	                                   precision@3   MRR
//	all-MiniLM-L6-v2 (neural, a server)     0.681      0.813
//	staticembed (distilled, offline)        0.615      0.809
//	HashingEmbedder (lexical, offline)      0.481      0.729
//	TF-IDF fitted on the same texts         0.459      0.716
//
// The lexical HashingEmbedder is about as good as a TF-IDF index of the
// corpus without needing one. staticembed — all-MiniLM-L6-v2 distilled into
// static token vectors, 8 MB embedded in the binary — comes close to the
// model itself with no service; it is the better offline default when the
// binary size is acceptable. A neural model behind an OpenAIEmbedder is
// best.
//
// # Project text
//
// ComposeText renders a project — name, description and registry.Spec —
// as labelled lines in a fixed order (see its documentation). A text longer
// than the embedder's window (TokenLimiter, 256 tokens by default for an
// OpenAIEmbedder) is split into chunks at line and word boundaries, each
// chunk is embedded, and the chunk vectors are averaged, weighted by chunk
// length, then normalised (EmbedChunked): nothing is silently truncated.
// Token counts are estimated on the high side, and if a provider still
// refuses a chunk as too long, the Service halves the chunk size and tries
// again.
//
// # Service
//
// A Service (NewService) stores one embedding per project and tenant in
// the table similarity_embeddings (create this package's tables with
// Migrate; MigrateDown and CurrentSchemaVersion manage their versions),
// together with the composed text, the spec, the model name, the dimension
// and a SHA-256 of model and text: indexing an unchanged project computes
// nothing. Every
// method takes the tenant from the context (tenancy.WithTenant) and fails
// without one; queries are filtered by tenant both by the tenancy plugin
// and by the Service itself.
//
// Searches are exact: the first search of a tenant loads its vectors into
// one contiguous float32 matrix (reading only the vector, the project's id
// and name), and every search scans it with dot products (cosine
// similarity of unit vectors), keeping the best k in a bounded heap, split
// across goroutines for large tenants. Index and Remove update the matrix
// before returning, so results reflect a write as soon as it returns.
// Scanning 100,000 vectors of 384 dimensions reads 154 MB and takes tens
// of milliseconds on a busy two-core machine (docs/similarity.md has the
// benchmarks, beside chromem-go).
//
// The matrices of all tenants share one memory budget (WithMemoryBudget,
// DefaultMemoryBudget 512 MiB), counted per vector as VectorBytes: 4 bytes
// per dimension, the bytes of the project's id and name, and
// RowOverheadBytes. Beyond it the least recently searched tenants are
// evicted and loaded again on their next search; a tenant whose vectors
// alone exceed the budget is refused with a *MemoryError (matching
// ErrUnavailable) before anything is read. CacheStats and
// WithCacheObserver report hits, misses (loads), evictions and
// invalidations.
//
// Reported similarities are calibrated so that they mean the same for every
// embedder: about 0.2 for specs of unrelated problems and 0.8 for specs of
// the same problem. CalibrationFor picks the map: the embedder's own when it
// implements Calibrator, a shipped map for all-MiniLM-L6-v2, the static
// embedder and the default HashingEmbedder, and otherwise the raw cosine.
// The maps are monotone, so they never change a ranking.
//
// Vectors of different models are never compared. When the host switches
// embedders, stored vectors of the old model are recomputed from their
// stored text in the background, started by the tenant's first search
// (Close stops it). Until then searches answer from the vectors that are
// ready — the current model's — and Similar of a project still waiting
// reports ErrUnavailable; with WithReembed(false), searches fail with
// ErrModelMismatch instead.
//
// # Indexer
//
// An Indexer (NewIndexer) keeps a Service in step with the projects of a
// registry.Registry. Its CreateProject, UpdateProject and DeleteProject run
// the registry write and record the project in the table
// similarity_pending in the same transaction, then index it and delete the
// row; a write never fails because the embedder is down, its row stays.
// Every query of the Indexer (Similar, SimilarText, SimilarSpec, Overlap)
// first indexes the tenant's pending projects, read from the database, so
// whichever process serves the tenant next picks up a failure of another;
// while the embedder is still down the query fails with ErrUnavailable.
// Run works through every tenant's rows in the background. Two processes
// working on one row store one consistent result: the embedding is
// committed only while the row still names the write it was computed
// for. An Indexer is a metalearn.SimilarFinder.
//
// # Overlap and effort
//
// Service.Overlap compares each user story, functional and non-functional
// requirement, data model and endpoint of a new spec with the items of the
// same section of an existing project. An item whose best counterpart has
// a cosine similarity of at least 0.85 is reused, at least 0.55 modified,
// otherwise new (OverlapThresholds; the same text is always reused). A
// section's overlap, and the overall overlap over all items, is
// (reused + modified/2) / items. The overall overlap picks the reuse
// strategy: at least 0.80 clone_and_customize, 0.50 clone_with_changes,
// 0.20 hybrid, otherwise build_from_scratch. The effort estimate adds, per
// item, the unit cost of its kind (EffortModel: 16 hours per user story,
// 12 per functional and 10 per non-functional requirement, 6 per data
// model, 4 per endpoint) times 0.1 when reused, 0.5 when modified and 1
// when new.
//
// The item thresholds are calibrated on reworded spec items
// (testdata/paraphrases.json) for a neural sentence model. Embedders whose
// similarities run on another scale implement Calibrated and the Service
// uses their thresholds: the lexical HashingEmbedder marks an item
// modified from 0.20 and reused from 0.60, staticembed from 0.60 and 0.90.
// WithOverlapThresholds overrides them.
//
// # Bounded work
//
// The work of a query is bounded before it starts: Overlap and SimilarSpec
// (of the Service and of the Indexer) refuse a spec beyond the bounds of
// registry.Spec.Validate with its registry.ValidationErrors, and Overlap a
// report that would compare more than MaxOverlapPairs pairs of items with
// a *TooLargeError, before anything is embedded. The loops that remain
// check the context: the comparisons before each item, EmbedChunked every
// 64 texts, the embedders between texts or batches; a cancelled or
// timed-out query stops with the context's error.
//
// # Concurrency
//
// Embedders, the Service and the Indexer are safe for concurrent use. A
// Service caches the matrices of the tenants it has searched, within its
// memory budget. Every write
// of a tenant's embeddings increments the tenant's revision (table
// similarity_revisions) in its transaction, and every search compares it
// with the revision of the cached matrix, reloading on a difference: the
// processes of a host that share one database see each other's writes.
//
// # Errors
//
// Invalid arguments and option values are ErrInvalid. Other sentinels:
// ErrEmptyInput, ErrNotIndexed, ErrUnavailable, ErrProvider (as
// *ProviderError), ErrBadResponse, ErrDimensionMismatch (as
// *DimensionError), ErrModelMismatch and ErrTooLarge (as *TooLargeError).
package similarity

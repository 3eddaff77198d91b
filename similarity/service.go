package similarity

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// MaxResults bounds k in Similar and SimilarText.
const MaxResults = 1000

// Match is one search result: a project of the context's tenant and its
// similarity to the query: the cosine similarity of their embeddings on the
// embedder's calibrated scale (CalibrationFor; 1 is identical direction).
type Match struct {
	ProjectID  string  `json:"project_id"`
	Name       string  `json:"name"`
	Similarity float64 `json:"similarity"`
}

// Service stores project embeddings per tenant and answers similarity
// questions about them: similar projects of a project, of a free text or
// spec, and overlap reports.
//
// Vectors live in the database (table similarity_embeddings, scoped to the
// context's tenant by the tenancy plugin and by the Service's own filter)
// and, once a tenant is first searched, in an in-memory matrix per tenant
// that every search scans exactly. Index and Remove update that matrix
// before they return, so a search reflects a write as soon as the write
// returns. Every write also increments the tenant's revision (table
// similarity_revisions) in its transaction; a search that finds the
// revision changed by another Service (another process) reloads the
// matrix first. The matrices of all tenants stay within one memory budget
// (WithMemoryBudget), evicting the least recently searched tenants.
//
// Every method needs a tenant in the context (tenancy.WithTenant) and
// fails with an error wrapping tenancy.ErrNoTenant without one. A Service
// is safe for concurrent use.
type Service struct {
	db         *gorm.DB
	emb        Embedder
	chunk      int
	reembed    bool
	workers    int
	thresholds OverlapThresholds
	effort     EffortModel

	budget  int64
	observe func(CacheEvent)

	mu      sync.Mutex
	tenants map[string]*tenantIndex
	lru     *list.List // of *tenantIndex held in memory, most recently used first
	used    int64      // bytes the tenants in lru account for
	vectors int        // vectors they hold

	hits, misses, evictions, invalidations atomic.Int64

	// bg is the context of background re-embedding, cancelled by Close;
	// bgWG waits for it.
	bg     context.Context
	bgStop context.CancelFunc
	bgWG   sync.WaitGroup

	// onCompare, when set (by tests), is told the pairs an overlap report
	// is about to compare for one item, after its context check.
	onCompare func(pairs int)
}

// tenantIndex is the cached matrix of one tenant.
type tenantIndex struct {
	// wmu serialises the tenant's writes (database write, then cache
	// update) so that the cache applies them in the database's order.
	// Lock order: wmu before mu, mu before the Service's mu (cache.go).
	wmu    sync.Mutex
	mu     sync.RWMutex
	loaded bool
	rev    int64   // the tenant's revision the matrix reflects
	m      *matrix // nil while the tenant has no vectors

	// Guarded by the Service's mu: the tenant's element in the Service's
	// LRU (nil when not held in memory), and what it accounts for.
	elem  *list.Element
	bytes int64
	rows  int

	// tooLarge is the refusal of the tenant's last load for the memory
	// budget, at revision tooLargeRev: searches at that revision answer it
	// without sizing the tenant again (guarded by mu).
	tooLarge    *MemoryError
	tooLargeRev int64

	// stale counts the tenant's stored vectors of another model, missing
	// from m while they are re-embedded in the background (guarded by mu).
	stale int
	// reembedding is set while a background re-embedding of the tenant's
	// vectors of another model runs; reembedFailed is the time (Unix ns)
	// the last one failed, 0 if it did not.
	reembedding   atomic.Bool
	reembedFailed atomic.Int64
}

// Option configures a Service.
type Option func(*Service) error

// WithChunkTokens sets the most approximate tokens per chunk of a long
// text (see ComposeText and the package documentation on chunking). The
// default is the embedder's MaxInputTokens when it implements
// TokenLimiter, and no chunking otherwise. 0 disables chunking.
func WithChunkTokens(n int) Option {
	return func(s *Service) error {
		if n != 0 && n < minChunkTokens {
			return fmt.Errorf("%w: chunk tokens %d below %d", ErrInvalid, n, minChunkTokens)
		}
		s.chunk = n
		return nil
	}
}

// WithReembed chooses what happens to stored vectors of another model
// than the Service's embedder (after the host switched models). With true
// (the default) they are recomputed from their stored text in the
// background, started by the tenant's first search: meanwhile searches
// answer from the vectors of the current model, and Similar of a project
// still waiting reports ErrUnavailable. With false, searches of that
// tenant fail with ErrModelMismatch until the projects are indexed again.
// Vectors of different models are never compared.
func WithReembed(on bool) Option {
	return func(s *Service) error { s.reembed = on; return nil }
}

// WithSearchWorkers sets how many goroutines may scan one large matrix
// (default GOMAXPROCS).
func WithSearchWorkers(n int) Option {
	return func(s *Service) error {
		if n < 1 {
			return fmt.Errorf("%w: search workers %d", ErrInvalid, n)
		}
		s.workers = n
		return nil
	}
}

// NewService returns a Service that stores vectors in db and computes them
// with emb. The tables must exist (see Migrate). It reports
// ErrInvalid for a nil db or embedder or an invalid option.
func NewService(db *gorm.DB, emb Embedder, opts ...Option) (*Service, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil database", ErrInvalid)
	}
	if emb == nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errNilEmbedder)
	}
	s := &Service{
		db:         db,
		emb:        emb,
		reembed:    true,
		workers:    runtime.GOMAXPROCS(0),
		thresholds: DefaultOverlapThresholds(),
		effort:     DefaultEffortModel(),
		budget:     DefaultMemoryBudget,
		tenants:    map[string]*tenantIndex{},
		lru:        list.New(),
	}
	if tl, ok := emb.(TokenLimiter); ok {
		s.chunk = tl.MaxInputTokens()
	}
	if c, ok := emb.(Calibrated); ok {
		if t := c.OverlapThresholds(); t.valid() {
			s.thresholds = t
		}
	}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.bg, s.bgStop = context.WithCancel(context.Background())
	return s, nil
}

// Close stops the Service's background re-embedding and waits for it to
// end. A Service is usable after Close, but starts no background work.
func (s *Service) Close() error {
	s.bgStop()
	s.bgWG.Wait()
	return nil
}

// Embedder returns the Service's embedder.
func (s *Service) Embedder() Embedder { return s.emb }

func tenantOf(ctx context.Context) (string, error) {
	t, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return "", fmt.Errorf("similarity: %w", tenancy.ErrNoTenant)
	}
	return t, nil
}

func (s *Service) entry(tenant string) *tenantIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	ti, ok := s.tenants[tenant]
	if !ok {
		ti = &tenantIndex{}
		s.tenants[tenant] = ti
	}
	return ti
}

// Invalidate drops the cached matrix of the context's tenant; the next
// search reloads it from the database. Searches reload by themselves when
// another process changed the tenant's embeddings.
func (s *Service) Invalidate(ctx context.Context) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	ti := s.entry(tenant)
	ti.mu.Lock()
	was := ti.loaded
	ti.loaded, ti.m = false, nil
	s.unaccount(ti)
	ti.mu.Unlock()
	if was {
		s.event(CacheInvalidation, 1)
	}
	return nil
}

func contentHash(model, text string) string {
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(text))
	return hex.EncodeToString(h.Sum(nil))
}

func validProjectID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: project id must have 1 to 64 bytes", ErrInvalid)
	}
	return nil
}

// Index stores the embedding of a project of the context's tenant,
// computed from ComposeText(name, description, spec). When the project is
// stored already with the same text and model, nothing is recomputed. The
// change is visible to searches when Index returns. It reports
// ErrInvalid for an invalid id or a project with no text, and the
// embedder's errors.
func (s *Service) Index(ctx context.Context, projectID, name, description string, spec registry.Spec) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	p, err := s.plan(ctx, tenant, projectID, name, description, spec)
	if err != nil {
		return err
	}
	return s.commit(ctx, p, nil)
}

// commit stores a plan in one transaction, together with the work of
// extra (if any) in the same transaction, bumps the tenant's revision and
// applies the result to the cached matrix. A tenant's commits are
// serialised in this process so that the cache applies them in the
// database's order.
func (s *Service) commit(ctx context.Context, p indexPlan, extra func(tx *gorm.DB) error) error {
	if p.unchanged && extra == nil {
		return nil
	}
	ti := s.entry(p.tenant)
	ti.wmu.Lock()
	defer ti.wmu.Unlock()
	var rev int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		if p.unchanged {
			return nil
		}
		if err := s.applyTx(tx, p); err != nil {
			return err
		}
		var err error
		rev, err = bumpRevision(tx, p.tenant)
		return err
	})
	if err != nil {
		return err
	}
	s.applyCache(p, rev)
	return nil
}

// Remove deletes the stored embedding of a project of the context's
// tenant. Removing a project that is not indexed is not an error.
func (s *Service) Remove(ctx context.Context, projectID string) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	if err := validProjectID(projectID); err != nil {
		return err
	}
	return s.commit(ctx, planRemove(tenant, projectID), nil)
}

// Similar returns up to k projects of the context's tenant most similar to
// the project projectID, best first, never the project itself. It reports
// ErrNotIndexed when the project has no stored embedding and
// ErrInvalid for k outside [1, MaxResults].
func (s *Service) Similar(ctx context.Context, projectID string, k int) ([]Match, error) {
	if err := validK(k); err != nil {
		return nil, err
	}
	var out []Match
	err := s.withIndex(ctx, func(m *matrix, stale bool) error {
		i, ok := -1, false
		if m != nil {
			i, ok = m.pos[projectID]
		}
		if !ok && stale {
			return fmt.Errorf("%w: project %s may be among the vectors being re-embedded for model %q", ErrUnavailable, projectID, s.emb.Model())
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotIndexed, projectID)
		}
		q := append([]float32(nil), m.row(i)...)
		out = s.calibrated(m.matches(m.search(q, k, projectID, s.workers)))
		return nil
	})
	return out, err
}

// SimilarText returns up to k projects of the context's tenant most
// similar to a free text, best first.
func (s *Service) SimilarText(ctx context.Context, text string, k int) ([]Match, error) {
	return s.SimilarSpec(ctx, text, registry.Spec{}, k)
}

// SimilarSpec returns up to k projects of the context's tenant most
// similar to a specification with an optional free-text description
// (composed as ComposeText("", text, spec)), best first. It reports
// ErrInvalid when both are empty, and a spec beyond the bounds of
// registry.Spec.Validate with its registry.ValidationErrors before any
// work.
func (s *Service) SimilarSpec(ctx context.Context, text string, spec registry.Spec, k int) ([]Match, error) {
	if _, err := tenantOf(ctx); err != nil {
		return nil, err
	}
	if err := validK(k); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	composed := ComposeText("", text, spec)
	if composed == "" {
		return nil, fmt.Errorf("%w: empty query", ErrInvalid)
	}
	vecs, err := s.embedTexts(ctx, []string{composed})
	if err != nil {
		return nil, err
	}
	q := vecs[0]
	var out []Match
	err = s.withIndex(ctx, func(m *matrix, _ bool) error {
		if m == nil {
			return nil
		}
		if len(q) != m.dims {
			return &DimensionError{Model: s.emb.Model(), Want: m.dims, Got: len(q)}
		}
		out = s.calibrated(m.matches(m.search(q, k, "", s.workers)))
		return nil
	})
	return out, err
}

func validK(k int) error {
	if k < 1 || k > MaxResults {
		return fmt.Errorf("%w: k=%d not in [1, %d]", ErrInvalid, k, MaxResults)
	}
	return nil
}

// matches converts search results to Matches (copies, safe after unlock).
func (m *matrix) matches(rs []scored) []Match {
	out := make([]Match, len(rs))
	for i, r := range rs {
		out[i] = Match{ProjectID: m.ids[r.row], Name: m.names[r.row], Similarity: float64(r.score)}
	}
	return out
}

// withIndex runs fn on the loaded matrix of the context's tenant (nil
// when the tenant has no vectors of the current model yet), loading it
// first if needed. stale tells fn that some of the tenant's vectors are of
// another model and being re-embedded in the background, so are missing
// from m. fn must not keep the matrix.
func (s *Service) withIndex(ctx context.Context, fn func(m *matrix, stale bool) error) error {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return err
	}
	// The tenant's revision, read before the matrix is used or loaded: a
	// cache at another revision missed a write (of another process, say).
	rev, err := readRevision(s.db.WithContext(ctx), tenant)
	if err != nil {
		return err
	}
	ti := s.entry(tenant)
	ti.mu.RLock()
	if ti.loaded && ti.rev == rev && s.resident(ti) {
		defer ti.mu.RUnlock()
		s.event(CacheHit, 1)
		if ti.stale > 0 {
			s.startReembed(tenant, ti, ti.m.dimsOrZero())
		}
		return fn(ti.m, ti.stale > 0)
	}
	ti.mu.RUnlock()
	var victims []*tenantIndex
	ti.mu.Lock()
	defer func() {
		ti.mu.Unlock()
		s.dropEvicted(victims)
	}()
	if ti.loaded && ti.rev == rev && s.resident(ti) {
		s.event(CacheHit, 1)
		return fn(ti.m, ti.stale > 0)
	}
	if ti.tooLarge != nil && ti.tooLargeRev == rev {
		return ti.tooLarge
	}
	if ti.loaded && ti.rev != rev {
		s.event(CacheInvalidation, 1)
	}
	s.event(CacheMiss, 1)
	ti.loaded, ti.m, ti.tooLarge = false, nil, nil
	s.unaccount(ti)
	m, stale, vs, err := s.load(ctx, ti, tenant)
	victims = append(victims, vs...)
	var me *MemoryError
	if errors.As(err, &me) {
		ti.tooLarge, ti.tooLargeRev = me, rev
	}
	if err != nil {
		return err
	}
	vs, ok := s.account(ti, m)
	victims = append(victims, vs...)
	if !ok {
		ti.tooLarge, ti.tooLargeRev = &MemoryError{Need: m.bytes(), Budget: s.budget}, rev
		return ti.tooLarge
	}
	ti.m, ti.loaded, ti.rev, ti.stale = m, true, rev, stale
	if stale > 0 {
		s.startReembed(tenant, ti, m.dimsOrZero())
	}
	return fn(ti.m, stale > 0)
}

// loadBatch is the number of rows read per query while loading a tenant.
const loadBatch = 1000

// loadColumns are the columns a load reads: what a search needs (the
// vector, the project's id and name) and what tells a vector of another
// model apart; never the text or the spec.
var loadColumns = []string{"id", "project_id", "name", "model", "dimensions", "vector"}

// load reads every stored vector of the tenant of the current model into
// a new matrix and counts the vectors of another model (stale), which the
// caller re-embeds in the background. Before reading, it reserves the
// memory the rows will take in the budget, evicting other tenants (their
// matrices are dropped now when their locks are free, otherwise returned
// in victims); a tenant that cannot fit is refused with a *MemoryError
// before any vector is read. The caller holds ti.mu (write).
func (s *Service) load(ctx context.Context, ti *tenantIndex, tenant string) (m *matrix, stale int, victims []*tenantIndex, err error) {
	model := s.emb.Model()
	var size struct {
		N    int64
		Dims int
		Text int64
	}
	err = s.db.WithContext(ctx).Model(&ProjectEmbedding{}).
		Select("count(*) AS n, coalesce(max(dimensions), 0) AS dims, coalesce(sum(length(project_id) + length(name)), 0) AS text").
		Where("tenant_id = ? AND model = ?", tenant, model).Find(&size).Error
	if err != nil {
		return nil, 0, nil, fmt.Errorf("similarity: size of the index: %w", err)
	}
	need := size.N*(4*int64(size.Dims)+RowOverheadBytes) + size.Text + matrixOverheadBytes
	if need > s.budget {
		return nil, 0, nil, &MemoryError{Need: need, Budget: s.budget}
	}
	// Reserve the room first, so that the evicted tenants' memory is
	// freed before this one's is allocated.
	vs, _ := s.accountBytes(ti, need, int(size.N))
	for _, v := range vs {
		if !s.tryDrop(v) {
			victims = append(victims, v)
		}
	}
	var rows []ProjectEmbedding
	res := s.db.WithContext(ctx).Select(loadColumns).Where("tenant_id = ?", tenant).
		FindInBatches(&rows, loadBatch, func(_ *gorm.DB, _ int) error {
			for _, r := range rows {
				if r.EmbedModel != model || (m != nil && r.Dimensions != m.dims) || r.Dimensions <= 0 {
					stale++
					continue
				}
				if m == nil {
					m = newMatrix(r.Dimensions)
					m.ids = make([]string, 0, size.N)
					m.names = make([]string, 0, size.N)
					m.vecs = make([]float32, 0, size.N*int64(r.Dimensions))
				}
				v := make([]float32, r.Dimensions)
				if err := decodeVector(v, r.Vector); err != nil {
					return fmt.Errorf("project %s: %w", r.ProjectID, err)
				}
				m.upsert(r.ProjectID, r.Name, v)
			}
			return nil
		})
	if res.Error != nil {
		s.unaccount(ti)
		return nil, 0, victims, fmt.Errorf("similarity: load embeddings: %w", res.Error)
	}
	if stale > 0 && !s.reembed {
		s.unaccount(ti)
		return nil, 0, victims, fmt.Errorf("%w: %d stored embeddings of this tenant were made by another model than %q; index them again",
			ErrModelMismatch, stale, model)
	}
	return m, stale, victims, nil
}

// reembedBatch is the number of stale rows re-embedded and stored per
// transaction in the background.
const reembedBatch = 256

// reembedTimeout bounds one background re-embedding of a tenant; a
// later search starts another for what is left.
const reembedTimeout = 30 * time.Minute

// reembedRetry is how long after a failed background re-embedding of a
// tenant the next search may start another.
const reembedRetry = 10 * time.Second

// startReembed starts the background re-embedding of the tenant's stale
// vectors unless one runs, the Service is closed, or the last one failed
// less than reembedRetry ago.
// dims is the dimension of the tenant's current vectors (0: none yet).
func (s *Service) startReembed(tenant string, ti *tenantIndex, dims int) {
	if s.bg.Err() != nil {
		return
	}
	if last := ti.reembedFailed.Load(); last != 0 && time.Since(time.Unix(0, last)) < reembedRetry {
		return
	}
	if !ti.reembedding.CompareAndSwap(false, true) {
		return
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		defer ti.reembedding.Store(false)
		ctx, cancel := context.WithTimeout(tenancy.WithTenant(s.bg, tenant), reembedTimeout)
		defer cancel()
		if err := s.reembedTenant(ctx, tenant, ti, dims); err != nil {
			ti.reembedFailed.Store(time.Now().UnixNano())
			return
		}
		ti.reembedFailed.Store(0)
	}()
}

// reembedTenant recomputes, batch after batch, the tenant's stored
// vectors of another model than the Service's embedder from their stored
// text, and stores each batch in one transaction that bumps the tenant's
// revision; the cached matrix takes the new vectors as each batch commits.
// A row written meanwhile (its content hash changed) is left as it is.
// dims is the dimension of the tenant's current vectors (0: none yet);
// rows of the current model with another dimension are stale too.
func (s *Service) reembedTenant(ctx context.Context, tenant string, ti *tenantIndex, dims int) error {
	model := s.emb.Model()
	var after uint64
	for {
		var rows []ProjectEmbedding
		q := s.db.WithContext(ctx).Select("id", "project_id", "name", "text", "content_hash")
		if dims > 0 {
			q = q.Where("tenant_id = ? AND id > ? AND (model <> ? OR dimensions <> ?)", tenant, after, model, dims)
		} else {
			q = q.Where("tenant_id = ? AND id > ? AND (model <> ? OR dimensions <= 0)", tenant, after, model)
		}
		err := q.Order("id").Limit(reembedBatch).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("similarity: read stale embeddings: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		after = rows[len(rows)-1].ID
		texts := make([]string, len(rows))
		for i, r := range rows {
			texts[i] = r.Text
		}
		vecs, err := s.embedTexts(ctx, texts)
		if err != nil {
			return fmt.Errorf("similarity: re-embed with %q: %w", model, err)
		}
		if err := s.storeReembedded(ctx, tenant, ti, rows, vecs); err != nil {
			return err
		}
	}
}

// storeReembedded stores one batch of re-embedded rows and applies it to
// the cached matrix, serialised with the tenant's other writes.
func (s *Service) storeReembedded(ctx context.Context, tenant string, ti *tenantIndex, rows []ProjectEmbedding, vecs [][]float32) error {
	model := s.emb.Model()
	ti.wmu.Lock()
	defer ti.wmu.Unlock()
	var rev int64
	var stored []int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		stored = stored[:0]
		for i, r := range rows {
			res := tx.Model(&ProjectEmbedding{}).
				Where("tenant_id = ? AND project_id = ? AND content_hash = ?", tenant, r.ProjectID, r.ContentHash).
				Updates(map[string]any{"model": model, "dimensions": len(vecs[i]), "vector": encodeVector(vecs[i]),
					"content_hash": contentHash(model, r.Text), "updated_at": time.Now().UTC()})
			if res.Error != nil {
				return fmt.Errorf("similarity: store re-embedded vector: %w", res.Error)
			}
			if res.RowsAffected == 1 {
				stored = append(stored, i)
			}
		}
		var err error
		rev, err = bumpRevision(tx, tenant)
		return err
	})
	if err != nil {
		return err
	}
	ti.mu.Lock()
	var victims []*tenantIndex
	defer func() {
		ti.mu.Unlock()
		s.dropEvicted(victims)
	}()
	if !ti.loaded || ti.rev != rev-1 {
		ti.loaded, ti.m = false, nil
		s.unaccount(ti)
		return nil
	}
	ti.rev = rev
	for _, i := range stored {
		v := vecs[i]
		if ti.m == nil {
			ti.m = newMatrix(len(v))
		}
		if len(v) != ti.m.dims {
			want := ti.m.dims
			ti.loaded, ti.m = false, nil
			s.unaccount(ti)
			return &DimensionError{Model: model, Want: want, Got: len(v)}
		}
		ti.m.upsert(rows[i].ProjectID, rows[i].Name, v)
	}
	ti.stale = max(0, ti.stale-len(rows))
	vs, ok := s.account(ti, ti.m)
	victims = vs
	if !ok {
		ti.loaded, ti.m = false, nil
	}
	return nil
}

// errNoText reports a project with nothing to embed (no name, description
// or spec). It matches ErrInvalid.
var errNoText = fmt.Errorf("%w: the project has no name, description or spec", ErrInvalid)

// indexPlan is the index work that brings one project's stored embedding
// in line with one version of the project: remove it, leave it (the text
// and model are unchanged), or store row with vector vec.
type indexPlan struct {
	tenant    string
	projectID string
	text      string // the composed text; "" for a removal
	remove    bool
	unchanged bool
	row       ProjectEmbedding
	vec       []float32
}

// planRemove is the plan that removes the project's embedding.
func planRemove(tenant, projectID string) indexPlan {
	return indexPlan{tenant: tenant, projectID: projectID, remove: true}
}

// plan computes the index work for a project version: it reads the stored
// embedding and embeds the composed text unless it is unchanged. It writes
// nothing. A project with no text gives errNoText.
func (s *Service) plan(ctx context.Context, tenant, projectID, name, description string, spec registry.Spec) (indexPlan, error) {
	if err := validProjectID(projectID); err != nil {
		return indexPlan{}, err
	}
	text := ComposeText(name, description, spec)
	if text == "" {
		return indexPlan{}, fmt.Errorf("project %s: %w", projectID, errNoText)
	}
	p := indexPlan{tenant: tenant, projectID: projectID, text: text}
	model := s.emb.Model()
	hash := contentHash(model, text)
	var existing ProjectEmbedding
	err := s.db.WithContext(ctx).Select("content_hash", "model").
		Where("tenant_id = ? AND project_id = ?", tenant, projectID).Take(&existing).Error
	switch {
	case err == nil && existing.ContentHash == hash && existing.EmbedModel == model:
		p.unchanged = true
		return p, nil
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		return indexPlan{}, fmt.Errorf("similarity: load embedding: %w", err)
	}
	vecs, err := s.embedTexts(ctx, []string{text})
	if err != nil {
		return indexPlan{}, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return indexPlan{}, fmt.Errorf("similarity: encode spec: %w", err)
	}
	p.vec = vecs[0]
	p.row = ProjectEmbedding{
		Model:       tenancy.Model{TenantID: tenant},
		ProjectID:   projectID,
		Name:        clean(name),
		Text:        text,
		SpecJSON:    string(specJSON),
		EmbedModel:  model,
		Dimensions:  len(p.vec),
		ContentHash: hash,
		Vector:      encodeVector(p.vec),
		UpdatedAt:   time.Now().UTC(),
	}
	return p, nil
}

// applyTx stores the plan's result with tx, in the caller's transaction:
// one upsert or one delete. The caller bumps the tenant's revision in the
// same transaction (bumpRevision) and applies the result to the cache
// once committed (applyCache).
func (s *Service) applyTx(tx *gorm.DB, p indexPlan) error {
	switch {
	case p.unchanged:
		return nil
	case p.remove:
		if err := tx.Where("tenant_id = ? AND project_id = ?", p.tenant, p.projectID).
			Delete(&ProjectEmbedding{}).Error; err != nil {
			return fmt.Errorf("similarity: remove embedding: %w", err)
		}
		return nil
	}
	return upsertEmbedding(tx, p.row)
}

// upsertEmbedding inserts row or replaces the stored embedding of its
// project.
func upsertEmbedding(tx *gorm.DB, row ProjectEmbedding) error {
	err := tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "tenant_id"}, {Name: "project_id"}},
		DoUpdates: clause.AssignmentColumns([]string{
			"name", "text", "spec_json", "model", "dimensions", "content_hash", "vector", "updated_at",
		}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("similarity: store embedding: %w", err)
	}
	return nil
}

// bumpRevision increments the tenant's revision in tx and returns the new
// value. Every write of the tenant's embeddings does, in its transaction:
// the row lock orders the writes, so a cache that holds revision r has
// seen every write up to r and no other.
func bumpRevision(tx *gorm.DB, tenant string) (int64, error) {
	row := TenantRevision{Model: tenancy.Model{TenantID: tenant}, Revision: 1}
	err := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "tenant_id"}},
		DoUpdates: clause.Assignments(map[string]any{"revision": gorm.Expr(RevisionsTableName + ".revision + 1")}),
	}).Create(&row).Error
	if err != nil {
		return 0, fmt.Errorf("similarity: bump revision: %w", err)
	}
	return readRevision(tx, tenant)
}

// readRevision returns the tenant's revision, 0 when it has none.
func readRevision(db *gorm.DB, tenant string) (int64, error) {
	var rows []TenantRevision
	if err := db.Where("tenant_id = ?", tenant).Limit(1).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("similarity: read revision: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return rows[0].Revision, nil
}

// applyCache applies a committed plan, stored at revision rev, to the
// tenant's cached matrix. When the cache is not at the revision before
// rev, another process (or a load) wrote in between: the cache is dropped
// and reloaded on the next search. A write that grows the matrix beyond
// the memory budget evicts other tenants, or this one when it alone
// exceeds the budget. Callers hold the tenant's wmu.
func (s *Service) applyCache(p indexPlan, rev int64) {
	if p.unchanged {
		return
	}
	ti := s.entry(p.tenant)
	ti.mu.Lock()
	var victims []*tenantIndex
	defer func() {
		ti.mu.Unlock()
		s.dropEvicted(victims)
	}()
	if !ti.loaded {
		return
	}
	drop := func() {
		ti.loaded, ti.m = false, nil
		s.unaccount(ti)
	}
	if ti.rev != rev-1 {
		drop()
		s.event(CacheInvalidation, 1)
		return
	}
	ti.rev = rev
	switch {
	case p.remove:
		if ti.m != nil {
			ti.m.remove(p.projectID)
		}
	case ti.m == nil:
		ti.m = newMatrix(len(p.vec))
		ti.m.upsert(p.projectID, p.row.Name, p.vec)
	case ti.m.dims != len(p.vec):
		// The embedder changed dimension: rebuild from the database.
		drop()
		return
	default:
		ti.m.upsert(p.projectID, p.row.Name, p.vec)
	}
	vs, ok := s.account(ti, ti.m)
	victims = vs
	if !ok {
		ti.loaded, ti.m = false, nil
	}
}

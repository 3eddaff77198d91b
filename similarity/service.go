package similarity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
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
// matrix first.
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

	mu      sync.Mutex
	tenants map[string]*tenantIndex

	// onCompare, when set (by tests), is told the pairs an overlap report
	// is about to compare for one item, after its context check.
	onCompare func(pairs int)
}

// tenantIndex is the cached matrix of one tenant.
type tenantIndex struct {
	// wmu serialises the tenant's writes (database write, then cache
	// update) so that the cache applies them in the database's order.
	// Lock order: wmu before mu.
	wmu    sync.Mutex
	mu     sync.RWMutex
	loaded bool
	rev    int64   // the tenant's revision the matrix reflects
	m      *matrix // nil while the tenant has no vectors
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
// (the default) they are recomputed from their stored text the first time
// the tenant is searched; with false, searches of that tenant fail with
// ErrModelMismatch until the projects are indexed again. Vectors of
// different models are never compared.
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
		tenants:    map[string]*tenantIndex{},
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
	return s, nil
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
	s.mu.Lock()
	delete(s.tenants, tenant)
	s.mu.Unlock()
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
	err := s.withIndex(ctx, func(m *matrix) error {
		i, ok := -1, false
		if m != nil {
			i, ok = m.pos[projectID]
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
	err = s.withIndex(ctx, func(m *matrix) error {
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
// when the tenant has no vectors), loading it first if needed. fn must not
// keep the matrix.
func (s *Service) withIndex(ctx context.Context, fn func(*matrix) error) error {
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
	if ti.loaded && ti.rev == rev {
		defer ti.mu.RUnlock()
		return fn(ti.m)
	}
	ti.mu.RUnlock()
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if !ti.loaded || ti.rev != rev {
		m, err := s.load(ctx, tenant)
		if err != nil {
			ti.loaded, ti.m = false, nil
			return err
		}
		ti.m, ti.loaded, ti.rev = m, true, rev
	}
	return fn(ti.m)
}

// loadBatch is the number of rows read per query while loading a tenant.
const loadBatch = 1000

// load reads every stored vector of the tenant into a new matrix,
// re-embedding rows of another model when allowed.
func (s *Service) load(ctx context.Context, tenant string) (*matrix, error) {
	model := s.emb.Model()
	var m *matrix
	var stale []ProjectEmbedding
	var rows []ProjectEmbedding
	res := s.db.WithContext(ctx).Where("tenant_id = ?", tenant).
		FindInBatches(&rows, loadBatch, func(_ *gorm.DB, _ int) error {
			for _, r := range rows {
				if r.EmbedModel != model || (m != nil && r.Dimensions != m.dims) || r.Dimensions <= 0 {
					r.Vector = nil
					stale = append(stale, r)
					continue
				}
				if m == nil {
					m = newMatrix(r.Dimensions)
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
		return nil, fmt.Errorf("similarity: load embeddings: %w", res.Error)
	}
	if len(stale) == 0 {
		return m, nil
	}
	if !s.reembed {
		return nil, fmt.Errorf("%w: %d stored embeddings of this tenant were made by another model than %q; index them again",
			ErrModelMismatch, len(stale), model)
	}
	return s.reembedRows(ctx, tenant, m, stale)
}

// reembedRows recomputes stale rows with the current embedder, stores them
// and adds them to m.
func (s *Service) reembedRows(ctx context.Context, tenant string, m *matrix, stale []ProjectEmbedding) (*matrix, error) {
	model := s.emb.Model()
	const batch = 256
	for start := 0; start < len(stale); start += batch {
		part := stale[start:min(start+batch, len(stale))]
		texts := make([]string, len(part))
		for i, r := range part {
			texts[i] = r.Text
		}
		vecs, err := s.embedTexts(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("similarity: re-embed with %q: %w", model, err)
		}
		for i, r := range part {
			v := vecs[i]
			if m == nil {
				m = newMatrix(len(v))
			}
			if len(v) != m.dims {
				return nil, &DimensionError{Model: model, Want: m.dims, Got: len(v)}
			}
			r.EmbedModel, r.Dimensions, r.Vector = model, len(v), encodeVector(v)
			r.ContentHash, r.UpdatedAt = contentHash(model, r.Text), time.Now().UTC()
			err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
				if err := upsertEmbedding(tx, r); err != nil {
					return err
				}
				_, err := bumpRevision(tx, tenant)
				return err
			})
			if err != nil {
				return nil, err
			}
			m.upsert(r.ProjectID, r.Name, v)
		}
	}
	return m, nil
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
// and reloaded on the next search. Callers hold the tenant's wmu.
func (s *Service) applyCache(p indexPlan, rev int64) {
	if p.unchanged {
		return
	}
	ti := s.entry(p.tenant)
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if !ti.loaded {
		return
	}
	if ti.rev != rev-1 {
		ti.loaded, ti.m = false, nil
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
		ti.loaded, ti.m = false, nil
	default:
		ti.m.upsert(p.projectID, p.row.Name, p.vec)
	}
}

package metalearn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// ModelRecord is the stored form of a trained model: one row per tenant and
// version in table metalearn_models. It embeds tenancy.Model, so the
// tenancy plugin scopes it to the context's tenant; the Store also filters
// by the context tenant itself.
type ModelRecord struct {
	tenancy.Model
	ID                string     `gorm:"column:id;primaryKey;type:varchar(36)"`
	Version           int        `gorm:"column:version;not null"`
	FormatVersion     int        `gorm:"column:format_version;not null"`
	FeatureSetVersion int        `gorm:"column:feature_set_version;not null"`
	NProjects         int        `gorm:"column:n_projects;not null"`
	TrainedAt         time.Time  `gorm:"column:trained_at;not null"`
	DataThrough       *time.Time `gorm:"column:data_through"`
	SuccessModel      string     `gorm:"column:success_model;type:varchar(32);not null"`
	CVMAE             float64    `gorm:"column:cv_mae;not null"`
	CVSpearman        float64    `gorm:"column:cv_spearman;not null"`
	BaselineMAE       float64    `gorm:"column:baseline_mae;not null"`
	Summary           string     `gorm:"column:summary;type:text;not null"`
	SHA256            string     `gorm:"column:sha256;type:varchar(64);not null"`
	SizeBytes         int        `gorm:"column:size_bytes;not null"`
	Pinned            bool       `gorm:"column:pinned;not null;default:false"`
	CreatedAt         time.Time  `gorm:"column:created_at;not null"`
	Data              []byte     `gorm:"column:data;not null"`
}

// TableName implements gorm's Tabler.
func (ModelRecord) TableName() string { return "metalearn_models" }

// metaColumns are the columns read when the model bytes are not needed.
var metaColumns = []string{
	"id", "tenant_id", "version", "format_version", "feature_set_version", "n_projects", "trained_at",
	"data_through", "success_model", "cv_mae", "cv_spearman", "baseline_mae", "summary", "sha256",
	"size_bytes", "pinned", "created_at",
}

// ModelInfo describes a stored model version.
type ModelInfo struct {
	// ID is the row's UUID.
	ID string `json:"id"`
	// Version numbers a tenant's models 1, 2, 3, ... in order of saving.
	Version int `json:"version"`
	// Pinned reports whether this version is pinned (at most one is).
	Pinned bool `json:"pinned"`
	// Active reports whether predictions use this version: the pinned one,
	// or the latest when none is pinned. Set by List and Active.
	Active bool `json:"active"`
	// CreatedAt is when the version was saved.
	CreatedAt time.Time `json:"created_at"`
	// SHA256 is the hex digest of the serialised model.
	SHA256 string `json:"sha256"`
	// SizeBytes is the size of the serialised model.
	SizeBytes int `json:"size_bytes"`
	Summary
}

// Store keeps a tenant's models in a database through GORM: save, list,
// load the active, latest or a given version, pin and roll back. Every
// method works on the tenant of its context (tenancy.WithTenant) and fails
// with tenancy.ErrNoTenant without one. Decoded models are cached by row id
// (rows are immutable apart from the pin). A Store is safe for concurrent
// use.
type Store struct {
	db    *gorm.DB
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]*Model
	order []string
	limit int
	// observe, when set, is told "hit", "miss" and "eviction" of the cache
	// of decoded models (WithCacheObserver).
	observe func(event string)
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithStoreClock sets the clock that stamps CreatedAt (default time.Now).
func WithStoreClock(now func() time.Time) StoreOption {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithCacheSize sets how many decoded models the Store keeps (default 16;
// 0 disables the cache).
func WithCacheSize(n int) StoreOption {
	return func(s *Store) {
		if n >= 0 {
			s.limit = n
		}
	}
}

// WithCacheObserver sets a function told every event of the Store's cache
// of decoded models, for metrics: "hit" (a model served decoded from
// memory), "miss" (read and decoded) and "eviction" (dropped beyond the
// cache size). Rows are immutable, so nothing is ever invalidated. It must
// be fast and safe for concurrent use.
func WithCacheObserver(fn func(event string)) StoreOption {
	return func(s *Store) { s.observe = fn }
}

func (s *Store) event(ev string) {
	if s.observe != nil {
		s.observe(ev)
	}
}

// NewStore returns a Store on db. The host should install the tenancy
// plugin on db (db.Use(tenancy.NewPlugin())); the Store scopes by tenant
// itself as well.
func NewStore(db *gorm.DB, opts ...StoreOption) *Store {
	s := &Store{db: db, now: time.Now, cache: map[string]*Model{}, limit: 16}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s
}

// scoped returns a session for the context's tenant.
func (s *Store) scoped(ctx context.Context) (*gorm.DB, string, error) {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return nil, "", fmt.Errorf("metalearn: model store: %w", tenancy.ErrNoTenant)
	}
	return s.db.WithContext(ctx), tenant, nil
}

// Save stores m as the tenant's next version and returns its info. A
// concurrent Save of the same tenant that takes the same number is retried.
func (s *Store) Save(ctx context.Context, m *Model) (ModelInfo, error) {
	if m == nil {
		return ModelInfo{}, errors.New("metalearn: save nil model")
	}
	db, tenant, err := s.scoped(ctx)
	if err != nil {
		return ModelInfo{}, err
	}
	data, err := m.MarshalBinary()
	if err != nil {
		return ModelInfo{}, err
	}
	sum := m.Summary()
	summary, err := json.Marshal(sum)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("metalearn: encode summary: %w", err)
	}
	digest := sha256.Sum256(data)
	rec := ModelRecord{
		Model:             tenancy.Model{TenantID: tenant},
		FormatVersion:     FormatVersion,
		FeatureSetVersion: sum.FeatureSetVersion,
		NProjects:         sum.NProjects,
		TrainedAt:         sum.TrainedAt,
		SuccessModel:      string(sum.Metrics.Model),
		CVMAE:             sum.Metrics.CVMAE,
		CVSpearman:        sum.Metrics.CVSpearman,
		BaselineMAE:       sum.Metrics.BaselineMAE,
		Summary:           string(summary),
		SHA256:            hex.EncodeToString(digest[:]),
		SizeBytes:         len(data),
		Data:              data,
	}
	if !sum.DataThrough.IsZero() {
		dt := sum.DataThrough
		rec.DataThrough = &dt
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		rec.ID = uuid.NewString()
		rec.CreatedAt = s.now().UTC()
		lastErr = db.Transaction(func(tx *gorm.DB) error {
			var last ModelRecord
			err := tx.Select("version").Where("tenant_id = ?", tenant).Order("version DESC").Limit(1).Take(&last).Error
			switch {
			case errors.Is(err, gorm.ErrRecordNotFound):
				rec.Version = 1
			case err != nil:
				return err
			default:
				rec.Version = last.Version + 1
			}
			return tx.Create(&rec).Error
		})
		if lastErr == nil {
			return s.info(&rec), nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return ModelInfo{}, fmt.Errorf("metalearn: save model: %w", lastErr)
}

// info converts a row (without needing its data) to ModelInfo.
func (s *Store) info(r *ModelRecord) ModelInfo {
	mi := ModelInfo{ID: r.ID, Version: r.Version, Pinned: r.Pinned, CreatedAt: r.CreatedAt.UTC(), SHA256: r.SHA256, SizeBytes: r.SizeBytes}
	if err := json.Unmarshal([]byte(r.Summary), &mi.Summary); err != nil {
		// The summary is informational; fall back to the typed columns.
		mi.Summary = Summary{}
	}
	mi.FormatVersion = r.FormatVersion
	mi.FeatureSetVersion = r.FeatureSetVersion
	mi.NProjects = r.NProjects
	mi.TrainedAt = r.TrainedAt.UTC()
	if r.DataThrough != nil {
		mi.DataThrough = r.DataThrough.UTC()
	}
	mi.Metrics.Model = ModelKind(r.SuccessModel)
	mi.Metrics.CVMAE, mi.Metrics.CVSpearman, mi.Metrics.BaselineMAE = r.CVMAE, r.CVSpearman, r.BaselineMAE
	return mi
}

// List returns the tenant's stored models, newest first, with Active set.
func (s *Store) List(ctx context.Context) ([]ModelInfo, error) {
	db, tenant, err := s.scoped(ctx)
	if err != nil {
		return nil, err
	}
	var rows []ModelRecord
	if err := db.Select(metaColumns).Where("tenant_id = ?", tenant).Order("version DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("metalearn: list models: %w", err)
	}
	out := make([]ModelInfo, len(rows))
	active := -1
	for i := range rows {
		out[i] = s.info(&rows[i])
		if rows[i].Pinned {
			active = i
		}
	}
	if active < 0 && len(out) > 0 {
		active = 0
	}
	if active >= 0 {
		out[active].Active = true
	}
	return out, nil
}

// LatestInfo returns the info of the tenant's newest model (ignoring any
// pin) without decoding it, or ErrNoModel.
func (s *Store) LatestInfo(ctx context.Context) (ModelInfo, error) {
	db, tenant, err := s.scoped(ctx)
	if err != nil {
		return ModelInfo{}, err
	}
	var row ModelRecord
	if err := db.Select(metaColumns).Where("tenant_id = ?", tenant).Order("version DESC").Limit(1).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ModelInfo{}, fmt.Errorf("%w: latest", ErrNoModel)
		}
		return ModelInfo{}, fmt.Errorf("metalearn: latest model: %w", err)
	}
	return s.info(&row), nil
}

// Latest returns the tenant's newest model, ignoring any pin, or
// ErrNoModel.
func (s *Store) Latest(ctx context.Context) (*Model, ModelInfo, error) {
	return s.load(ctx, func(q *gorm.DB) *gorm.DB { return q.Order("version DESC") }, "latest")
}

// Load returns the tenant's model with the given version, or
// ErrUnknownVersion.
func (s *Store) Load(ctx context.Context, version int) (*Model, ModelInfo, error) {
	m, mi, err := s.load(ctx, func(q *gorm.DB) *gorm.DB { return q.Where("version = ?", version) }, fmt.Sprintf("version %d", version))
	if errors.Is(err, ErrNoModel) {
		return nil, ModelInfo{}, fmt.Errorf("%w: version %d", ErrUnknownVersion, version)
	}
	return m, mi, err
}

// Active returns the model predictions should use: the pinned version, or
// the latest when none is pinned; ErrNoModel when the tenant has none.
func (s *Store) Active(ctx context.Context) (*Model, ModelInfo, error) {
	return s.load(ctx, func(q *gorm.DB) *gorm.DB { return q.Order("pinned DESC").Order("version DESC") }, "active")
}

func (s *Store) load(ctx context.Context, pick func(*gorm.DB) *gorm.DB, what string) (*Model, ModelInfo, error) {
	db, tenant, err := s.scoped(ctx)
	if err != nil {
		return nil, ModelInfo{}, err
	}
	var row ModelRecord
	q := pick(db.Select(metaColumns).Where("tenant_id = ?", tenant)).Limit(1)
	if err := q.Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ModelInfo{}, fmt.Errorf("%w: %s", ErrNoModel, what)
		}
		return nil, ModelInfo{}, fmt.Errorf("metalearn: load model: %w", err)
	}
	mi := s.info(&row)
	if m := s.cached(row.ID); m != nil {
		s.event("hit")
		return m, mi, nil
	}
	s.event("miss")
	var data ModelRecord
	if err := db.Select("id", "data", "sha256").Where("tenant_id = ? AND id = ?", tenant, row.ID).Take(&data).Error; err != nil {
		return nil, ModelInfo{}, fmt.Errorf("metalearn: load model data: %w", err)
	}
	digest := sha256.Sum256(data.Data)
	if hex.EncodeToString(digest[:]) != data.SHA256 {
		return nil, ModelInfo{}, fmt.Errorf("%w: stored digest mismatch for version %d", ErrCorruptModel, row.Version)
	}
	m, err := DecodeModel(data.Data)
	if err != nil {
		return nil, ModelInfo{}, fmt.Errorf("metalearn: version %d: %w", row.Version, err)
	}
	s.remember(row.ID, m)
	return m, mi, nil
}

func (s *Store) cached(id string) *Model {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache[id]
}

func (s *Store) remember(id string, m *Model) {
	if s.limit == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cache[id]; ok {
		return
	}
	for len(s.order) >= s.limit {
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
		s.event("eviction")
	}
	s.cache[id] = m
	s.order = append(s.order, id)
}

// Pin makes version the active model until another is pinned or Unpin is
// called; ErrUnknownVersion when the version does not exist.
func (s *Store) Pin(ctx context.Context, version int) error {
	db, tenant, err := s.scoped(ctx)
	if err != nil {
		return err
	}
	return db.Transaction(func(tx *gorm.DB) error {
		var row ModelRecord
		if err := tx.Select("id").Where("tenant_id = ? AND version = ?", tenant, version).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: version %d", ErrUnknownVersion, version)
			}
			return fmt.Errorf("metalearn: pin: %w", err)
		}
		if err := tx.Model(&ModelRecord{}).Where("tenant_id = ? AND pinned = ?", tenant, true).Update("pinned", false).Error; err != nil {
			return fmt.Errorf("metalearn: pin: %w", err)
		}
		if err := tx.Model(&ModelRecord{}).Where("tenant_id = ? AND id = ?", tenant, row.ID).Update("pinned", true).Error; err != nil {
			return fmt.Errorf("metalearn: pin: %w", err)
		}
		return nil
	})
}

// Unpin removes the pin, so the latest version becomes active again.
func (s *Store) Unpin(ctx context.Context) error {
	db, tenant, err := s.scoped(ctx)
	if err != nil {
		return err
	}
	if err := db.Model(&ModelRecord{}).Where("tenant_id = ? AND pinned = ?", tenant, true).Update("pinned", false).Error; err != nil {
		return fmt.Errorf("metalearn: unpin: %w", err)
	}
	return nil
}

// Rollback pins the newest version older than the active one and returns
// it; ErrNoModel when there is no older version.
func (s *Store) Rollback(ctx context.Context) (ModelInfo, error) {
	list, err := s.List(ctx)
	if err != nil {
		return ModelInfo{}, err
	}
	for i, mi := range list {
		if !mi.Active {
			continue
		}
		if i+1 >= len(list) {
			break
		}
		prev := list[i+1]
		if err := s.Pin(ctx, prev.Version); err != nil {
			return ModelInfo{}, err
		}
		prev.Pinned, prev.Active = true, true
		return prev, nil
	}
	if len(list) == 0 {
		return ModelInfo{}, fmt.Errorf("%w: nothing to roll back", ErrNoModel)
	}
	return ModelInfo{}, ErrNoOlderVersion
}

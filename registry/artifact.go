package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/tenancy"
)

// ArtifactType is the kind of a reusable artifact.
type ArtifactType string

// The artifact types.
const (
	FeaturePipeline ArtifactType = "feature_pipeline"
	ModelTemplate   ArtifactType = "model_template"
	SchemaArtifact  ArtifactType = "schema"
	Notebook        ArtifactType = "notebook"
	Dataset         ArtifactType = "dataset"
	OtherArtifact   ArtifactType = "other"
)

// ArtifactTypes returns every artifact type, in a fixed order.
func ArtifactTypes() []ArtifactType {
	return []ArtifactType{FeaturePipeline, ModelTemplate, SchemaArtifact, Notebook, Dataset, OtherArtifact}
}

// Valid reports whether t is one of the artifact types.
func (t ArtifactType) Valid() bool {
	for _, x := range ArtifactTypes() {
		if t == x {
			return true
		}
	}
	return false
}

// Artifact is a reusable, versioned piece of ML work in a tenant's library.
// Name and Version identify it within the tenant. ContentSHA256 and
// SizeBytes describe its content once uploaded (empty and 0 before).
// UsageCount counts the projects that recorded using it; AvgImpactScore
// is the mean of their impact scores (nil while none gave one).
type Artifact struct {
	tenancy.Model
	ID             string       `gorm:"column:id;primaryKey" json:"id"`
	Name           string       `gorm:"column:name" json:"name"`
	Type           ArtifactType `gorm:"column:type" json:"type"`
	Version        string       `gorm:"column:version" json:"version"`
	Description    string       `gorm:"column:description" json:"description"`
	Tags           []string     `gorm:"column:tags;serializer:json" json:"tags"`
	ContentSHA256  string       `gorm:"column:content_sha256" json:"content_sha256,omitempty"`
	SizeBytes      int64        `gorm:"column:size_bytes" json:"size_bytes"`
	ContentKey     string       `gorm:"column:content_key" json:"-"`
	UsageCount     int64        `gorm:"column:usage_count" json:"usage_count"`
	ImpactCount    int64        `gorm:"column:impact_count" json:"-"`
	ImpactSum      float64      `gorm:"column:impact_sum" json:"-"`
	AvgImpactScore *float64     `gorm:"column:avg_impact_score" json:"avg_impact_score"`
	CreatedAt      time.Time    `gorm:"column:created_at" json:"created_at"`
	UpdatedAt      time.Time    `gorm:"column:updated_at" json:"updated_at"`
}

// TableName implements gorm's Tabler.
func (Artifact) TableName() string { return "artifacts" }

// artifactTag indexes an artifact's tags for search.
type artifactTag struct {
	tenancy.Model
	ArtifactID string `gorm:"column:artifact_id;primaryKey"`
	Tag        string `gorm:"column:tag;primaryKey"`
}

func (artifactTag) TableName() string { return "artifact_tags" }

// ArtifactUsage records that a project used an artifact, with an optional
// impact score from 0 to 100.
type ArtifactUsage struct {
	tenancy.Model
	ID          string    `gorm:"column:id;primaryKey" json:"id"`
	ArtifactID  string    `gorm:"column:artifact_id" json:"artifact_id"`
	ProjectID   string    `gorm:"column:project_id" json:"project_id"`
	ImpactScore *float64  `gorm:"column:impact_score" json:"impact_score"`
	Context     string    `gorm:"column:context" json:"context"`
	CreatedAt   time.Time `gorm:"column:created_at" json:"created_at"`
}

// TableName implements gorm's Tabler.
func (ArtifactUsage) TableName() string { return "artifact_usages" }

// ArtifactInput is what CreateArtifact needs. Version is 1-64 characters
// of letters, digits and . + _ - (for example "1.2.0").
type ArtifactInput struct {
	Name        string       `json:"name"`
	Type        ArtifactType `json:"type"`
	Version     string       `json:"version"`
	Description string       `json:"description,omitempty"`
	Tags        []string     `json:"tags,omitempty"`
}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$`)

// CreateArtifact adds an artifact (without content) to the library. A
// second artifact with the same name and version is ErrConflict.
func (r *Registry) CreateArtifact(ctx context.Context, in ArtifactInput) (*Artifact, error) {
	var v validator
	name := checkName(&v, "name", in.Name)
	v.check(in.Type.Valid(), "type", "must be one of feature_pipeline, model_template, schema, notebook, dataset, other")
	v.check(versionRE.MatchString(in.Version), "version", "must be 1-64 characters of letters, digits and . + _ -")
	desc := checkText(&v, "description", in.Description)
	tags := normTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	now := r.timestamp()
	a := &Artifact{ID: newID(), Name: name, Type: in.Type, Version: in.Version, Description: desc,
		Tags: tags, CreatedAt: now, UpdatedAt: now}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if err := r.checkQuota(ctx, tx, tenancy.ResourceArtifacts, 1); err != nil {
			return err
		}
		if err := tx.Create(a).Error; err != nil {
			return dbErr(err, fmt.Sprintf("artifact %s version %s", name, in.Version))
		}
		if len(tags) == 0 {
			return nil
		}
		rows := make([]artifactTag, len(tags))
		for i, t := range tags {
			rows[i] = artifactTag{ArtifactID: a.ID, Tag: t}
		}
		return dbErr(tx.Create(&rows).Error, "artifact tags")
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// GetArtifact returns an artifact of the tenant's library.
func (r *Registry) GetArtifact(ctx context.Context, id string) (*Artifact, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	return getArtifact(db, id)
}

func getArtifact(db *gorm.DB, id string) (*Artifact, error) {
	if !validID(id) {
		return nil, notFound("artifact", id)
	}
	var a Artifact
	if err := db.Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, dbErr(err, "artifact "+id)
	}
	return &a, nil
}

// DeleteArtifact deletes an artifact, its usages and its content. The
// content goes after the rows' transaction has committed: every blob under
// the artifact's prefix is removed, which includes any upload still in
// flight.
func (r *Registry) DeleteArtifact(ctx context.Context, id string) error {
	var prefix string
	err := r.tx(ctx, func(tx *gorm.DB) error {
		a, err := getArtifact(tx, id)
		if err != nil {
			return err
		}
		if r.blobs != nil {
			// A tenant id that cannot name a blob directory has no content.
			prefix, _ = blobPrefix(ctx, a.ID)
		}
		for _, m := range []any{&ArtifactUsage{}, &artifactTag{}} {
			if err := tx.Where("artifact_id = ?", a.ID).Delete(m).Error; err != nil {
				return dbErr(err, "delete artifact")
			}
		}
		return dbErr(tx.Where("id = ?", a.ID).Delete(&Artifact{}).Error, "delete artifact")
	})
	if err != nil || prefix == "" {
		return err
	}
	return r.blobs.DeletePrefix(ctx, prefix)
}

// blobPrefix returns the blob prefix of an artifact of the context's
// tenant: "<tenant id>/<artifact id>". A tenant id must be a single
// path-safe segment, so that no tenant's prefix lies inside another's.
func blobPrefix(ctx context.Context, artifactID string) (string, error) {
	t, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return "", fmt.Errorf("registry: %w", tenancy.ErrNoTenant)
	}
	p := t + "/" + artifactID
	if strings.Contains(t, "/") || !ValidBlobPrefix(p) {
		return "", fmt.Errorf("%w: tenant id %q cannot name a blob directory", ErrInvalid, t)
	}
	return p, nil
}

var errNoBlobStore = invalid("content", "no blob store configured")

// PutArtifactContent streams r into the artifact's content, replacing any
// previous content, and records its SHA-256 and size. Content beyond the
// Registry's limit fails with ErrTooLarge and changes nothing.
//
// Every upload is stored under its own prefix
// "<tenant id>/<artifact id>/<upload id>", so no two uploads share a blob.
// The artifact's row is locked while the new key is recorded, so
// concurrent uploads replace each other in a definite order; after the
// commit the replaced blob is deleted, and when the update fails the new
// blob is. Concurrent uploads therefore leave exactly the current
// content behind (barring a failed Delete, which leaves garbage, never a
// dangling key).
//
// With WithQuota, the tenant's storage quota is checked twice: before the
// upload streams, to stop it once it can no longer fit (the read fails
// with the quota error and the partial blob is discarded), and in the
// transaction that records the content, which decides. An upload refused
// by either leaves no blob behind.
func (r *Registry) PutArtifactContent(ctx context.Context, id string, content io.Reader) (*Artifact, error) {
	if r.blobs == nil {
		return nil, errNoBlobStore
	}
	a, err := r.GetArtifact(ctx, id)
	if err != nil {
		return nil, err
	}
	prefix, err := blobPrefix(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var src io.Reader = &limitReader{r: content, n: r.maxBlob, max: r.maxBlob}
	allowed, qe, err := r.contentAllowance(ctx, a.SizeBytes)
	if err != nil {
		return nil, err
	}
	if allowed >= 0 && allowed < r.maxBlob {
		src = &quotaReader{r: src, n: allowed, current: a.SizeBytes, err: qe}
	}
	info, err := r.blobs.Put(ctx, prefix+"/"+newID(), src)
	if err != nil {
		var quota *tenancy.QuotaError
		if errors.As(err, &quota) {
			return nil, quota
		}
		return nil, fmt.Errorf("registry: store content: %w", err)
	}
	var out *Artifact
	var old string
	err = r.tx(ctx, func(tx *gorm.DB) error {
		// FOR UPDATE on PostgreSQL: a concurrent upload waits here and
		// then reads the key this one records. SQLite runs write
		// transactions one at a time anyway.
		cur, err := getArtifact(tx.Clauses(clause.Locking{Strength: "UPDATE"}), id)
		if err != nil {
			return err
		}
		old = cur.ContentKey
		// Checked after the artifact's lock: a concurrent upload of the
		// same artifact has committed its size by now.
		if err := r.checkQuota(ctx, tx, tenancy.ResourceStorageBytes, info.Size-cur.SizeBytes); err != nil {
			return err
		}
		set := map[string]any{"content_sha256": info.SHA256, "size_bytes": info.Size,
			"content_key": info.Key, "updated_at": r.timestamp()}
		if err := tx.Model(&Artifact{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return dbErr(err, "artifact content")
		}
		out, err = getArtifact(tx, id)
		return err
	})
	if err != nil {
		// The new blob is this upload's alone: nothing refers to it.
		_ = r.blobs.Delete(context.WithoutCancel(ctx), info.Key)
		return nil, err
	}
	if old != "" && old != info.Key {
		// The old content is unreachable now; failing to remove it
		// leaves garbage, not an inconsistency.
		_ = r.blobs.Delete(context.WithoutCancel(ctx), old)
	}
	return out, nil
}

// OpenArtifactContent opens an artifact's content for reading; the caller
// closes it. An artifact without content is ErrNotFound.
func (r *Registry) OpenArtifactContent(ctx context.Context, id string) (io.ReadCloser, *Artifact, error) {
	if r.blobs == nil {
		return nil, nil, errNoBlobStore
	}
	a, err := r.GetArtifact(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if a.ContentKey == "" {
		return nil, nil, fmt.Errorf("%w: artifact %s has no content", ErrNotFound, id)
	}
	rc, err := r.blobs.Get(ctx, a.ContentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: open content: %w", err)
	}
	return rc, a, nil
}

// DeleteTenantBlobs removes every blob of a tenant from the Registry's
// blob store. Call it from a tenant-deletion hook after the tenant's rows
// are gone; it takes the tenant id explicitly because no tenant context is
// needed for platform work. Without a blob store it does nothing.
func (r *Registry) DeleteTenantBlobs(ctx context.Context, tenantID string) error {
	if r.blobs == nil {
		return nil
	}
	if !ValidBlobPrefix(tenantID) || strings.Contains(tenantID, "/") {
		return fmt.Errorf("%w: tenant id %q cannot name a blob directory", ErrInvalid, tenantID)
	}
	return r.blobs.DeletePrefix(ctx, tenantID)
}

// ArtifactUsageInput is what RecordArtifactUsage needs. ImpactScore is
// optional, from 0 to 100.
type ArtifactUsageInput struct {
	ProjectID   string   `json:"project_id"`
	ImpactScore *float64 `json:"impact_score,omitempty"`
	Context     string   `json:"context,omitempty"`
}

// RecordArtifactUsage records that a project used an artifact. The
// artifact's UsageCount and AvgImpactScore are updated by one atomic
// UPDATE in the same transaction, so concurrent usages never lose a count.
// A project records one usage per artifact; a second is ErrConflict.
func (r *Registry) RecordArtifactUsage(ctx context.Context, artifactID string, in ArtifactUsageInput) (*ArtifactUsage, error) {
	var v validator
	v.check(validID(in.ProjectID), "project_id", "must be a project id")
	if in.ImpactScore != nil {
		s := *in.ImpactScore
		v.check(finite(s) && s >= 0 && s <= 100, "impact_score", "must be a number from 0 to 100")
	}
	uctx := checkText(&v, "context", in.Context)
	if err := v.err(); err != nil {
		return nil, err
	}
	u := &ArtifactUsage{ID: newID(), ArtifactID: artifactID, ProjectID: in.ProjectID, Context: uctx, CreatedAt: r.timestamp()}
	if in.ImpactScore != nil {
		s := *in.ImpactScore
		u.ImpactScore = &s
	}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getArtifact(tx, artifactID); err != nil {
			return err
		}
		if _, err := getProject(tx, in.ProjectID); err != nil {
			if errors.Is(err, ErrNotFound) {
				return invalid("project_id", "no such project")
			}
			return err
		}
		if err := tx.Create(u).Error; err != nil {
			return dbErr(err, "usage of this artifact by this project")
		}
		set := map[string]any{"usage_count": gorm.Expr("usage_count + 1")}
		if u.ImpactScore != nil {
			set["impact_count"] = gorm.Expr("impact_count + 1")
			set["impact_sum"] = gorm.Expr("impact_sum + ?", *u.ImpactScore)
			set["avg_impact_score"] = gorm.Expr("(impact_sum + ?) / (impact_count + 1)", *u.ImpactScore)
		}
		return dbErr(tx.Model(&Artifact{}).Where("id = ?", artifactID).Updates(set).Error, "artifact usage")
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// refreshArtifactStats recomputes an artifact's usage statistics from its
// usages.
func refreshArtifactStats(tx *gorm.DB, artifactID string) error {
	var agg struct {
		N   int64
		K   int64
		Sum *float64
	}
	err := tx.Model(&ArtifactUsage{}).Select("COUNT(*) AS n, COUNT(impact_score) AS k, SUM(impact_score) AS sum").
		Where("artifact_id = ?", artifactID).Scan(&agg).Error
	if err != nil {
		return dbErr(err, "artifact usage statistics")
	}
	set := map[string]any{"usage_count": agg.N, "impact_count": agg.K, "impact_sum": 0.0, "avg_impact_score": nil}
	if agg.K > 0 && agg.Sum != nil {
		set["impact_sum"] = *agg.Sum
		set["avg_impact_score"] = *agg.Sum / float64(agg.K)
	}
	return dbErr(tx.Model(&Artifact{}).Where("id = ?", artifactID).Updates(set).Error, "artifact usage statistics")
}

// ArtifactUsageFilter selects usages by artifact, project or both; at
// least one is required.
type ArtifactUsageFilter struct {
	ArtifactID string
	ProjectID  string
	// Limit is the page size of ArtifactUsages: 0 means DefaultLimit, at
	// most MaxLimit. ListArtifactUsages ignores it.
	Limit int
	// Cursor continues a previous page of ArtifactUsages with the same
	// filter. ListArtifactUsages ignores it.
	Cursor string
}

// usages selects the usages f names, or reports a filter without ids.
func (f ArtifactUsageFilter) usages(db *gorm.DB) (*gorm.DB, error) {
	if f.ArtifactID == "" && f.ProjectID == "" {
		return nil, invalid("filter", "needs an artifact id or a project id")
	}
	q := db.Model(&ArtifactUsage{})
	if f.ArtifactID != "" {
		q = q.Where("artifact_id = ?", f.ArtifactID)
	}
	if f.ProjectID != "" {
		q = q.Where("project_id = ?", f.ProjectID)
	}
	return q, nil
}

// ArtifactUsages returns a page of the usages f selects, oldest first.
func (r *Registry) ArtifactUsages(ctx context.Context, f ArtifactUsageFilter) (Page[ArtifactUsage], error) {
	if f.ArtifactID == "" && f.ProjectID == "" {
		return Page[ArtifactUsage]{}, invalid("filter", "needs an artifact id or a project id")
	}
	fk := filterKey("artifact usages", f.ArtifactID, f.ProjectID)
	limit, after, err := pageStart(PageRequest{Limit: f.Limit, Cursor: f.Cursor}, fk, nil)
	if err != nil {
		return Page[ArtifactUsage]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[ArtifactUsage]{}, err
	}
	q, err := f.usages(db)
	if err != nil {
		return Page[ArtifactUsage]{}, err
	}
	return keysetPage(q, "id", afterArg(after), limit, fk, func(u ArtifactUsage) string { return u.ID }, "artifact usages")
}

// ListArtifactUsages returns every usage f selects, oldest first, in one
// slice (f.Limit and f.Cursor are ignored).
//
// Deprecated: the result grows without bound; use ArtifactUsages, which
// returns a page. ListArtifactUsages remains for callers that still need
// the whole list (metalearn's RegistryHistory reads one project's usages).
func (r *Registry) ListArtifactUsages(ctx context.Context, f ArtifactUsageFilter) ([]ArtifactUsage, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	q, err := f.usages(db)
	if err != nil {
		return nil, err
	}
	out := []ArtifactUsage{}
	if err := q.Order("id").Find(&out).Error; err != nil {
		return nil, dbErr(err, "artifact usages")
	}
	return out, nil
}

// ArtifactFilter selects artifacts for SearchArtifacts. Zero fields do not
// filter. Q matches a case-insensitive substring of the name or
// description; MinImpact keeps artifacts whose mean impact is at least
// that.
type ArtifactFilter struct {
	Type      ArtifactType
	Q         string
	Tag       string
	MinImpact *float64
	Limit     int
	Cursor    string
}

// SearchArtifacts lists the tenant's artifacts matching f, newest first.
func (r *Registry) SearchArtifacts(ctx context.Context, f ArtifactFilter) (Page[Artifact], error) {
	var v validator
	if f.Type != "" {
		v.check(f.Type.Valid(), "type", "must be one of feature_pipeline, model_template, schema, notebook, dataset, other")
	}
	q := checkQuery(&v, f.Q)
	var tag string
	if f.Tag != "" {
		if t := normTags(&v, "tag", []string{f.Tag}); len(t) == 1 {
			tag = t[0]
		}
	}
	minImpact := ""
	if f.MinImpact != nil {
		v.check(finite(*f.MinImpact), "min_impact", "must be a finite number")
		b, _ := json.Marshal(*f.MinImpact)
		minImpact = string(b)
	}
	limit := pageLimit(&v, f.Limit)
	fk := filterKey("artifacts", string(f.Type), q, tag, minImpact)
	var after string
	if len(v.errs) == 0 {
		var err error
		if after, err = decodeCursor(f.Cursor, fk); err != nil {
			return Page[Artifact]{}, err
		}
	}
	if err := v.err(); err != nil {
		return Page[Artifact]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[Artifact]{}, err
	}
	qb := db.Model(&Artifact{})
	if f.Type != "" {
		qb = qb.Where("type = ?", f.Type)
	}
	if q != "" {
		pat := likePattern(q)
		qb = qb.Where(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`, pat, pat)
	}
	if tag != "" {
		qb = qb.Where("id IN (?)", db.Model(&artifactTag{}).Select("artifact_id").Where("tag = ?", tag))
	}
	if f.MinImpact != nil {
		qb = qb.Where("avg_impact_score >= ?", *f.MinImpact)
	}
	if after != "" {
		qb = qb.Where("id < ?", after)
	}
	var items []Artifact
	if err := qb.Order("id DESC").Limit(limit + 1).Find(&items).Error; err != nil {
		return Page[Artifact]{}, dbErr(err, "search artifacts")
	}
	return finishPage(items, limit, func(a Artifact) string { return a.ID }, fk), nil
}

// TopArtifacts returns up to limit (1 to MaxLimit; 0 means 10) artifacts
// with at least one impact score, best mean impact first, ties broken by
// usage count. A non-empty typ restricts the list to one type.
func (r *Registry) TopArtifacts(ctx context.Context, typ ArtifactType, limit int) ([]Artifact, error) {
	var v validator
	if typ != "" {
		v.check(typ.Valid(), "type", "must be one of feature_pipeline, model_template, schema, notebook, dataset, other")
	}
	if limit == 0 {
		limit = 10
	}
	v.check(limit > 0 && limit <= MaxLimit, "limit", "must be between 1 and %d", MaxLimit)
	if err := v.err(); err != nil {
		return nil, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	q := db.Where("impact_count > 0")
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	out := []Artifact{}
	if err := q.Order("avg_impact_score DESC, usage_count DESC, id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, dbErr(err, "top artifacts")
	}
	return out, nil
}

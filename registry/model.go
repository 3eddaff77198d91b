package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// RegisteredModel is a named model whose versions are numbered 1, 2, 3...
type RegisteredModel struct {
	tenancy.Model
	ID          string `gorm:"column:id;primaryKey" json:"id"`
	Name        string `gorm:"column:name" json:"name"`
	Description string `gorm:"column:description" json:"description"`
	// LatestVersion is the highest version number ever given: a deleted
	// version's number is not given again, so it may name a version that
	// no longer exists.
	LatestVersion int       `gorm:"column:latest_version" json:"latest_version"`
	CreatedAt     time.Time `gorm:"column:created_at" json:"created_at"`
	UpdatedAt     time.Time `gorm:"column:updated_at" json:"updated_at"`
	// Tags are the model's tags (SetModelTag).
	Tags map[string]string `gorm:"-" json:"tags"`
}

// TableName implements gorm's Tabler.
func (RegisteredModel) TableName() string { return "registered_models" }

// ModelVersion is one numbered version of a registered model. Source says
// where the model's files are (a URI or an artifact reference); RunID
// optionally names the run that produced it.
//
// RunID is lineage, not a foreign key: CreateModelVersion checks that the
// run exists in the tenant, but a model version outlives the run (deleting
// the project that owned the run keeps its model versions, as deployed
// models must not vanish with an experiment), so RunID may later name a
// run that no longer exists: the version keeps its Source and RunID, and
// the files Source names are whatever the run's store still holds. A
// foreign key could not express this
// portably: ON DELETE SET NULL on the composite (tenant_id, run_id) key
// would also clear tenant_id.
type ModelVersion struct {
	tenancy.Model
	ID          string  `gorm:"column:id;primaryKey" json:"id"`
	ModelID     string  `gorm:"column:model_id" json:"model_id"`
	Version     int     `gorm:"column:version" json:"version"`
	Source      string  `gorm:"column:source" json:"source"`
	RunID       *string `gorm:"column:run_id" json:"run_id"`
	Description string  `gorm:"column:description" json:"description"`
	// Stage is MLflow's stage: None, Staging, Production or Archived
	// (TransitionModelVersionStage).
	Stage     string    `gorm:"column:stage" json:"stage"`
	CreatedAt time.Time `gorm:"column:created_at" json:"created_at"`
	// Tags are the version's tags (SetModelVersionTag).
	Tags map[string]string `gorm:"-" json:"tags"`
}

// TableName implements gorm's Tabler.
func (ModelVersion) TableName() string { return "model_versions" }

// ModelAlias points a name such as "champion" at one version of a model.
type ModelAlias struct {
	tenancy.Model
	ModelID   string    `gorm:"column:model_id;primaryKey" json:"model_id"`
	Alias     string    `gorm:"column:alias;primaryKey" json:"alias"`
	Version   int       `gorm:"column:version" json:"version"`
	UpdatedAt time.Time `gorm:"column:updated_at" json:"updated_at"`
}

// TableName implements gorm's Tabler.
func (ModelAlias) TableName() string { return "model_aliases" }

// ModelInput is what CreateModel needs.
type ModelInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ModelVersionInput is what CreateModelVersion needs.
type ModelVersionInput struct {
	Source      string            `json:"source"`
	RunID       string            `json:"run_id,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// MaxSourceLength bounds a model version's source.
const MaxSourceLength = 2000

// CreateModel registers a model. Names are unique within a tenant
// (ErrConflict) and must not look like an id-free path: 1-200 characters
// without control characters or '/'.
func (r *Registry) CreateModel(ctx context.Context, in ModelInput) (*RegisteredModel, error) {
	var v validator
	name := checkName(&v, "name", in.Name)
	v.check(!strings.Contains(name, "/"), "name", "must not contain '/'")
	desc := checkText(&v, "description", in.Description)
	checkTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	now := r.timestamp()
	m := &RegisteredModel{ID: newID(), Name: name, Description: desc, CreatedAt: now, UpdatedAt: now, Tags: map[string]string{}}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(m).Error; err != nil {
			return dbErr(err, "model "+name)
		}
		for k, val := range in.Tags {
			m.Tags[k] = val
		}
		return writeModelTags(tx, m.ID, 0, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// GetModel returns a registered model by name.
func (r *Registry) GetModel(ctx context.Context, name string) (*RegisteredModel, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	m, err := getModel(db, name)
	if err != nil {
		return nil, err
	}
	one := []RegisteredModel{*m}
	if err := loadModelTags(db, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

func getModel(db *gorm.DB, name string) (*RegisteredModel, error) {
	var m RegisteredModel
	if err := db.Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, dbErr(err, fmt.Sprintf("model %q", name))
	}
	return &m, nil
}

// ListModels returns a page of the tenant's registered models ordered by
// name.
func (r *Registry) ListModels(ctx context.Context, page PageRequest) (Page[RegisteredModel], error) {
	fk := filterKey("models")
	limit, after, err := pageStart(page, fk, nil)
	if err != nil {
		return Page[RegisteredModel]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[RegisteredModel]{}, err
	}
	// The cursor holds the id of the last model (short, whatever the
	// name); the page continues after that model's name, which is unique
	// in the tenant.
	var from any
	if after != "" {
		from = db.Model(&RegisteredModel{}).Select("name").Where("id = ?", after)
	}
	p, err := keysetPage(db.Model(&RegisteredModel{}), "name", from, limit, fk,
		func(m RegisteredModel) string { return m.ID }, "models")
	if err != nil {
		return p, err
	}
	return p, loadModelTags(db, p.Items)
}

// CreateModelVersion adds the next numbered version to a model. Numbering
// is concurrency-safe: the model row's counter is incremented by an UPDATE
// that holds the row lock until the transaction ends, and (model,
// version) is unique in the database as a second guard. A RunID must name
// a run of the tenant.
func (r *Registry) CreateModelVersion(ctx context.Context, modelName string, in ModelVersionInput) (*ModelVersion, error) {
	var v validator
	src := checkName(&v, "source", in.Source)
	if len(src) > MaxSourceLength {
		v.add("source", "must be at most %d bytes", MaxSourceLength)
	}
	if in.RunID != "" {
		v.check(validID(in.RunID), "run_id", "must be a run id")
	}
	desc := checkText(&v, "description", in.Description)
	checkTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	var mv *ModelVersion
	err := r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		if in.RunID != "" {
			if _, err := getRun(tx, in.RunID); err != nil {
				if errors.Is(err, ErrNotFound) {
					return invalid("run_id", "no such run")
				}
				return err
			}
		}
		now := r.timestamp()
		if err := tx.Model(&RegisteredModel{}).Where("id = ?", m.ID).
			Updates(map[string]any{"latest_version": gorm.Expr("latest_version + 1"), "updated_at": now}).Error; err != nil {
			return dbErr(err, "model version")
		}
		if m, err = getModel(tx, modelName); err != nil {
			return err
		}
		mv = &ModelVersion{ID: newID(), ModelID: m.ID, Version: m.LatestVersion, Source: src, Description: desc,
			Stage: StageNone, CreatedAt: now, Tags: map[string]string{}}
		if in.RunID != "" {
			id := in.RunID
			mv.RunID = &id
		}
		if err := tx.Create(mv).Error; err != nil {
			return dbErr(err, "model version")
		}
		for k, val := range in.Tags {
			mv.Tags[k] = val
		}
		return writeModelTags(tx, m.ID, mv.Version, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return mv, nil
}

// GetModelVersion returns one version of a model.
func (r *Registry) GetModelVersion(ctx context.Context, modelName string, version int) (*ModelVersion, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	m, err := getModel(db, modelName)
	if err != nil {
		return nil, err
	}
	return getModelVersion(db, m, version)
}

func getModelVersion(db *gorm.DB, m *RegisteredModel, version int) (*ModelVersion, error) {
	one := make([]ModelVersion, 1)
	if err := db.Where("model_id = ? AND version = ?", m.ID, version).Take(&one[0]).Error; err != nil {
		return nil, dbErr(err, fmt.Sprintf("model %q version %d", m.Name, version))
	}
	if err := loadVersionTags(db, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// ListModelVersions returns a page of a model's versions, oldest first.
func (r *Registry) ListModelVersions(ctx context.Context, modelName string, page PageRequest) (Page[ModelVersion], error) {
	fk := filterKey("model versions", modelName)
	limit, after, err := pageStart(page, fk, func(k string) bool {
		n, err := strconv.Atoi(k)
		return err == nil && n >= 1 && strconv.Itoa(n) == k
	})
	if err != nil {
		return Page[ModelVersion]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[ModelVersion]{}, err
	}
	m, err := getModel(db, modelName)
	if err != nil {
		return Page[ModelVersion]{}, err
	}
	var from any
	if after != "" {
		n, _ := strconv.Atoi(after) // validated by pageStart
		from = n
	}
	p, err := keysetPage(db.Where("model_id = ?", m.ID), "version", from, limit, fk,
		func(v ModelVersion) string { return strconv.Itoa(v.Version) }, "model versions")
	if err != nil {
		return p, err
	}
	return p, loadVersionTags(db, p.Items)
}

// checkAlias validates an alias name: a lower-case letter, then up to 63
// lower-case letters, digits, '_' or '-'. "latest" and "v<number>" are
// reserved because they read like version selectors.
func checkAlias(alias string) error {
	if len(alias) > 64 || !aliasRE.MatchString(alias) {
		return invalid("alias", "must be a lower-case letter followed by up to 63 of a-z, 0-9, _ and -")
	}
	if alias == "latest" {
		return invalid("alias", "%q is reserved", alias)
	}
	if len(alias) > 1 && alias[0] == 'v' {
		if _, err := strconv.Atoi(alias[1:]); err == nil {
			return invalid("alias", "%q is reserved", alias)
		}
	}
	return nil
}

// SetModelAlias points alias at an existing version of a model, creating
// or moving the alias. An alias to a version that does not exist is
// refused with ErrInvalid and changes nothing.
func (r *Registry) SetModelAlias(ctx context.Context, modelName, alias string, version int) (*ModelAlias, error) {
	if err := checkAlias(alias); err != nil {
		return nil, err
	}
	var out *ModelAlias
	err := r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		if _, err := getModelVersion(tx, m, version); err != nil {
			if errors.Is(err, ErrNotFound) {
				return invalid("version", "model %q has no version %d", modelName, version)
			}
			return err
		}
		now := r.timestamp()
		res := tx.Model(&ModelAlias{}).Where("model_id = ? AND alias = ?", m.ID, alias).
			Updates(map[string]any{"version": version, "updated_at": now})
		if res.Error != nil {
			return dbErr(res.Error, "model alias")
		}
		out = &ModelAlias{ModelID: m.ID, Alias: alias, Version: version, UpdatedAt: now}
		if res.RowsAffected == 0 {
			return dbErr(tx.Create(out).Error, "model alias "+alias)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetModelAlias returns the version an alias points at.
func (r *Registry) GetModelAlias(ctx context.Context, modelName, alias string) (*ModelVersion, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	m, err := getModel(db, modelName)
	if err != nil {
		return nil, err
	}
	var a ModelAlias
	if err := db.Where("model_id = ? AND alias = ?", m.ID, alias).Take(&a).Error; err != nil {
		return nil, dbErr(err, fmt.Sprintf("alias %q of model %q", alias, modelName))
	}
	return getModelVersion(db, m, a.Version)
}

// ListModelAliases returns a page of a model's aliases ordered by name.
func (r *Registry) ListModelAliases(ctx context.Context, modelName string, page PageRequest) (Page[ModelAlias], error) {
	fk := filterKey("model aliases", modelName)
	limit, after, err := pageStart(page, fk, func(k string) bool { return len(k) <= 64 && aliasRE.MatchString(k) })
	if err != nil {
		return Page[ModelAlias]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[ModelAlias]{}, err
	}
	m, err := getModel(db, modelName)
	if err != nil {
		return Page[ModelAlias]{}, err
	}
	return keysetPage(db.Where("model_id = ?", m.ID), "alias", afterArg(after), limit, fk,
		func(a ModelAlias) string { return a.Alias }, "model aliases")
}

// DeleteModelAlias removes an alias; a missing alias is ErrNotFound.
func (r *Registry) DeleteModelAlias(ctx context.Context, modelName, alias string) error {
	db, err := r.dbc(ctx)
	if err != nil {
		return err
	}
	m, err := getModel(db, modelName)
	if err != nil {
		return err
	}
	res := db.Where("model_id = ? AND alias = ?", m.ID, alias).Delete(&ModelAlias{})
	if res.Error != nil {
		return dbErr(res.Error, "model alias")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: alias %q of model %q", ErrNotFound, alias, modelName)
	}
	return nil
}

// ModelUpdate is what UpdateModel changes: each field that is not nil.
type ModelUpdate struct {
	// Name renames the model; names stay unique in the tenant
	// (ErrConflict). Versions and aliases follow the model.
	Name *string `json:"name,omitempty"`
	// Description replaces the model's description.
	Description *string `json:"description,omitempty"`
}

// UpdateModel changes a registered model's name or description (both
// validated as in CreateModel) and returns it. A rename keeps the model's
// id, versions and aliases; the old name is free again at once. An
// update that changes nothing still moves UpdatedAt.
func (r *Registry) UpdateModel(ctx context.Context, name string, in ModelUpdate) (*RegisteredModel, error) {
	var v validator
	set := map[string]any{}
	if in.Name != nil {
		n := checkName(&v, "name", *in.Name)
		v.check(!strings.Contains(n, "/"), "name", "must not contain '/'")
		set["name"] = n
	}
	if in.Description != nil {
		set["description"] = checkText(&v, "description", *in.Description)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *RegisteredModel
	err := r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, name)
		if err != nil {
			return err
		}
		set["updated_at"] = r.timestamp()
		if err := tx.Model(&RegisteredModel{}).Where("id = ?", m.ID).Updates(set).Error; err != nil {
			if n, ok := set["name"].(string); ok {
				return dbErr(err, "model "+n)
			}
			return dbErr(err, "model")
		}
		one := make([]RegisteredModel, 1)
		if err := tx.Where("id = ?", m.ID).Take(&one[0]).Error; err != nil {
			return dbErr(err, "model")
		}
		out = &one[0]
		return loadModelTags(tx, one)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteModel deletes a registered model with all its versions, aliases
// and tags, in one transaction. Only registry rows go: the files a
// version's source names (a run's artifacts, a URI elsewhere) are left
// untouched, and the run keeps its artifacts.
func (r *Registry) DeleteModel(ctx context.Context, name string) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, name)
		if err != nil {
			return err
		}
		for _, del := range []struct {
			model any
			col   string
		}{{&modelVersionTag{}, "model_id"}, {&modelTag{}, "model_id"}, {&ModelAlias{}, "model_id"}, {&ModelVersion{}, "model_id"}, {&RegisteredModel{}, "id"}} {
			if err := tx.Where(del.col+" = ?", m.ID).Delete(del.model).Error; err != nil {
				return dbErr(err, "model")
			}
		}
		return nil
	})
}

// ModelVersionUpdate is what UpdateModelVersion changes: each field that
// is not nil.
type ModelVersionUpdate struct {
	// Description replaces the version's description.
	Description *string `json:"description,omitempty"`
	// Stage moves the version to a stage (None, Staging, Production or
	// Archived, matched without regard to case), archiving no other.
	Stage *string `json:"stage,omitempty"`
}

// UpdateModelVersion changes a model version's description or stage and
// returns the version. Source and run stay as created.
func (r *Registry) UpdateModelVersion(ctx context.Context, modelName string, version int, in ModelVersionUpdate) (*ModelVersion, error) {
	var v validator
	set := map[string]any{}
	if in.Description != nil {
		set["description"] = checkText(&v, "description", *in.Description)
	}
	if in.Stage != nil {
		st, ok := CanonicalStage(*in.Stage)
		v.check(ok, "stage", "must be one of %s", strings.Join(stages, ", "))
		set["stage"] = st
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *ModelVersion
	err := r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		mv, err := getModelVersion(tx, m, version)
		if err != nil {
			return err
		}
		if len(set) > 0 {
			if err := tx.Model(&ModelVersion{}).Where("id = ?", mv.ID).Updates(set).Error; err != nil {
				return dbErr(err, "model version")
			}
		}
		if err := tx.Model(&RegisteredModel{}).Where("id = ?", m.ID).Update("updated_at", r.timestamp()).Error; err != nil {
			return dbErr(err, "model")
		}
		out, err = getModelVersion(tx, m, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteModelVersion deletes one version of a model with its tags and the
// aliases that point at it, in one transaction. Its number is never given again: the
// next CreateModelVersion continues after RegisteredModel.LatestVersion.
// The files its source names are left untouched.
func (r *Registry) DeleteModelVersion(ctx context.Context, modelName string, version int) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		mv, err := getModelVersion(tx, m, version)
		if err != nil {
			return err
		}
		for _, child := range []any{&ModelAlias{}, &modelVersionTag{}} {
			if err := tx.Where("model_id = ? AND version = ?", m.ID, version).Delete(child).Error; err != nil {
				return dbErr(err, "model version")
			}
		}
		if err := tx.Where("id = ?", mv.ID).Delete(&ModelVersion{}).Error; err != nil {
			return dbErr(err, "model version")
		}
		return dbErr(tx.Model(&RegisteredModel{}).Where("id = ?", m.ID).Update("updated_at", r.timestamp()).Error, "model")
	})
}

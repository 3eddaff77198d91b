package registry

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/internal/migrate"
	"github.com/maestro-ml/maestro/tenancy"
)

// Model version stages, as MLflow names them. MLflow deprecates stages in
// favour of aliases, but its client still transitions them; a version
// starts in StageNone.
const (
	StageNone       = "None"
	StageStaging    = "Staging"
	StageProduction = "Production"
	StageArchived   = "Archived"
)

// Stages are the model version stages in MLflow's order.
var stages = []string{StageNone, StageStaging, StageProduction, StageArchived}

// CanonicalStage returns stage spelled as the registry stores it (MLflow
// matches stages without regard to case) and whether it is a stage.
func CanonicalStage(stage string) (string, bool) {
	for _, s := range stages {
		if strings.EqualFold(s, stage) {
			return s, true
		}
	}
	return "", false
}

// modelTag is one tag of a registered model.
type modelTag struct {
	tenancy.Model
	ModelID string `gorm:"column:model_id;primaryKey"`
	Key     string `gorm:"column:tag_key;primaryKey"`
	Value   string `gorm:"column:tag_value"`
}

// TableName implements gorm's Tabler.
func (modelTag) TableName() string { return "registered_model_tags" }

// modelVersionTag is one tag of a model version.
type modelVersionTag struct {
	tenancy.Model
	ModelID string `gorm:"column:model_id;primaryKey"`
	Version int    `gorm:"column:version;primaryKey"`
	Key     string `gorm:"column:tag_key;primaryKey"`
	Value   string `gorm:"column:tag_value"`
}

// TableName implements gorm's Tabler.
func (modelVersionTag) TableName() string { return "model_version_tags" }

// modelTagsStep is registry step 9: tags of registered models and of
// model versions (limits as run tags: MaxTagKeyLength, MaxTagValueBytes,
// MaxEntityTags), and each version's stage. Down drops the tags and the
// stages.
func modelTagsStep(version int64) migrate.Step {
	return migrate.SQL(version, "registry-009-model-tags-stages: model and version tags, version stages", []string{
		`ALTER TABLE model_versions ADD COLUMN stage varchar(16) NOT NULL DEFAULT 'None'`,
		`CREATE TABLE registered_model_tags (
	tenant_id varchar(64) NOT NULL,
	model_id varchar(36) NOT NULL,
	tag_key varchar(250) NOT NULL,
	tag_value text NOT NULL,
	PRIMARY KEY (tenant_id, model_id, tag_key),
	FOREIGN KEY (tenant_id, model_id) REFERENCES registered_models (tenant_id, id) ON DELETE CASCADE
)`,
		`CREATE TABLE model_version_tags (
	tenant_id varchar(64) NOT NULL,
	model_id varchar(36) NOT NULL,
	version integer NOT NULL,
	tag_key varchar(250) NOT NULL,
	tag_value text NOT NULL,
	PRIMARY KEY (tenant_id, model_id, version, tag_key),
	FOREIGN KEY (tenant_id, model_id, version) REFERENCES model_versions (tenant_id, model_id, version) ON DELETE CASCADE
)`,
	}, []string{
		`DROP TABLE model_version_tags`, `DROP TABLE registered_model_tags`,
		`ALTER TABLE model_versions DROP COLUMN stage`,
	})
}

// writeModelTags upserts tags of a model (version 0) or of one of its
// versions and enforces MaxEntityTags.
func writeModelTags(tx *gorm.DB, modelID string, version int, tags map[string]string) error {
	cols := []clause.Column{{Name: "tenant_id"}, {Name: "model_id"}, {Name: "tag_key"}}
	var count *gorm.DB
	if version > 0 {
		cols = append(cols[:2], clause.Column{Name: "version"}, clause.Column{Name: "tag_key"})
		count = tx.Model(&modelVersionTag{}).Where("model_id = ? AND version = ?", modelID, version)
	} else {
		count = tx.Model(&modelTag{}).Where("model_id = ?", modelID)
	}
	for _, k := range sortedKeys(tags) {
		var row any = &modelTag{ModelID: modelID, Key: k, Value: tags[k]}
		if version > 0 {
			row = &modelVersionTag{ModelID: modelID, Version: version, Key: k, Value: tags[k]}
		}
		err := tx.Clauses(clause.OnConflict{Columns: cols, DoUpdates: clause.AssignmentColumns([]string{"tag_value"})}).Create(row).Error
		if err != nil {
			return dbErr(err, "model tag")
		}
	}
	var n int64
	if err := count.Count(&n).Error; err != nil {
		return dbErr(err, "model tags")
	}
	if n > MaxEntityTags {
		return &TooLargeError{What: "tags", Limit: MaxEntityTags, Got: n}
	}
	return nil
}

// loadModelTags fills the tags of models.
func loadModelTags(db *gorm.DB, ms []RegisteredModel) error {
	byID := map[string]*RegisteredModel{}
	ids := make([]string, 0, len(ms))
	for i := range ms {
		ms[i].Tags = map[string]string{}
		byID[ms[i].ID] = &ms[i]
		ids = append(ids, ms[i].ID)
	}
	if len(ids) == 0 {
		return nil
	}
	var tags []modelTag
	if err := db.Where("model_id IN ?", ids).Find(&tags).Error; err != nil {
		return dbErr(err, "model tags")
	}
	for _, t := range tags {
		byID[t.ModelID].Tags[t.Key] = t.Value
	}
	return nil
}

// loadVersionTags fills the tags of versions of one model.
func loadVersionTags(db *gorm.DB, vs []ModelVersion) error {
	if len(vs) == 0 {
		return nil
	}
	byVersion := map[int]*ModelVersion{}
	nums := make([]int, 0, len(vs))
	for i := range vs {
		vs[i].Tags = map[string]string{}
		byVersion[vs[i].Version] = &vs[i]
		nums = append(nums, vs[i].Version)
	}
	var tags []modelVersionTag
	if err := db.Where("model_id = ? AND version IN ?", vs[0].ModelID, nums).Find(&tags).Error; err != nil {
		return dbErr(err, "model version tags")
	}
	for _, t := range tags {
		byVersion[t.Version].Tags[t.Key] = t.Value
	}
	return nil
}

// SetModelTag sets one tag of a registered model.
func (r *Registry) SetModelTag(ctx context.Context, modelName, key, value string) error {
	var v validator
	checkTags(&v, "tag", map[string]string{key: value})
	if err := v.err(); err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		if err := writeModelTags(tx, m.ID, 0, map[string]string{key: value}); err != nil {
			return err
		}
		return touchModel(tx, r, m.ID)
	})
}

// DeleteModelTag removes one tag of a registered model; a missing tag is
// ErrNotFound.
func (r *Registry) DeleteModelTag(ctx context.Context, modelName, key string) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		res := tx.Where("model_id = ? AND tag_key = ?", m.ID, key).Delete(&modelTag{})
		if res.Error != nil {
			return dbErr(res.Error, "model tag")
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: tag %q of model %q", ErrNotFound, key, modelName)
		}
		return touchModel(tx, r, m.ID)
	})
}

// SetModelVersionTag sets one tag of a model version.
func (r *Registry) SetModelVersionTag(ctx context.Context, modelName string, version int, key, value string) error {
	var v validator
	checkTags(&v, "tag", map[string]string{key: value})
	if err := v.err(); err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		if _, err := getModelVersion(tx, m, version); err != nil {
			return err
		}
		if err := writeModelTags(tx, m.ID, version, map[string]string{key: value}); err != nil {
			return err
		}
		return touchModel(tx, r, m.ID)
	})
}

// DeleteModelVersionTag removes one tag of a model version; a missing tag
// is ErrNotFound.
func (r *Registry) DeleteModelVersionTag(ctx context.Context, modelName string, version int, key string) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		if _, err := getModelVersion(tx, m, version); err != nil {
			return err
		}
		res := tx.Where("model_id = ? AND version = ? AND tag_key = ?", m.ID, version, key).Delete(&modelVersionTag{})
		if res.Error != nil {
			return dbErr(res.Error, "model version tag")
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: tag %q of model %q version %d", ErrNotFound, key, modelName, version)
		}
		return touchModel(tx, r, m.ID)
	})
}

func touchModel(tx *gorm.DB, r *Registry, modelID string) error {
	return dbErr(tx.Model(&RegisteredModel{}).Where("id = ?", modelID).Update("updated_at", r.timestamp()).Error, "model")
}

// TransitionModelVersionStage moves a version to a stage (matched without
// regard to case). With archiveExisting, which MLflow allows only for
// Staging and Production (else ErrInvalid), the model's other versions in
// that stage move to Archived in the same transaction.
func (r *Registry) TransitionModelVersionStage(ctx context.Context, modelName string, version int, stage string, archiveExisting bool) (*ModelVersion, error) {
	st, ok := CanonicalStage(stage)
	if !ok {
		return nil, invalid("stage", "must be one of %s", strings.Join(stages, ", "))
	}
	if archiveExisting && st != StageStaging && st != StageProduction {
		return nil, invalid("archive_existing_versions", "only a transition to Staging or Production archives other versions")
	}
	var out *ModelVersion
	err := r.tx(ctx, func(tx *gorm.DB) error {
		m, err := getModel(tx, modelName)
		if err != nil {
			return err
		}
		if _, err := getModelVersion(tx, m, version); err != nil {
			return err
		}
		if archiveExisting {
			if err := tx.Model(&ModelVersion{}).Where("model_id = ? AND stage = ? AND version <> ?", m.ID, st, version).
				Update("stage", StageArchived).Error; err != nil {
				return dbErr(err, "model versions")
			}
		}
		if err := tx.Model(&ModelVersion{}).Where("model_id = ? AND version = ?", m.ID, version).Update("stage", st).Error; err != nil {
			return dbErr(err, "model version")
		}
		if err := touchModel(tx, r, m.ID); err != nil {
			return err
		}
		out, err = getModelVersion(tx, m, version)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LatestModelVersions returns, for each of the given stages (every stage
// when none is given), the model's highest-numbered version in that stage,
// ordered by version; a stage no version is in contributes nothing. This is
// MLflow's get-latest-versions.
func (r *Registry) LatestModelVersions(ctx context.Context, modelName string, stage ...string) ([]ModelVersion, error) {
	want := stages
	if len(stage) > 0 {
		want = nil
		for _, s := range stage {
			st, ok := CanonicalStage(s)
			if !ok {
				return nil, invalid("stages", "must be among %s", strings.Join(stages, ", "))
			}
			want = append(want, st)
		}
	}
	var out []ModelVersion
	err := r.readTx(ctx, func(db *gorm.DB) error {
		m, err := getModel(db, modelName)
		if err != nil {
			return err
		}
		var nums []int
		if err := db.Model(&ModelVersion{}).Select("MAX(version)").Where("model_id = ? AND stage IN ?", m.ID, want).
			Group("stage").Pluck("MAX(version)", &nums).Error; err != nil {
			return dbErr(err, "model versions")
		}
		if len(nums) == 0 {
			out = []ModelVersion{}
			return nil
		}
		if err := db.Where("model_id = ? AND version IN ?", m.ID, nums).Order("version").Find(&out).Error; err != nil {
			return dbErr(err, "model versions")
		}
		return loadVersionTags(db, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

package registry

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/internal/migrate"
	"github.com/maestro-ml/maestro/tenancy"
)

// LoggedModelStatus is the upload state of a logged model.
type LoggedModelStatus string

// A logged model is pending until its files are uploaded, then ready, or
// failed when the upload failed.
const (
	LoggedModelPending LoggedModelStatus = "pending"
	LoggedModelReady   LoggedModelStatus = "ready"
	LoggedModelFailed  LoggedModelStatus = "failed"
)

// Logged model limits.
const (
	// MaxLoggedModelParams bounds the parameters of one logged model.
	MaxLoggedModelParams = 1000
	// MaxStatusMessageBytes bounds a logged model's status message.
	MaxStatusMessageBytes = 1000
	// MaxModelTypeLength bounds a logged model's type.
	MaxModelTypeLength = 500
)

// LoggedModel is a model logged by a run or an experiment (MLflow 3's
// logged model): its identity, where it came from, its upload status, tags
// and parameters, and a tree of files (PutLoggedModelArtifact).
// SourceRunID is nil for a model logged outside any run.
type LoggedModel struct {
	tenancy.Model
	ID            string            `gorm:"column:id;primaryKey" json:"id"`
	ExperimentID  string            `gorm:"column:experiment_id" json:"experiment_id"`
	SourceRunID   *string           `gorm:"column:source_run_id" json:"source_run_id"`
	Name          string            `gorm:"column:name" json:"name"`
	ModelType     string            `gorm:"column:model_type" json:"model_type"`
	Status        LoggedModelStatus `gorm:"column:status" json:"status"`
	StatusMessage string            `gorm:"column:status_message" json:"status_message"`
	Tags          map[string]string `gorm:"column:tags;serializer:json" json:"tags"`
	Params        map[string]string `gorm:"column:params;serializer:json" json:"params"`
	CreatedAt     time.Time         `gorm:"column:created_at" json:"created_at"`
	UpdatedAt     time.Time         `gorm:"column:updated_at" json:"updated_at"`
}

// TableName implements gorm's Tabler.
func (LoggedModel) TableName() string { return "logged_models" }

// RunOutput records that a run produced a logged model, at a step.
type RunOutput struct {
	tenancy.Model
	RunID   string `gorm:"column:run_id;primaryKey" json:"run_id"`
	ModelID string `gorm:"column:model_id;primaryKey" json:"model_id"`
	Step    int64  `gorm:"column:step" json:"step"`
}

// TableName implements gorm's Tabler.
func (RunOutput) TableName() string { return "run_outputs" }

type loggedModelArtifact struct {
	tenancy.Model
	ModelID   string    `gorm:"column:model_id;primaryKey"`
	Path      string    `gorm:"column:path;primaryKey"`
	BlobKey   string    `gorm:"column:blob_key"`
	Size      int64     `gorm:"column:size_bytes"`
	SHA256    string    `gorm:"column:content_sha256"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (loggedModelArtifact) TableName() string { return "logged_model_artifacts" }

// loggedModelsStep is registry step 10: logged models, their files and the
// runs' outputs.
func loggedModelsStep(version int64) migrate.Step {
	return migrate.SQL(version, "logged models, their artifacts and run outputs", []string{
		`CREATE TABLE logged_models (
	tenant_id varchar(64) NOT NULL,
	id varchar(36) NOT NULL,
	experiment_id varchar(36) NOT NULL,
	source_run_id varchar(36),
	name varchar(500) NOT NULL,
	model_type varchar(500) NOT NULL,
	status varchar(16) NOT NULL,
	status_message text NOT NULL,
	tags text NOT NULL,
	params text NOT NULL,
	created_at {{ts}} NOT NULL,
	updated_at {{ts}} NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, experiment_id) REFERENCES experiments (tenant_id, id) ON DELETE CASCADE
)`,
		`CREATE INDEX ix_logged_models_experiment ON logged_models (tenant_id, experiment_id, id)`,
		`CREATE TABLE logged_model_artifacts (
	tenant_id varchar(64) NOT NULL,
	model_id varchar(36) NOT NULL,
	path varchar(1024) NOT NULL,
	blob_key varchar(1024) NOT NULL,
	size_bytes bigint NOT NULL,
	content_sha256 varchar(64) NOT NULL,
	created_at {{ts}} NOT NULL,
	PRIMARY KEY (tenant_id, model_id, path),
	FOREIGN KEY (tenant_id, model_id) REFERENCES logged_models (tenant_id, id) ON DELETE CASCADE
)`,
		`CREATE TABLE run_outputs (
	tenant_id varchar(64) NOT NULL,
	run_id varchar(36) NOT NULL,
	model_id varchar(36) NOT NULL,
	step bigint NOT NULL,
	PRIMARY KEY (tenant_id, run_id, model_id),
	FOREIGN KEY (tenant_id, run_id) REFERENCES runs (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, model_id) REFERENCES logged_models (tenant_id, id) ON DELETE CASCADE
)`,
	}, []string{`DROP TABLE run_outputs`, `DROP TABLE logged_model_artifacts`, `DROP TABLE logged_models`})
}

// LoggedModelInput is what CreateLoggedModel needs. Name "" is the id.
type LoggedModelInput struct {
	ExperimentID string
	SourceRunID  string
	Name         string
	ModelType    string
	Tags         map[string]string
	Params       map[string]string
}

func checkParams(v *validator, field string, params map[string]string) {
	v.check(len(params) <= MaxLoggedModelParams, field, "at most %d parameters", MaxLoggedModelParams)
	checkParamValues(v, field, params)
}

// checkParamValues validates parameters' keys (as metric keys, at most
// MaxParamKeyLength) and values (UTF-8 of at most MaxParamValueBytes).
func checkParamValues(v *validator, field string, params map[string]string) {
	for _, k := range sortedKeys(params) {
		val := params[k]
		f := fmt.Sprintf("%s[%q]", field, k)
		v.check(len(k) <= MaxParamKeyLength && keyRE.MatchString(k), f, "key must be letters, digits, _ - . : / and spaces, at most %d characters", MaxParamKeyLength)
		v.check(len(val) <= MaxParamValueBytes && utf8.ValidString(val) && !strings.ContainsRune(val, 0), f, "value must be UTF-8 text of at most %d bytes", MaxParamValueBytes)
	}
}

// CreateLoggedModel creates a pending logged model in an active
// experiment; a source run must be an active run of that experiment.
func (r *Registry) CreateLoggedModel(ctx context.Context, in LoggedModelInput) (*LoggedModel, error) {
	var v validator
	id := newID()
	name := in.Name
	if name == "" {
		name = id
	}
	name = checkName(&v, "name", name)
	v.check(len(in.ModelType) <= MaxModelTypeLength && utf8.ValidString(in.ModelType) && !strings.ContainsFunc(in.ModelType, isControl),
		"model_type", "must be text of at most %d bytes", MaxModelTypeLength)
	checkTags(&v, "tags", in.Tags)
	checkParams(&v, "params", in.Params)
	if err := v.err(); err != nil {
		return nil, err
	}
	now := r.timestamp()
	m := &LoggedModel{ID: id, ExperimentID: in.ExperimentID, Name: name, ModelType: in.ModelType, Status: LoggedModelPending,
		Tags: clone(in.Tags), Params: clone(in.Params), CreatedAt: now, UpdatedAt: now}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		e, err := getTrackedExperiment(tx, in.ExperimentID)
		if err != nil {
			return err
		}
		if e.Lifecycle != LifecycleActive {
			return invalid("experiment_id", "the experiment must be active")
		}
		if in.SourceRunID != "" {
			run, err := getTrackedRun(tx, in.SourceRunID)
			if err != nil {
				return err
			}
			if run.ExperimentID != in.ExperimentID || run.Lifecycle != LifecycleActive {
				return invalid("source_run_id", "must be an active run of the experiment")
			}
			m.SourceRunID = &run.ID
		}
		return dbErr(tx.Create(m).Error, "logged model")
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func getLoggedModel(db *gorm.DB, id string) (*LoggedModel, error) {
	if !validID(id) {
		return nil, notFound("logged model", id)
	}
	var m LoggedModel
	if err := db.Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, dbErr(err, "logged model "+id)
	}
	if m.Tags == nil {
		m.Tags = map[string]string{}
	}
	if m.Params == nil {
		m.Params = map[string]string{}
	}
	return &m, nil
}

// LoggedModel returns a logged model by id (ErrNotFound for none, or
// another tenant's).
func (r *Registry) LoggedModel(ctx context.Context, id string) (*LoggedModel, error) {
	var m *LoggedModel
	err := r.readTx(ctx, func(db *gorm.DB) (err error) {
		m, err = getLoggedModel(db, id)
		return err
	})
	return m, err
}

// LoggedModelPatch changes a logged model: nil fields stay. Tags are set
// (merged into the model's); DeleteTag removes one tag (ErrNotFound when
// it has none of that key); Params are added, a logged parameter cannot
// change its value (ErrParamChanged).
type LoggedModelPatch struct {
	Status        *LoggedModelStatus
	StatusMessage *string
	Tags          map[string]string
	DeleteTag     *string
	Params        map[string]string
}

// UpdateLoggedModel applies p to a logged model atomically and returns it.
func (r *Registry) UpdateLoggedModel(ctx context.Context, id string, p LoggedModelPatch) (*LoggedModel, error) {
	var v validator
	if p.Status != nil {
		s := *p.Status
		v.check(s == LoggedModelPending || s == LoggedModelReady || s == LoggedModelFailed, "status", "must be pending, ready or failed")
	}
	if p.StatusMessage != nil {
		v.check(len(*p.StatusMessage) <= MaxStatusMessageBytes && utf8.ValidString(*p.StatusMessage), "status_message", "must be UTF-8 text of at most %d bytes", MaxStatusMessageBytes)
	}
	checkTags(&v, "tags", p.Tags)
	checkParams(&v, "params", p.Params)
	if err := v.err(); err != nil {
		return nil, err
	}
	var m *LoggedModel
	err := r.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if m, err = getLoggedModel(tx.Clauses(clause.Locking{Strength: "UPDATE"}), id); err != nil {
			return err
		}
		if p.Status != nil {
			m.Status = *p.Status
		}
		if p.StatusMessage != nil {
			m.StatusMessage = *p.StatusMessage
		}
		for k, val := range p.Tags {
			m.Tags[k] = val
		}
		if p.DeleteTag != nil {
			if _, ok := m.Tags[*p.DeleteTag]; !ok {
				return fmt.Errorf("%w: tag %q of logged model %s", ErrNotFound, *p.DeleteTag, id)
			}
			delete(m.Tags, *p.DeleteTag)
		}
		for _, k := range sortedKeys(p.Params) {
			if old, ok := m.Params[k]; ok && old != p.Params[k] {
				return fmt.Errorf("%w: %q is %q, not %q", ErrParamChanged, k, old, p.Params[k])
			}
			m.Params[k] = p.Params[k]
		}
		if len(m.Tags) > MaxEntityTags {
			return &TooLargeError{What: "tags", Limit: MaxEntityTags, Got: int64(len(m.Tags))}
		}
		if len(m.Params) > MaxLoggedModelParams {
			return &TooLargeError{What: "parameters", Limit: MaxLoggedModelParams, Got: int64(len(m.Params))}
		}
		m.UpdatedAt = r.timestamp()
		return dbErr(tx.Model(m).Where("id = ?", id).Select("status", "status_message", "tags", "params", "updated_at").Updates(m).Error, "logged model")
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DeleteLoggedModel deletes a logged model with its files and the run
// outputs that name it.
func (r *Registry) DeleteLoggedModel(ctx context.Context, id string) error {
	var keys []string
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getLoggedModel(tx.Clauses(clause.Locking{Strength: "UPDATE"}), id); err != nil {
			return err
		}
		if err := tx.Model(&loggedModelArtifact{}).Where("model_id = ?", id).Pluck("blob_key", &keys).Error; err != nil {
			return dbErr(err, "logged model artifacts")
		}
		for _, q := range []any{&RunOutput{}, &loggedModelArtifact{}} {
			if err := tx.Where("model_id = ?", id).Delete(q).Error; err != nil {
				return dbErr(err, "logged model")
			}
		}
		return dbErr(tx.Where("id = ?", id).Delete(&LoggedModel{}).Error, "logged model")
	})
	if err != nil {
		return err
	}
	if r.blobs != nil {
		for _, k := range keys {
			_ = r.blobs.Delete(context.WithoutCancel(ctx), k)
		}
	}
	return nil
}

// ListLoggedModels returns the logged models of the experiments, oldest
// first; more than MaxTrackingScan is ErrTooLarge, never silently cut.
func (r *Registry) ListLoggedModels(ctx context.Context, experimentIDs []string) ([]LoggedModel, error) {
	if len(experimentIDs) > MaxTrackingScan {
		return nil, &TooLargeError{What: "experiment ids", Limit: MaxTrackingScan, Got: int64(len(experimentIDs))}
	}
	ids := make([]string, 0, len(experimentIDs))
	for _, id := range experimentIDs {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	out := []LoggedModel{}
	if len(ids) == 0 {
		return out, nil
	}
	err := r.readTx(ctx, func(db *gorm.DB) error {
		if err := db.Where("experiment_id IN ?", ids).Order("id").Limit(MaxTrackingScan + 1).Find(&out).Error; err != nil {
			return dbErr(err, "logged models")
		}
		if len(out) > MaxTrackingScan {
			return &TooLargeError{What: "logged model search", Limit: MaxTrackingScan, Got: int64(len(out))}
		}
		return nil
	})
	for i := range out {
		if out[i].Tags == nil {
			out[i].Tags = map[string]string{}
		}
		if out[i].Params == nil {
			out[i].Params = map[string]string{}
		}
	}
	return out, err
}

// LogRunOutputs records logged models a run produced (a model recorded
// again takes the new step). Each model must be the tenant's; at most
// MaxDatasetInputs per call.
func (r *Registry) LogRunOutputs(ctx context.Context, runID string, outs []RunOutput) error {
	if len(outs) > MaxDatasetInputs {
		return &TooLargeError{What: "run outputs", Limit: MaxDatasetInputs, Got: int64(len(outs))}
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		for _, o := range outs {
			if _, err := getLoggedModel(tx, o.ModelID); err != nil {
				return err
			}
			row := RunOutput{RunID: runID, ModelID: o.ModelID, Step: o.Step}
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "run_id"}, {Name: "model_id"}},
				DoUpdates: clause.AssignmentColumns([]string{"step"}),
			}).Create(&row).Error; err != nil {
				return dbErr(err, "run output")
			}
		}
		return nil
	})
}

// RunOutputs returns the logged models a run produced, by model id.
func (r *Registry) RunOutputs(ctx context.Context, runID string) ([]RunOutput, error) {
	out := []RunOutput{}
	err := r.readTx(ctx, func(db *gorm.DB) error {
		return dbErr(db.Where("run_id = ?", runID).Order("model_id").Limit(MaxDatasetInputs).Find(&out).Error, "run outputs")
	})
	return out, err
}

// PutLoggedModelArtifact stores content as the file at path of a logged
// model's tree, replacing the file there; the paths and limits are those
// of PutRunArtifact.
func (r *Registry) PutLoggedModelArtifact(ctx context.Context, modelID, path string, content io.Reader) (*RunArtifact, error) {
	check := func(ctx context.Context) error { _, err := r.LoggedModel(ctx, modelID); return err }
	return r.putTreeFile(ctx, modelID, path, content, check, func(tx *gorm.DB, p string, info BlobInfo) (string, error) {
		if _, err := getLoggedModel(tx.Clauses(clause.Locking{Strength: "UPDATE"}), modelID); err != nil {
			return "", err
		}
		var rows []loggedModelArtifact
		if err := tx.Where("model_id = ?", modelID).Limit(MaxRunArtifacts + 1).Find(&rows).Error; err != nil {
			return "", dbErr(err, "logged model artifacts")
		}
		old, n := "", len(rows)
		for _, row := range rows {
			switch {
			case row.Path == p:
				old, n = row.BlobKey, n-1
			case strings.HasPrefix(row.Path, p+"/"):
				return "", fmt.Errorf("%w: %q is a directory", ErrConflict, p)
			case strings.HasPrefix(p, row.Path+"/"):
				return "", fmt.Errorf("%w: a parent of %q is a file", ErrConflict, p)
			}
		}
		if n+1 > MaxRunArtifacts {
			return "", &TooLargeError{What: "logged model artifacts", Limit: MaxRunArtifacts, Got: int64(n + 1)}
		}
		row := loggedModelArtifact{ModelID: modelID, Path: p, BlobKey: info.Key, Size: info.Size, SHA256: info.SHA256, CreatedAt: r.timestamp()}
		return old, dbErr(tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "model_id"}, {Name: "path"}},
			DoUpdates: clause.AssignmentColumns([]string{"blob_key", "size_bytes", "content_sha256", "created_at"}),
		}).Create(&row).Error, "logged model artifact")
	})
}

// OpenLoggedModelArtifact opens the file at path of a logged model's
// tree; the caller closes it. A missing file is ErrNotFound.
func (r *Registry) OpenLoggedModelArtifact(ctx context.Context, modelID, path string) (io.ReadCloser, *RunArtifact, error) {
	return openTreeFile[loggedModelArtifact](ctx, r, "model_id", modelID, path, func(db *gorm.DB) error {
		_, err := getLoggedModel(db, modelID)
		return err
	})
}

// ListLoggedModelArtifacts lists the direct children of dir ("" is the
// root) of a logged model's tree, as ListRunArtifacts does a run's.
func (r *Registry) ListLoggedModelArtifacts(ctx context.Context, modelID, dir string) ([]RunArtifact, error) {
	return listTree[loggedModelArtifact](ctx, r, "model_id", modelID, dir, func(db *gorm.DB) error {
		_, err := getLoggedModel(db, modelID)
		return err
	})
}

func (a loggedModelArtifact) file() RunArtifact {
	return RunArtifact{Path: a.Path, Size: a.Size, SHA256: a.SHA256}
}
func (a loggedModelArtifact) blobKey() string { return a.BlobKey }

// children folds the files below d into d's direct children, by path.
func children(files []RunArtifact, d string) []RunArtifact {
	out := []RunArtifact{}
	seen := map[string]bool{}
	base := d
	if base != "" {
		base += "/"
	}
	for _, f := range files {
		rest := strings.TrimPrefix(f.Path, base)
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			child := base + rest[:i]
			if !seen[child] {
				seen[child] = true
				out = append(out, RunArtifact{Path: child, IsDir: true})
			}
			continue
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

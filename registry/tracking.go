package registry

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/tenancy"
)

// Lifecycle is the stage of a tracked experiment or run: active, or
// deleted (hidden from default searches and refusing writes, restorable).
type Lifecycle string

// The lifecycle stages.
const (
	LifecycleActive  Lifecycle = "active"
	LifecycleDeleted Lifecycle = "deleted"
)

// Valid reports whether l is a lifecycle stage.
func (l Lifecycle) Valid() bool { return l == LifecycleActive || l == LifecycleDeleted }

// Tracking limits. The tag limits are MLflow's.
const (
	MaxTagKeyLength  = 250
	MaxTagValueBytes = 8000
	// MaxEntityTags bounds the tags of one experiment or run.
	MaxEntityTags = 1000
	// MaxTrackingScan bounds the experiments ListTrackedExperiments and
	// the runs ListTrackedRuns return: a larger result is ErrTooLarge,
	// never silently cut.
	MaxTrackingScan = 10000
	// MaxHistoryPage is the most points one MetricPoints page holds.
	MaxHistoryPage = 25000
	// MaxDatasetInputs bounds the dataset inputs of one run.
	MaxDatasetInputs = 1000
	// MaxDatasetBody bounds one dataset input's recorded description.
	MaxDatasetBody = 1 << 20
)

// TrackedExperiment is an experiment as the tracking API sees it: the
// row of Experiment with its lifecycle stage, artifact location and tags.
// ProjectID is nil for an experiment that belongs to no project (those
// created with CreateTrackedExperiment).
type TrackedExperiment struct {
	tenancy.Model
	ID               string            `gorm:"column:id;primaryKey" json:"id"`
	ProjectID        *string           `gorm:"column:project_id" json:"project_id"`
	Name             string            `gorm:"column:name" json:"name"`
	Description      string            `gorm:"column:description" json:"description"`
	ArtifactLocation string            `gorm:"column:artifact_location" json:"artifact_location"`
	Lifecycle        Lifecycle         `gorm:"column:lifecycle_stage" json:"lifecycle_stage"`
	CreatedAt        time.Time         `gorm:"column:created_at" json:"created_at"`
	UpdatedAt        *time.Time        `gorm:"column:updated_at" json:"updated_at"`
	Tags             map[string]string `gorm:"-" json:"tags"`
}

// TableName implements gorm's Tabler.
func (TrackedExperiment) TableName() string { return "experiments" }

// LastUpdate is the time of the experiment's last change (its creation
// when it never changed).
func (e *TrackedExperiment) LastUpdate() time.Time {
	if e.UpdatedAt != nil {
		return *e.UpdatedAt
	}
	return e.CreatedAt
}

// TrackedRun is a run as the tracking API sees it: the row of Run with its
// lifecycle stage, user, tags and the latest value of each metric
// (Metrics, ordered by key).
type TrackedRun struct {
	tenancy.Model
	ID           string            `gorm:"column:id;primaryKey" json:"id"`
	ExperimentID string            `gorm:"column:experiment_id" json:"experiment_id"`
	Name         string            `gorm:"column:name" json:"name"`
	Status       RunStatus         `gorm:"column:status" json:"status"`
	Params       map[string]string `gorm:"column:params;serializer:json" json:"params"`
	StartedAt    time.Time         `gorm:"column:started_at" json:"started_at"`
	EndedAt      *time.Time        `gorm:"column:ended_at" json:"ended_at"`
	Lifecycle    Lifecycle         `gorm:"column:lifecycle_stage" json:"lifecycle_stage"`
	UserID       string            `gorm:"column:user_id" json:"user_id"`
	Tags         map[string]string `gorm:"-" json:"tags"`
	Metrics      []MetricSummary   `gorm:"-" json:"metrics"`
}

// TableName implements gorm's Tabler.
func (TrackedRun) TableName() string { return "runs" }

type experimentTag struct {
	tenancy.Model
	ExperimentID string `gorm:"column:experiment_id;primaryKey"`
	Key          string `gorm:"column:tag_key;primaryKey"`
	Value        string `gorm:"column:tag_value"`
}

func (experimentTag) TableName() string { return "experiment_tags" }

type runTag struct {
	tenancy.Model
	RunID string `gorm:"column:run_id;primaryKey"`
	Key   string `gorm:"column:tag_key;primaryKey"`
	Value string `gorm:"column:tag_value"`
}

func (runTag) TableName() string { return "run_tags" }

// DatasetInput is a dataset a run used, as a tracking client describes
// it: Name and Digest identify it, Body is the client's description
// (stored as given, at most MaxDatasetBody bytes).
type DatasetInput struct {
	tenancy.Model
	RunID  string `gorm:"column:run_id;primaryKey" json:"-"`
	Name   string `gorm:"column:name;primaryKey" json:"name"`
	Digest string `gorm:"column:digest;primaryKey" json:"digest"`
	Body   string `gorm:"column:body" json:"body"`
}

// TableName implements gorm's Tabler.
func (DatasetInput) TableName() string { return "run_inputs" }

// checkTags validates tags (keys as metric keys, at most MaxTagKeyLength;
// values UTF-8 of at most MaxTagValueBytes) under field.
func checkTags(v *validator, field string, tags map[string]string) {
	v.check(len(tags) <= MaxEntityTags, field, "at most %d tags", MaxEntityTags)
	for k, val := range tags {
		f := fmt.Sprintf("%s[%q]", field, k)
		v.check(len(k) <= MaxTagKeyLength && keyRE.MatchString(k), f, "key must be letters, digits, _ - . : / and spaces, at most %d characters", MaxTagKeyLength)
		v.check(len(val) <= MaxTagValueBytes && utf8.ValidString(val) && !strings.ContainsRune(val, 0), f, "value must be UTF-8 text of at most %d bytes", MaxTagValueBytes)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TrackedExperimentInput is what CreateTrackedExperiment needs.
// ArtifactLocation is recorded as given ("" lets the caller derive one).
type TrackedExperimentInput struct {
	Name             string            `json:"name"`
	ArtifactLocation string            `json:"artifact_location,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// CreateTrackedExperiment creates an experiment that belongs to no
// project. Names are unique per tenant among such experiments
// (ErrConflict); an experiment of a project may share its name.
func (r *Registry) CreateTrackedExperiment(ctx context.Context, in TrackedExperimentInput) (*TrackedExperiment, error) {
	var v validator
	name := checkName(&v, "name", in.Name)
	v.check(len(in.ArtifactLocation) <= MaxSourceLength && utf8.ValidString(in.ArtifactLocation) &&
		!strings.ContainsFunc(in.ArtifactLocation, isControl), "artifact_location", "must be text of at most %d bytes", MaxSourceLength)
	checkTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	e := &TrackedExperiment{ID: newID(), Name: name, ArtifactLocation: in.ArtifactLocation,
		Lifecycle: LifecycleActive, CreatedAt: r.timestamp(), Tags: map[string]string{}}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Omit("Tags").Create(e).Error; err != nil {
			return dbErr(err, "experiment "+name)
		}
		for _, k := range sortedKeys(in.Tags) {
			e.Tags[k] = in.Tags[k]
			if err := tx.Create(&experimentTag{Key: k, Value: in.Tags[k], ExperimentID: e.ID}).Error; err != nil {
				return dbErr(err, "experiment tag")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func getTrackedExperiment(db *gorm.DB, id string) (*TrackedExperiment, error) {
	if !validID(id) {
		return nil, notFound("experiment", id)
	}
	var e TrackedExperiment
	if err := db.Where("id = ?", id).Take(&e).Error; err != nil {
		return nil, dbErr(err, "experiment "+id)
	}
	if err := loadExperimentTags(db, []*TrackedExperiment{&e}); err != nil {
		return nil, err
	}
	return &e, nil
}

func loadExperimentTags(db *gorm.DB, es []*TrackedExperiment) error {
	byID := make(map[string]*TrackedExperiment, len(es))
	ids := make([]string, 0, len(es))
	for _, e := range es {
		e.Tags = map[string]string{}
		byID[e.ID] = e
		ids = append(ids, e.ID)
	}
	for i := 0; i < len(ids); i += 1000 {
		var tags []experimentTag
		if err := db.Where("experiment_id IN ?", ids[i:min(i+1000, len(ids))]).Find(&tags).Error; err != nil {
			return dbErr(err, "experiment tags")
		}
		for _, t := range tags {
			byID[t.ExperimentID].Tags[t.Key] = t.Value
		}
	}
	return nil
}

// TrackedExperiment returns an experiment with its tags, whether or not
// it belongs to a project.
func (r *Registry) TrackedExperiment(ctx context.Context, id string) (*TrackedExperiment, error) {
	var out *TrackedExperiment
	err := r.readTx(ctx, func(db *gorm.DB) error {
		var err error
		out, err = getTrackedExperiment(db, id)
		return err
	})
	return out, err
}

// TrackedExperimentByName returns the experiment of that name that belongs
// to no project.
func (r *Registry) TrackedExperimentByName(ctx context.Context, name string) (*TrackedExperiment, error) {
	var out *TrackedExperiment
	err := r.readTx(ctx, func(db *gorm.DB) error {
		var e TrackedExperiment
		if err := db.Where("name = ? AND project_id IS NULL", name).Take(&e).Error; err != nil {
			return dbErr(err, fmt.Sprintf("experiment %q", name))
		}
		if err := loadExperimentTags(db, []*TrackedExperiment{&e}); err != nil {
			return err
		}
		out = &e
		return nil
	})
	return out, err
}

// ListTrackedExperiments returns the tenant's experiments in the given
// lifecycle stages (all when none is given), with their tags, oldest
// first. More than MaxTrackingScan experiments is ErrTooLarge.
func (r *Registry) ListTrackedExperiments(ctx context.Context, stages ...Lifecycle) ([]TrackedExperiment, error) {
	var out []TrackedExperiment
	err := r.readTx(ctx, func(db *gorm.DB) error {
		q := db.Order("id").Limit(MaxTrackingScan + 1)
		if len(stages) > 0 {
			q = q.Where("lifecycle_stage IN ?", stages)
		}
		if err := q.Find(&out).Error; err != nil {
			return dbErr(err, "experiments")
		}
		if len(out) > MaxTrackingScan {
			return &TooLargeError{What: "experiment search", Limit: MaxTrackingScan, Got: int64(len(out))}
		}
		ptrs := make([]*TrackedExperiment, len(out))
		for i := range out {
			ptrs[i] = &out[i]
		}
		return loadExperimentTags(db, ptrs)
	})
	return out, err
}

// RenameTrackedExperiment renames an experiment (ErrConflict when the
// name is taken).
func (r *Registry) RenameTrackedExperiment(ctx context.Context, id, name string) (*TrackedExperiment, error) {
	var v validator
	name = checkName(&v, "new_name", name)
	if err := v.err(); err != nil {
		return nil, err
	}
	return r.updateExperiment(ctx, id, map[string]any{"name": name})
}

// SetExperimentLifecycle deletes (LifecycleDeleted) or restores
// (LifecycleActive) an experiment, and its runs with it.
func (r *Registry) SetExperimentLifecycle(ctx context.Context, id string, l Lifecycle) (*TrackedExperiment, error) {
	if !l.Valid() {
		return nil, invalid("lifecycle_stage", "must be active or deleted")
	}
	return r.updateExperiment(ctx, id, map[string]any{"lifecycle_stage": l}, func(tx *gorm.DB) error {
		return dbErr(tx.Model(&TrackedRun{}).Where("experiment_id = ?", id).Update("lifecycle_stage", l).Error, "runs")
	})
}

func (r *Registry) updateExperiment(ctx context.Context, id string, set map[string]any, also ...func(*gorm.DB) error) (*TrackedExperiment, error) {
	var out *TrackedExperiment
	err := r.tx(ctx, func(tx *gorm.DB) error {
		e, err := getTrackedExperiment(tx, id)
		if err != nil {
			return err
		}
		name := e.Name
		if n, ok := set["name"].(string); ok {
			name = n
		}
		set["updated_at"] = r.timestamp()
		if err := tx.Model(&TrackedExperiment{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return dbErr(err, fmt.Sprintf("experiment %q", name))
		}
		for _, f := range also {
			if err := f(tx); err != nil {
				return err
			}
		}
		out, err = getTrackedExperiment(tx, id)
		return err
	})
	return out, err
}

// SetExperimentTag sets one tag of an active experiment.
func (r *Registry) SetExperimentTag(ctx context.Context, id, key, value string) error {
	var v validator
	checkTags(&v, "tag", map[string]string{key: value})
	if err := v.err(); err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		e, err := getTrackedExperiment(tx, id)
		if err != nil {
			return err
		}
		if e.Lifecycle != LifecycleActive {
			return invalid("experiment_id", "the experiment must be active")
		}
		if err := upsertTags(tx, &experimentTag{ExperimentID: id}, "experiment_id", id, map[string]string{key: value}); err != nil {
			return err
		}
		return dbErr(tx.Model(&TrackedExperiment{}).Where("id = ?", id).Update("updated_at", r.timestamp()).Error, "experiment")
	})
}

// DeleteExperimentTag deletes one tag of an active experiment; a missing
// tag is ErrNotFound.
func (r *Registry) DeleteExperimentTag(ctx context.Context, id, key string) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		e, err := getTrackedExperiment(tx, id)
		if err != nil {
			return err
		}
		if e.Lifecycle != LifecycleActive {
			return invalid("experiment_id", "the experiment must be active")
		}
		res := tx.Where("experiment_id = ? AND tag_key = ?", id, key).Delete(&experimentTag{})
		if res.Error != nil {
			return dbErr(res.Error, "experiment tag")
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: no tag %q in experiment %s", ErrNotFound, key, id)
		}
		return dbErr(tx.Model(&TrackedExperiment{}).Where("id = ?", id).Update("updated_at", r.timestamp()).Error, "experiment")
	})
}

// upsertTags writes tags of the entity (model names the tag table, col
// its parent column) and enforces MaxEntityTags.
func upsertTags(tx *gorm.DB, model any, col, id string, tags map[string]string) error {
	for _, k := range sortedKeys(tags) {
		var row any
		switch model.(type) {
		case *experimentTag:
			row = &experimentTag{Key: k, Value: tags[k], ExperimentID: id}
		default:
			row = &runTag{Key: k, Value: tags[k], RunID: id}
		}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}, {Name: col}, {Name: "tag_key"}},
			DoUpdates: clause.AssignmentColumns([]string{"tag_value"}),
		}).Create(row).Error
		if err != nil {
			return dbErr(err, "tag")
		}
	}
	var n int64
	if err := tx.Model(model).Where(col+" = ?", id).Count(&n).Error; err != nil {
		return dbErr(err, "tags")
	}
	if n > MaxEntityTags {
		return &TooLargeError{What: "tags", Limit: MaxEntityTags, Got: n}
	}
	return nil
}

// TrackedRunInput is what CreateTrackedRun needs. A zero StartTime is now;
// an empty Name is the run's id.
type TrackedRunInput struct {
	Name      string            `json:"name,omitempty"`
	UserID    string            `json:"user_id,omitempty"`
	StartTime time.Time         `json:"start_time"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// MaxUserIDLength bounds a tracked run's user id.
const MaxUserIDLength = 256

// CreateTrackedRun starts a run of an active experiment, with tags.
func (r *Registry) CreateTrackedRun(ctx context.Context, experimentID string, in TrackedRunInput) (*TrackedRun, error) {
	var v validator
	id := newID()
	name := in.Name
	if name == "" {
		name = id
	}
	name = checkName(&v, "run_name", name)
	v.check(len(in.UserID) <= MaxUserIDLength && utf8.ValidString(in.UserID) && !strings.ContainsFunc(in.UserID, isControl),
		"user_id", "must be text of at most %d bytes", MaxUserIDLength)
	checkTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	start := in.StartTime.UTC().Truncate(time.Microsecond)
	if in.StartTime.IsZero() {
		start = r.timestamp()
	}
	run := &TrackedRun{ID: id, ExperimentID: experimentID, Name: name, Status: RunRunning, Params: map[string]string{},
		StartedAt: start, Lifecycle: LifecycleActive, UserID: in.UserID}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		l, err := experimentLifecycle(tx, experimentID)
		if err != nil {
			return err
		}
		if l != LifecycleActive {
			return invalid("experiment_id", "the experiment must be active")
		}
		if err := tx.Omit("Tags", "Metrics").Create(run).Error; err != nil {
			return dbErr(err, "run")
		}
		// A new run has no tags yet, and checkTags bounded these.
		tags := make([]runTag, 0, len(in.Tags))
		for _, k := range sortedKeys(in.Tags) {
			tags = append(tags, runTag{RunID: id, Key: k, Value: in.Tags[k]})
		}
		if len(tags) > 0 {
			if err := tx.CreateInBatches(&tags, tagsPerInsert).Error; err != nil {
				return dbErr(err, "run tag")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	run.Tags = make(map[string]string, len(in.Tags))
	for k, v := range in.Tags {
		run.Tags[k] = v
	}
	run.Metrics = []MetricSummary{}
	return run, nil
}

// tagsPerInsert is the rows of one multi-row INSERT of a new entity's
// tags (4 bound parameters each), kept small for the SQLite driver's
// binding (see sqliteRowsPerInsert).
const tagsPerInsert = 200

// experimentLifecycle returns the lifecycle stage of experiment id
// (ErrNotFound when the tenant has none).
func experimentLifecycle(db *gorm.DB, id string) (Lifecycle, error) {
	if !validID(id) {
		return "", notFound("experiment", id)
	}
	var e TrackedExperiment
	if err := db.Select("lifecycle_stage").Where("id = ?", id).Take(&e).Error; err != nil {
		return "", dbErr(err, "experiment "+id)
	}
	return e.Lifecycle, nil
}

func getTrackedRun(db *gorm.DB, id string) (*TrackedRun, error) {
	if !validID(id) {
		return nil, notFound("run", id)
	}
	var run TrackedRun
	if err := db.Where("id = ?", id).Take(&run).Error; err != nil {
		return nil, dbErr(err, "run "+id)
	}
	if err := loadRunData(db, []*TrackedRun{&run}); err != nil {
		return nil, err
	}
	return &run, nil
}

// summaryColumns are the columns of metric_series a MetricSummary reads.
const summaryColumns = "run_id, metric_key, point_count, last_step, last_timestamp, last_value, min_value, max_value"

// loadRunData fills the tags and latest metrics of runs.
func loadRunData(db *gorm.DB, runs []*TrackedRun) error {
	byID := make(map[string]*TrackedRun, len(runs))
	ids := make([]string, 0, len(runs))
	for _, run := range runs {
		run.Tags = map[string]string{}
		run.Metrics = []MetricSummary{}
		if run.Params == nil {
			run.Params = map[string]string{}
		}
		byID[run.ID] = run
		ids = append(ids, run.ID)
	}
	for i := 0; i < len(ids); i += 1000 {
		chunk := ids[i:min(i+1000, len(ids))]
		var tags []runTag
		if err := db.Select("run_id, tag_key, tag_value").Where("run_id IN ?", chunk).Find(&tags).Error; err != nil {
			return dbErr(err, "run tags")
		}
		for _, t := range tags {
			byID[t.RunID].Tags[t.Key] = t.Value
		}
		var series []metricSeries
		if err := db.Select(summaryColumns).Where("run_id IN ?", chunk).Order("metric_key").Find(&series).Error; err != nil {
			return dbErr(err, "run metrics")
		}
		for _, s := range series {
			run := byID[s.RunID]
			run.Metrics = append(run.Metrics, MetricSummary{Key: s.Key, Count: s.PointCount, LastStep: s.LastStep,
				LastTimestamp: s.LastTimestamp, LastValue: s.LastValue, Min: s.MinValue, Max: s.MaxValue})
		}
	}
	return nil
}

// TrackedRun returns a run with its parameters, tags and latest metrics.
func (r *Registry) TrackedRun(ctx context.Context, id string) (*TrackedRun, error) {
	var out *TrackedRun
	err := r.readTx(ctx, func(db *gorm.DB) error {
		var err error
		out, err = getTrackedRun(db, id)
		return err
	})
	return out, err
}

// TrackedRunPatch changes a run: fields left nil stay.
type TrackedRunPatch struct {
	Status  *RunStatus `json:"status,omitempty"`
	EndTime *time.Time `json:"end_time,omitempty"`
	Name    *string    `json:"name,omitempty"`
}

// UpdateTrackedRun changes a run's status, end time or name. A status
// other than running without an end time records now as the end; an end
// before the run's start is ErrInvalid.
func (r *Registry) UpdateTrackedRun(ctx context.Context, id string, p TrackedRunPatch) (*TrackedRun, error) {
	if err := r.patchRun(ctx, id, runChange{status: p.Status, end: p.EndTime, name: p.Name}, "end_time", "run_name"); err != nil {
		return nil, err
	}
	return r.TrackedRun(ctx, id)
}

// runChange is a change of a run's status, end time or name (nil stays).
type runChange struct {
	status *RunStatus
	end    *time.Time
	name   *string
}

// patchRun applies c to a run, in one transaction, for UpdateRun and
// UpdateTrackedRun: endField and nameField name the fields in errors. A
// status other than running without an end records now as the end;
// running clears the end and refuses one; an end before the start is
// ErrInvalid.
func (r *Registry) patchRun(ctx context.Context, id string, c runChange, endField, nameField string) error {
	var v validator
	set := map[string]any{}
	if c.status != nil {
		v.check(c.status.Valid(), "status", "must be running, finished, failed or killed")
		set["status"] = *c.status
		switch {
		case *c.status == RunRunning:
			v.check(c.end == nil, endField, "a running run has no end time")
			set["ended_at"] = nil
		case c.end == nil:
			set["ended_at"] = r.timestamp()
		}
	}
	var end time.Time
	if c.end != nil {
		end = c.end.UTC().Truncate(time.Microsecond)
		v.check(validTime(end), endField, "must be a time in the years 1 to 9999")
		set["ended_at"] = end
	}
	if c.name != nil {
		set["name"] = checkName(&v, nameField, *c.name)
	}
	if err := v.err(); err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		run, err := getRun(tx, id)
		if err != nil {
			return err
		}
		if t, ok := set["ended_at"].(time.Time); ok && t.Before(run.StartedAt) {
			return invalid(endField, "must not precede the run's start (%s)", run.StartedAt.UTC().Format(time.RFC3339Nano))
		}
		if len(set) == 0 {
			return nil
		}
		return dbErr(tx.Model(&Run{}).Where("id = ?", id).Updates(set).Error, "run")
	})
}

// SetRunLifecycle deletes (LifecycleDeleted) or restores (LifecycleActive)
// a run.
func (r *Registry) SetRunLifecycle(ctx context.Context, id string, l Lifecycle) error {
	if !l.Valid() {
		return invalid("lifecycle_stage", "must be active or deleted")
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getTrackedRun(tx, id); err != nil {
			return err
		}
		return dbErr(tx.Model(&TrackedRun{}).Where("id = ?", id).Update("lifecycle_stage", l).Error, "run")
	})
}

// RunBatch is what LogRunBatch writes: metric points, parameters and tags.
type RunBatch struct {
	Metrics []MetricPoint     `json:"metrics,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// ErrParamChanged is wrapped by LogRunBatch's error when a batch gives a
// logged parameter another value: parameters are write-once.
var ErrParamChanged = fmt.Errorf("%w: a logged parameter cannot change its value", ErrInvalid)

// LogRunBatch writes a batch to an active run, all or nothing: metric
// points (as LogMetrics), parameters (write-once: the same value again
// is accepted, another one fails with ErrParamChanged; at most MaxParams
// per run) and tags (set or replaced).
func (r *Registry) LogRunBatch(ctx context.Context, runID string, b RunBatch) error {
	var v validator
	checkParamValues(&v, "params", b.Params)
	checkTags(&v, "tags", b.Tags)
	if err := v.err(); err != nil {
		return err
	}
	var metrics pointBatch
	if len(b.Metrics) > 0 {
		var err error
		if metrics, err = r.groupPoints(b.Metrics); err != nil {
			return err
		}
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		// FOR UPDATE on PostgreSQL: concurrent batches of one run merge
		// their parameters, and store their metric points, one after
		// the other. The parameters are read only for a batch that has
		// some (log-metric has none).
		cols := []string{"id", "lifecycle_stage"}
		if len(b.Params) > 0 {
			cols = append(cols, "params")
		}
		run, err := getRun(tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select(cols), runID)
		if err != nil {
			return err
		}
		if run.Lifecycle != LifecycleActive {
			return invalid("run_id", "the run must be active")
		}
		if len(b.Params) > 0 {
			changed := false
			for k, val := range b.Params {
				old, ok := run.Params[k]
				if ok && old != val {
					return fmt.Errorf("%w: parameter %q is %q, not %q", ErrParamChanged, k, old, val)
				}
				if !ok {
					run.Params[k] = val
					changed = true
				}
			}
			if len(run.Params) > MaxParams {
				return &TooLargeError{What: "parameters", Limit: MaxParams, Got: int64(len(run.Params))}
			}
			if changed {
				if err := tx.Model(&TrackedRun{}).Where("id = ?", runID).Select("params").Updates(&TrackedRun{Params: run.Params}).Error; err != nil {
					return dbErr(err, "run parameters")
				}
			}
		}
		if len(b.Tags) > 0 {
			if err := upsertTags(tx, &runTag{}, "run_id", runID, b.Tags); err != nil {
				return err
			}
		}
		if metrics.n > 0 {
			return r.storeMetrics(ctx, tx, runID, metrics)
		}
		return nil
	})
}

// DeleteRunTag deletes a tag of an active run; a missing tag is
// ErrNotFound.
func (r *Registry) DeleteRunTag(ctx context.Context, runID, key string) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		run, err := getTrackedRun(tx, runID)
		if err != nil {
			return err
		}
		if run.Lifecycle != LifecycleActive {
			return invalid("run_id", "the run must be active")
		}
		res := tx.Where("run_id = ? AND tag_key = ?", runID, key).Delete(&runTag{})
		if res.Error != nil {
			return dbErr(res.Error, "run tag")
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: no tag %q in run %s", ErrNotFound, key, runID)
		}
		return nil
	})
}

// ListTrackedRuns returns the runs of the given experiments in the given
// lifecycle stages (all when none is given) with their parameters, tags
// and latest metrics, oldest first. An unknown experiment id matches
// nothing. More than MaxTrackingScan runs is ErrTooLarge; so are more
// than MaxTrackingScan experiment ids.
func (r *Registry) ListTrackedRuns(ctx context.Context, experimentIDs []string, stages ...Lifecycle) ([]TrackedRun, error) {
	if len(experimentIDs) > MaxTrackingScan {
		return nil, &TooLargeError{What: "experiment ids", Limit: MaxTrackingScan, Got: int64(len(experimentIDs))}
	}
	ids := make([]string, 0, len(experimentIDs))
	for _, id := range experimentIDs {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	var out []TrackedRun
	if len(ids) == 0 {
		return []TrackedRun{}, nil
	}
	err := r.readTx(ctx, func(db *gorm.DB) error {
		q := db.Where("experiment_id IN ?", ids).Order("id").Limit(MaxTrackingScan + 1)
		if len(stages) > 0 {
			q = q.Where("lifecycle_stage IN ?", stages)
		}
		if err := q.Find(&out).Error; err != nil {
			return dbErr(err, "runs")
		}
		if len(out) > MaxTrackingScan {
			return &TooLargeError{What: "run search", Limit: MaxTrackingScan, Got: int64(len(out))}
		}
		ptrs := make([]*TrackedRun, len(out))
		for i := range out {
			ptrs[i] = &out[i]
		}
		return loadRunData(db, ptrs)
	})
	return out, err
}

// MetricPoints returns one page of a metric's full history, in the order
// the points were logged: at most limit points (0 means MaxHistoryPage;
// at most MaxHistoryPage) after cursor, the NextCursor of the previous
// page. An unknown metric of an existing run has no points; an unknown
// run (or another tenant's) is ErrNotFound. A page is one statement (the
// series by its unique key, its points by the primary key); an empty page
// adds one that reads the run, a full one one that finds the next point.
func (r *Registry) MetricPoints(ctx context.Context, runID, key string, limit int, cursor string) (Page[MetricPoint], error) {
	if limit == 0 {
		limit = MaxHistoryPage
	}
	if limit < 0 || limit > MaxHistoryPage {
		return Page[MetricPoint]{}, invalid("max_results", "must be between 1 and %d", MaxHistoryPage)
	}
	fk := filterKey("metric-points", runID, key)
	after, err := decodeCursorKey(cursor, fk, func(s string) bool {
		var n int64
		_, err := fmt.Sscan(s, &n)
		return err == nil && n >= 0 && fmt.Sprint(n) == s
	})
	if err != nil {
		return Page[MetricPoint]{}, err
	}
	var from int64 = -1
	if after != "" {
		_, _ = fmt.Sscan(after, &from) // decodeCursorKey checked it is a canonical non-negative integer
	}
	if !validID(runID) {
		return Page[MetricPoint]{}, notFound("run", runID)
	}
	var out Page[MetricPoint]
	err = r.readTx(ctx, func(db *gorm.DB) error {
		// One statement reads the page: the series by its unique key,
		// then its points by the primary key, in order, without their
		// numbers (each column of each row costs the SQLite driver
		// two locked calls). No row is read for the run: only an empty
		// page asks whether it exists; only a full one asks for the
		// number of its last point and whether one follows.
		points := func(d *gorm.DB) *gorm.DB {
			return d.Model(&metricPoint{}).Clauses(clause.From{Joins: []clause.Join{{
				Type:  clause.InnerJoin,
				Table: clause.Table{Name: "metric_series", Alias: "s"},
				ON:    clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "s.id = metric_points.series_id"}}},
			}}}).Where("s.run_id = ? AND s.metric_key = ? AND metric_points.seq > ?", runID, key, from).Order("metric_points.seq")
		}
		rows, err := points(db).Select("metric_points.step, " + timeColumn(db, "metric_points.ts") + ", metric_points.value").Limit(limit).Rows()
		if err != nil {
			return dbErr(err, "metric history")
		}
		defer func() { _ = rows.Close() }()
		items := make([]MetricPoint, 0, min(limit, 1024))
		var (
			ts scanTime
			p  = MetricPoint{Key: key}
		)
		for rows.Next() {
			if err := rows.Scan(&p.Step, &ts, &p.Value); err != nil {
				return dbErr(err, "metric history")
			}
			p.Timestamp = ts.t
			items = append(items, p)
		}
		if err := rows.Err(); err != nil {
			return dbErr(err, "metric history")
		}
		if err := rows.Close(); err != nil {
			return dbErr(err, "metric history")
		}
		out.Items = items
		switch len(items) {
		case 0:
			_, err := getRun(db.Select("id"), runID)
			return err
		case limit:
			var seqs []int64
			if err := points(db).Offset(limit-1).Limit(2).Pluck("metric_points.seq", &seqs).Error; err != nil {
				return dbErr(err, "metric history")
			}
			if len(seqs) == 2 {
				out.NextCursor = encodeCursor(strconv.FormatInt(seqs[0], 10), fk)
			}
		}
		return nil
	})
	return out, err
}

// LogDatasetInputs records datasets a run used; an input with the name and
// digest of a recorded one replaces it. At most MaxDatasetInputs per run.
func (r *Registry) LogDatasetInputs(ctx context.Context, runID string, inputs []DatasetInput) error {
	var v validator
	v.check(len(inputs) <= MaxDatasetInputs, "datasets", "at most %d datasets", MaxDatasetInputs)
	for i, in := range inputs {
		f := fmt.Sprintf("datasets[%d]", i)
		v.check(in.Name != "" && len(in.Name) <= 500 && utf8.ValidString(in.Name) && !strings.ContainsFunc(in.Name, isControl), f+".name", "is required, text of at most 500 bytes")
		v.check(in.Digest != "" && len(in.Digest) <= 64 && utf8.ValidString(in.Digest) && !strings.ContainsFunc(in.Digest, isControl), f+".digest", "is required, at most 64 bytes")
		v.check(len(in.Body) <= MaxDatasetBody && utf8.ValidString(in.Body) && !strings.ContainsRune(in.Body, 0), f, "must be UTF-8 of at most %d bytes", MaxDatasetBody)
	}
	if err := v.err(); err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		run, err := getTrackedRun(tx, runID)
		if err != nil {
			return err
		}
		if run.Lifecycle != LifecycleActive {
			return invalid("run_id", "the run must be active")
		}
		for _, in := range inputs {
			row := DatasetInput{RunID: runID, Name: in.Name, Digest: in.Digest, Body: in.Body}
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "run_id"}, {Name: "name"}, {Name: "digest"}},
				DoUpdates: clause.AssignmentColumns([]string{"body"}),
			}).Create(&row).Error; err != nil {
				return dbErr(err, "dataset input")
			}
		}
		var n int64
		if err := tx.Model(&DatasetInput{}).Where("run_id = ?", runID).Count(&n).Error; err != nil {
			return dbErr(err, "dataset inputs")
		}
		if n > MaxDatasetInputs {
			return &TooLargeError{What: "dataset inputs", Limit: MaxDatasetInputs, Got: n}
		}
		return nil
	})
}

// ExperimentDatasetInputs returns the datasets recorded for the runs of
// the given experiments in the given lifecycle stages (all when none is
// given), with their run ids, by run id, name and digest. More than
// MaxTrackingScan runs or MaxTrackingScan inputs is ErrTooLarge, as are
// more than MaxTrackingScan experiment ids.
func (r *Registry) ExperimentDatasetInputs(ctx context.Context, experimentIDs []string, stages ...Lifecycle) ([]DatasetInput, error) {
	if len(experimentIDs) > MaxTrackingScan {
		return nil, &TooLargeError{What: "experiment ids", Limit: MaxTrackingScan, Got: int64(len(experimentIDs))}
	}
	ids := make([]string, 0, len(experimentIDs))
	for _, id := range experimentIDs {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	out := []DatasetInput{}
	if len(ids) == 0 {
		return out, nil
	}
	err := r.readTx(ctx, func(db *gorm.DB) error {
		var runIDs []string
		q := db.Model(&TrackedRun{}).Where("experiment_id IN ?", ids).Order("id").Limit(MaxTrackingScan + 1)
		if len(stages) > 0 {
			q = q.Where("lifecycle_stage IN ?", stages)
		}
		if err := q.Pluck("id", &runIDs).Error; err != nil {
			return dbErr(err, "runs")
		}
		if len(runIDs) > MaxTrackingScan {
			return &TooLargeError{What: "run search", Limit: MaxTrackingScan, Got: int64(len(runIDs))}
		}
		if len(runIDs) == 0 {
			return nil
		}
		if err := db.Where("run_id IN ?", runIDs).Order("run_id, name, digest").Limit(MaxTrackingScan + 1).Find(&out).Error; err != nil {
			return dbErr(err, "dataset inputs")
		}
		if len(out) > MaxTrackingScan {
			return &TooLargeError{What: "dataset inputs", Limit: MaxTrackingScan, Got: int64(len(out))}
		}
		return nil
	})
	return out, err
}

// DatasetInputs returns the datasets recorded for a run, by name and
// digest (at most MaxDatasetInputs).
func (r *Registry) DatasetInputs(ctx context.Context, runID string) ([]DatasetInput, error) {
	var out []DatasetInput
	err := r.readTx(ctx, func(db *gorm.DB) error {
		if _, err := getRun(db, runID); err != nil {
			return err
		}
		return dbErr(db.Where("run_id = ?", runID).Order("name, digest").Limit(MaxDatasetInputs).Find(&out).Error, "dataset inputs")
	})
	if out == nil {
		out = []DatasetInput{}
	}
	return out, err
}

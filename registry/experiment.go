package registry

import (
	"context"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// Experiment groups the runs of one question asked within a project.
type Experiment struct {
	tenancy.Model
	ID          string `gorm:"column:id;primaryKey" json:"id"`
	ProjectID   string `gorm:"column:project_id" json:"project_id"`
	Name        string `gorm:"column:name" json:"name"`
	Description string `gorm:"column:description" json:"description"`
	// Lifecycle is active, or deleted (hidden from lists, its runs with
	// it; restorable).
	Lifecycle Lifecycle `gorm:"column:lifecycle_stage" json:"lifecycle"`
	CreatedAt time.Time `gorm:"column:created_at" json:"created_at"`
}

// TableName implements gorm's Tabler.
func (Experiment) TableName() string { return "experiments" }

// ExperimentInput is what CreateExperiment needs.
type ExperimentInput struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// CreateExperiment creates an experiment in a project. Names are unique
// within a project (ErrConflict).
func (r *Registry) CreateExperiment(ctx context.Context, projectID string, in ExperimentInput) (*Experiment, error) {
	var v validator
	name := checkName(&v, "name", in.Name)
	desc := checkText(&v, "description", in.Description)
	if err := v.err(); err != nil {
		return nil, err
	}
	e := &Experiment{ID: newID(), ProjectID: projectID, Name: name, Description: desc, Lifecycle: LifecycleActive, CreatedAt: r.timestamp()}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getProject(tx, projectID); err != nil {
			return err
		}
		return dbErr(tx.Create(e).Error, "experiment "+name)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// GetExperiment returns an experiment.
func (r *Registry) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	return getExperiment(db, id)
}

func getExperiment(db *gorm.DB, id string) (*Experiment, error) {
	if !validID(id) {
		return nil, notFound("experiment", id)
	}
	var e Experiment
	if err := db.Where("id = ?", id).Take(&e).Error; err != nil {
		return nil, dbErr(err, "experiment "+id)
	}
	return &e, nil
}

// ListExperiments returns a page of a project's active experiments,
// oldest first.
func (r *Registry) ListExperiments(ctx context.Context, projectID string, page PageRequest) (Page[Experiment], error) {
	return r.SearchExperiments(ctx, ExperimentFilter{ProjectID: projectID, Limit: page.Limit, Cursor: page.Cursor})
}

// LifecycleFilter selects entities by lifecycle stage in a listing: ""
// or LifecycleActive (the default), LifecycleDeleted, or LifecycleAll.
const LifecycleAll Lifecycle = "all"

// stages returns the stages a lifecycle filter selects (nil: all), or
// ErrInvalid naming field.
func (l Lifecycle) stages(field string) ([]Lifecycle, error) {
	switch l {
	case "", LifecycleActive:
		return []Lifecycle{LifecycleActive}, nil
	case LifecycleDeleted:
		return []Lifecycle{LifecycleDeleted}, nil
	case LifecycleAll:
		return nil, nil
	}
	return nil, invalid(field, "must be active, deleted or all")
}

// ExperimentFilter selects the experiments SearchExperiments lists: of a
// project (ProjectID, "" for every experiment of the tenant, whether in a
// project or created through the tracking API), whose name contains Q
// (case-insensitive, at most MaxNameLength characters), in a lifecycle
// stage (see LifecycleAll), one page of Limit after Cursor.
type ExperimentFilter struct {
	ProjectID string
	Q         string
	Lifecycle Lifecycle
	Limit     int
	Cursor    string
}

// SearchExperiments returns a page of the tenant's experiments that match
// f, oldest first. An unknown ProjectID is ErrNotFound.
func (r *Registry) SearchExperiments(ctx context.Context, f ExperimentFilter) (Page[Experiment], error) {
	var v validator
	q := checkQuery(&v, f.Q)
	if err := v.err(); err != nil {
		return Page[Experiment]{}, err
	}
	stages, err := f.Lifecycle.stages("lifecycle")
	if err != nil {
		return Page[Experiment]{}, err
	}
	fk := filterKey("experiments", f.ProjectID, q, string(f.Lifecycle))
	limit, after, err := pageStart(PageRequest{Limit: f.Limit, Cursor: f.Cursor}, fk, nil)
	if err != nil {
		return Page[Experiment]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[Experiment]{}, err
	}
	if f.ProjectID != "" {
		if _, err := getProject(db, f.ProjectID); err != nil {
			return Page[Experiment]{}, err
		}
		db = db.Where("project_id = ?", f.ProjectID)
	}
	if q != "" {
		db = db.Where(`LOWER(name) LIKE ? ESCAPE '\'`, likePattern(q))
	}
	if stages != nil {
		db = db.Where("lifecycle_stage IN ?", stages)
	}
	return keysetPage(db, "id", afterArg(after), limit, fk, func(e Experiment) string { return e.ID }, "experiments")
}

// ExperimentPatch changes an experiment: fields left nil stay.
type ExperimentPatch struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// UpdateExperiment renames an experiment or changes its description. A
// name another experiment of the same project holds (or, for an
// experiment of no project, another such experiment) is ErrConflict
// naming it.
func (r *Registry) UpdateExperiment(ctx context.Context, id string, p ExperimentPatch) (*Experiment, error) {
	var v validator
	set := map[string]any{}
	if p.Name != nil {
		set["name"] = checkName(&v, "name", *p.Name)
	}
	if p.Description != nil {
		set["description"] = checkText(&v, "description", *p.Description)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, err := r.updateExperiment(ctx, id, set); err != nil {
		return nil, err
	}
	return r.GetExperiment(ctx, id)
}

// DeleteExperiment deletes an experiment softly, as MLflow does: it and
// its runs turn deleted (hidden from lists, refusing new runs, metrics
// and tags) and RestoreExperiment brings them back. Their metrics and
// artifacts stay.
func (r *Registry) DeleteExperiment(ctx context.Context, id string) error {
	_, err := r.SetExperimentLifecycle(ctx, id, LifecycleDeleted)
	return err
}

// RestoreExperiment makes a deleted experiment and all its runs active
// again.
func (r *Registry) RestoreExperiment(ctx context.Context, id string) (*Experiment, error) {
	if _, err := r.SetExperimentLifecycle(ctx, id, LifecycleActive); err != nil {
		return nil, err
	}
	return r.GetExperiment(ctx, id)
}

// RunStatus is the state of a run.
type RunStatus string

// The run states. A run starts running.
const (
	RunRunning  RunStatus = "running"
	RunFinished RunStatus = "finished"
	RunFailed   RunStatus = "failed"
	RunKilled   RunStatus = "killed"
)

// Valid reports whether s is one of the run states.
func (s RunStatus) Valid() bool {
	switch s {
	case RunRunning, RunFinished, RunFailed, RunKilled:
		return true
	}
	return false
}

// Run is one execution of an experiment with its parameters.
type Run struct {
	tenancy.Model
	ID           string            `gorm:"column:id;primaryKey" json:"id"`
	ExperimentID string            `gorm:"column:experiment_id" json:"experiment_id"`
	Name         string            `gorm:"column:name" json:"name"`
	Status       RunStatus         `gorm:"column:status" json:"status"`
	Params       map[string]string `gorm:"column:params;serializer:json" json:"params"`
	StartedAt    time.Time         `gorm:"column:started_at" json:"started_at"`
	EndedAt      *time.Time        `gorm:"column:ended_at" json:"ended_at"`
	// Lifecycle is active, or deleted (hidden from lists, refusing
	// metrics and tags; restorable).
	Lifecycle Lifecycle `gorm:"column:lifecycle_stage" json:"lifecycle"`
	// Tags are the run's tags, the same MLflow's set-tag writes.
	Tags map[string]string `gorm:"-" json:"tags"`
}

// TableName implements gorm's Tabler.
func (Run) TableName() string { return "runs" }

// Parameter limits of a run.
const (
	MaxParams          = 1000
	MaxParamKeyLength  = 250
	MaxParamValueBytes = 6000
)

// RunInput is what CreateRun needs. Name is optional (the run's id is used
// when empty). Params maps keys (letters, digits, _ - . : / and spaces, at
// most MaxParamKeyLength) to values (at most MaxParamValueBytes).
type RunInput struct {
	Name   string            `json:"name,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

// CreateRun starts a run of an experiment.
func (r *Registry) CreateRun(ctx context.Context, experimentID string, in RunInput) (*Run, error) {
	var v validator
	id := newID()
	name := in.Name
	if name == "" {
		name = id
	}
	name = checkName(&v, "name", name)
	v.check(len(in.Params) <= MaxParams, "params", "at most %d parameters", MaxParams)
	params := make(map[string]string, len(in.Params))
	keys := make([]string, 0, len(in.Params))
	for k := range in.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := in.Params[k]
		f := fmt.Sprintf("params[%q]", k)
		v.check(len(k) <= MaxParamKeyLength && keyRE.MatchString(k), f, "key must be letters, digits, _ - . : / and spaces, at most %d characters", MaxParamKeyLength)
		v.check(len(val) <= MaxParamValueBytes && utf8.ValidString(val), f, "value must be UTF-8 text of at most %d bytes", MaxParamValueBytes)
		params[k] = val
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	run := &Run{ID: id, ExperimentID: experimentID, Name: name, Status: RunRunning, Params: params, StartedAt: r.timestamp(),
		Lifecycle: LifecycleActive, Tags: map[string]string{}}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		e, err := getExperiment(tx, experimentID)
		if err != nil {
			return err
		}
		if e.Lifecycle != LifecycleActive {
			return invalid("experiment_id", "the experiment is deleted; restore it first")
		}
		return dbErr(tx.Create(run).Error, "run")
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// GetRun returns a run with its tags, whether active or deleted.
func (r *Registry) GetRun(ctx context.Context, id string) (*Run, error) {
	var out *Run
	err := r.readTx(ctx, func(db *gorm.DB) error {
		var err error
		if out, err = getRun(db, id); err != nil {
			return err
		}
		return loadRunTags(db, []*Run{out})
	})
	return out, err
}

// loadRunTags fills the tags of runs, in one query per 1000 runs.
func loadRunTags(db *gorm.DB, runs []*Run) error {
	byID := make(map[string]*Run, len(runs))
	ids := make([]string, 0, len(runs))
	for _, run := range runs {
		run.Tags = map[string]string{}
		byID[run.ID] = run
		ids = append(ids, run.ID)
	}
	for i := 0; i < len(ids); i += 1000 {
		var tags []runTag
		if err := db.Where("run_id IN ?", ids[i:min(i+1000, len(ids))]).Find(&tags).Error; err != nil {
			return dbErr(err, "run tags")
		}
		for _, t := range tags {
			byID[t.RunID].Tags[t.Key] = t.Value
		}
	}
	return nil
}

func getRun(db *gorm.DB, id string) (*Run, error) {
	if !validID(id) {
		return nil, notFound("run", id)
	}
	var run Run
	if err := db.Where("id = ?", id).Take(&run).Error; err != nil {
		return nil, dbErr(err, "run "+id)
	}
	if run.Params == nil {
		run.Params = map[string]string{}
	}
	return &run, nil
}

// ListRuns returns a page of an experiment's active runs, oldest first.
func (r *Registry) ListRuns(ctx context.Context, experimentID string, page PageRequest) (Page[Run], error) {
	return r.ListRunsByLifecycle(ctx, experimentID, LifecycleActive, page)
}

// ListRunsByLifecycle returns a page of an experiment's runs in the
// lifecycle stage l ("" is active; LifecycleAll is every run), oldest
// first, with their tags.
func (r *Registry) ListRunsByLifecycle(ctx context.Context, experimentID string, l Lifecycle, page PageRequest) (Page[Run], error) {
	stages, err := l.stages("lifecycle")
	if err != nil {
		return Page[Run]{}, err
	}
	fk := filterKey("runs", experimentID, string(l))
	limit, after, err := pageStart(page, fk, nil)
	if err != nil {
		return Page[Run]{}, err
	}
	var p Page[Run]
	err = r.readTx(ctx, func(db *gorm.DB) error {
		if _, err := getExperiment(db, experimentID); err != nil {
			return err
		}
		q := db.Where("experiment_id = ?", experimentID)
		if stages != nil {
			q = q.Where("lifecycle_stage IN ?", stages)
		}
		var err error
		p, err = keysetPage(q, "id", afterArg(after), limit, fk, func(run Run) string { return run.ID }, "runs")
		if err != nil {
			return err
		}
		ptrs := make([]*Run, len(p.Items))
		for i := range p.Items {
			if p.Items[i].Params == nil {
				p.Items[i].Params = map[string]string{}
			}
			ptrs[i] = &p.Items[i]
		}
		return loadRunTags(db, ptrs)
	})
	return p, err
}

// SetRunStatus changes a run's status; a status other than running also
// records the end time.
func (r *Registry) SetRunStatus(ctx context.Context, runID string, status RunStatus) (*Run, error) {
	if !status.Valid() {
		return nil, invalid("status", "must be running, finished, failed or killed")
	}
	var out *Run
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		set := map[string]any{"status": status, "ended_at": nil}
		if status != RunRunning {
			set["ended_at"] = r.timestamp()
		}
		if err := tx.Model(&Run{}).Where("id = ?", runID).Updates(set).Error; err != nil {
			return dbErr(err, "run status")
		}
		var err error
		out, err = getRun(tx, runID)
		return err
	})
	return out, err
}

// RunPatch changes a run through UpdateRun: fields left nil stay. Params
// adds parameters (write-once: a logged parameter keeps its value, and
// another value is ErrParamChanged).
type RunPatch struct {
	Name    *string           `json:"name,omitempty"`
	Status  *RunStatus        `json:"status,omitempty"`
	EndedAt *time.Time        `json:"ended_at,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
}

// UpdateRun changes a run's name, status, end time or parameters, all or
// nothing. A terminal status (finished, failed, killed) without EndedAt
// records now as the end; running clears the end and takes no EndedAt.
// An end before the run's start is ErrInvalid.
func (r *Registry) UpdateRun(ctx context.Context, id string, p RunPatch) (*Run, error) {
	err := r.Transaction(ctx, func(_ *gorm.DB, reg *Registry) error {
		if len(p.Params) > 0 {
			if err := reg.LogRunBatch(ctx, id, RunBatch{Params: p.Params}); err != nil {
				return err
			}
		}
		return reg.patchRun(ctx, id, runChange{status: p.Status, end: p.EndedAt, name: p.Name}, "ended_at", "name")
	})
	if err != nil {
		return nil, err
	}
	return r.GetRun(ctx, id)
}

// DeleteRun deletes a run softly, as MLflow does: it turns deleted
// (hidden from lists and searches unless asked for, refusing metrics and
// tags) and RestoreRun brings it back. Its parameters, metrics, tags and
// artifacts stay; a model version made from it keeps its source.
func (r *Registry) DeleteRun(ctx context.Context, id string) error {
	return r.SetRunLifecycle(ctx, id, LifecycleDeleted)
}

// RestoreRun makes a deleted run active again. A run of a deleted
// experiment stays deleted until the experiment is restored (ErrInvalid).
func (r *Registry) RestoreRun(ctx context.Context, id string) (*Run, error) {
	err := r.Transaction(ctx, func(tx *gorm.DB, reg *Registry) error {
		run, err := getRun(tx, id)
		if err != nil {
			return err
		}
		e, err := getExperiment(tx, run.ExperimentID)
		if err != nil {
			return err
		}
		if e.Lifecycle != LifecycleActive {
			return invalid("experiment_id", "the run's experiment is deleted; restore the experiment")
		}
		return reg.SetRunLifecycle(ctx, id, LifecycleActive)
	})
	if err != nil {
		return nil, err
	}
	return r.GetRun(ctx, id)
}

// SetRunTag sets (or replaces) one tag of an active run, the tag MLflow's
// set-tag writes.
func (r *Registry) SetRunTag(ctx context.Context, runID, key, value string) error {
	return r.LogRunBatch(ctx, runID, RunBatch{Tags: map[string]string{key: value}})
}

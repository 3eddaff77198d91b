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
	ID          string    `gorm:"column:id;primaryKey" json:"id"`
	ProjectID   string    `gorm:"column:project_id" json:"project_id"`
	Name        string    `gorm:"column:name" json:"name"`
	Description string    `gorm:"column:description" json:"description"`
	CreatedAt   time.Time `gorm:"column:created_at" json:"created_at"`
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
	e := &Experiment{ID: newID(), ProjectID: projectID, Name: name, Description: desc, CreatedAt: r.timestamp()}
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

// ListExperiments returns a page of a project's experiments, oldest
// first.
func (r *Registry) ListExperiments(ctx context.Context, projectID string, page PageRequest) (Page[Experiment], error) {
	fk := filterKey("experiments", projectID)
	limit, after, err := pageStart(page, fk, nil)
	if err != nil {
		return Page[Experiment]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[Experiment]{}, err
	}
	if _, err := getProject(db, projectID); err != nil {
		return Page[Experiment]{}, err
	}
	return keysetPage(db.Where("project_id = ?", projectID), "id", afterArg(after), limit, fk,
		func(e Experiment) string { return e.ID }, "experiments")
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
	run := &Run{ID: id, ExperimentID: experimentID, Name: name, Status: RunRunning, Params: params, StartedAt: r.timestamp()}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getExperiment(tx, experimentID); err != nil {
			return err
		}
		return dbErr(tx.Create(run).Error, "run")
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

// GetRun returns a run.
func (r *Registry) GetRun(ctx context.Context, id string) (*Run, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	return getRun(db, id)
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

// ListRuns returns a page of an experiment's runs, oldest first.
func (r *Registry) ListRuns(ctx context.Context, experimentID string, page PageRequest) (Page[Run], error) {
	fk := filterKey("runs", experimentID)
	limit, after, err := pageStart(page, fk, nil)
	if err != nil {
		return Page[Run]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[Run]{}, err
	}
	if _, err := getExperiment(db, experimentID); err != nil {
		return Page[Run]{}, err
	}
	p, err := keysetPage(db.Where("experiment_id = ?", experimentID), "id", afterArg(after), limit, fk,
		func(run Run) string { return run.ID }, "runs")
	for i := range p.Items {
		if p.Items[i].Params == nil {
			p.Items[i].Params = map[string]string{}
		}
	}
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

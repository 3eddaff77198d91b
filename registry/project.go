package registry

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/tenancy"
)

// ProblemClass is the kind of ML problem a project solves.
type ProblemClass string

// The problem classes.
const (
	Classification   ProblemClass = "classification"
	Regression       ProblemClass = "regression"
	Forecasting      ProblemClass = "forecasting"
	NLP              ProblemClass = "nlp"
	ComputerVision   ProblemClass = "computer_vision"
	Recommendation   ProblemClass = "recommendation"
	AnomalyDetection ProblemClass = "anomaly_detection"
	OtherProblem     ProblemClass = "other"
)

// ProblemClasses returns every problem class, in a fixed order.
func ProblemClasses() []ProblemClass {
	return []ProblemClass{Classification, Regression, Forecasting, NLP, ComputerVision, Recommendation, AnomalyDetection, OtherProblem}
}

// Valid reports whether c is one of the problem classes.
func (c ProblemClass) Valid() bool {
	for _, x := range ProblemClasses() {
		if c == x {
			return true
		}
	}
	return false
}

// ProjectStatus is a project's life-cycle state.
type ProjectStatus string

// The project states. A project starts active; RecordOutcome completes it.
const (
	StatusActive    ProjectStatus = "active"
	StatusOnHold    ProjectStatus = "on_hold"
	StatusCompleted ProjectStatus = "completed"
	StatusCancelled ProjectStatus = "cancelled"
)

// Valid reports whether s is one of the project states.
func (s ProjectStatus) Valid() bool {
	switch s {
	case StatusActive, StatusOnHold, StatusCompleted, StatusCancelled:
		return true
	}
	return false
}

// Project is an ML project of a tenant. The outcome fields and
// SuccessScore are nil until RecordOutcome is called.
type Project struct {
	tenancy.Model
	ID               string        `gorm:"column:id;primaryKey" json:"id"`
	Name             string        `gorm:"column:name" json:"name"`
	ProblemClass     ProblemClass  `gorm:"column:problem_class" json:"problem_class"`
	ComplexityScore  int           `gorm:"column:complexity_score" json:"complexity_score"`
	TeamSize         int           `gorm:"column:team_size" json:"team_size"`
	Description      string        `gorm:"column:description" json:"description"`
	Spec             Spec          `gorm:"column:spec;serializer:json" json:"spec"`
	Tags             []string      `gorm:"column:tags;serializer:json" json:"tags"`
	Status           ProjectStatus `gorm:"column:status" json:"status"`
	StartedAt        time.Time     `gorm:"column:started_at" json:"started_at"`
	CompletedAt      *time.Time    `gorm:"column:completed_at" json:"completed_at"`
	ModelPerformance *float64      `gorm:"column:model_performance" json:"model_performance"`
	BusinessImpact   *float64      `gorm:"column:business_impact" json:"business_impact"`
	DeploymentDays   *float64      `gorm:"column:deployment_days" json:"deployment_days"`
	ComputeCost      *float64      `gorm:"column:compute_cost" json:"compute_cost"`
	SuccessScore     *float64      `gorm:"column:success_score" json:"success_score"`
	CreatedAt        time.Time     `gorm:"column:created_at" json:"created_at"`
	UpdatedAt        time.Time     `gorm:"column:updated_at" json:"updated_at"`
}

// TableName implements gorm's Tabler.
func (Project) TableName() string { return "projects" }

// Outcome returns the project's recorded outcome, or false when none is
// recorded.
func (p *Project) Outcome() (Outcome, bool) {
	if p.ModelPerformance == nil || p.BusinessImpact == nil || p.DeploymentDays == nil || p.ComputeCost == nil {
		return Outcome{}, false
	}
	return Outcome{*p.ModelPerformance, *p.BusinessImpact, *p.DeploymentDays, *p.ComputeCost}, true
}

// projectTag indexes a project's tags for filtering.
type projectTag struct {
	tenancy.Model
	ProjectID string `gorm:"column:project_id;primaryKey"`
	Tag       string `gorm:"column:tag;primaryKey"`
}

func (projectTag) TableName() string { return "project_tags" }

// ProjectInput is what CreateProject needs. Name, ProblemClass,
// ComplexityScore (1-10) and TeamSize (1-10000) are required.
type ProjectInput struct {
	Name            string       `json:"name"`
	ProblemClass    ProblemClass `json:"problem_class"`
	ComplexityScore int          `json:"complexity_score"`
	TeamSize        int          `json:"team_size"`
	Description     string       `json:"description,omitempty"`
	Spec            Spec         `json:"spec,omitempty"`
	Tags            []string     `json:"tags,omitempty"`
	// StartedAt is when work began; zero means now.
	StartedAt time.Time `json:"started_at,omitzero"`
}

// ProjectPatch changes the non-nil fields of a project. Status may be set
// to active, on_hold or cancelled; a project becomes completed only by
// RecordOutcome.
type ProjectPatch struct {
	Name            *string        `json:"name,omitempty"`
	ProblemClass    *ProblemClass  `json:"problem_class,omitempty"`
	ComplexityScore *int           `json:"complexity_score,omitempty"`
	TeamSize        *int           `json:"team_size,omitempty"`
	Description     *string        `json:"description,omitempty"`
	Spec            *Spec          `json:"spec,omitempty"`
	Tags            *[]string      `json:"tags,omitempty"`
	Status          *ProjectStatus `json:"status,omitempty"`
}

// MaxTeamSize is the largest accepted team size.
const MaxTeamSize = 10000

func checkClass(v *validator, c ProblemClass) {
	v.check(c.Valid(), "problem_class", "must be one of classification, regression, forecasting, nlp, computer_vision, recommendation, anomaly_detection, other")
}

func checkComplexity(v *validator, n int) {
	v.check(n >= 1 && n <= 10, "complexity_score", "must be an integer from 1 to 10")
}

func checkTeamSize(v *validator, n int) {
	v.check(n >= 1 && n <= MaxTeamSize, "team_size", "must be an integer from 1 to %d", MaxTeamSize)
}

// CreateProject creates an active project in the context's tenant.
func (r *Registry) CreateProject(ctx context.Context, in ProjectInput) (*Project, error) {
	var v validator
	name := checkName(&v, "name", in.Name)
	checkClass(&v, in.ProblemClass)
	checkComplexity(&v, in.ComplexityScore)
	checkTeamSize(&v, in.TeamSize)
	desc := checkText(&v, "description", in.Description)
	checkSpec(&v, in.Spec)
	tags := normTags(&v, "tags", in.Tags)
	if err := v.err(); err != nil {
		return nil, err
	}
	now := r.timestamp()
	started := in.StartedAt.UTC().Truncate(time.Microsecond)
	if in.StartedAt.IsZero() {
		started = now
	}
	p := &Project{
		ID: newID(), Name: name, ProblemClass: in.ProblemClass, ComplexityScore: in.ComplexityScore,
		TeamSize: in.TeamSize, Description: desc, Spec: in.Spec, Tags: tags, Status: StatusActive,
		StartedAt: started, CreatedAt: now, UpdatedAt: now,
	}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if err := r.checkQuota(ctx, tx, tenancy.ResourceProjects, 1); err != nil {
			return err
		}
		if err := tx.Create(p).Error; err != nil {
			return dbErr(err, "project")
		}
		return writeProjectTags(tx, p.ID, tags)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func writeProjectTags(tx *gorm.DB, id string, tags []string) error {
	if err := tx.Where("project_id = ?", id).Delete(&projectTag{}).Error; err != nil {
		return dbErr(err, "project tags")
	}
	if len(tags) == 0 {
		return nil
	}
	rows := make([]projectTag, len(tags))
	for i, t := range tags {
		rows[i] = projectTag{ProjectID: id, Tag: t}
	}
	return dbErr(tx.Create(&rows).Error, "project tags")
}

// GetProject returns a project of the context's tenant.
func (r *Registry) GetProject(ctx context.Context, id string) (*Project, error) {
	db, err := r.dbc(ctx)
	if err != nil {
		return nil, err
	}
	return getProject(db, id)
}

func getProject(db *gorm.DB, id string) (*Project, error) {
	if !validID(id) {
		return nil, notFound("project", id)
	}
	var p Project
	if err := db.Where("id = ?", id).Take(&p).Error; err != nil {
		return nil, dbErr(err, "project "+id)
	}
	return &p, nil
}

// UpdateProject applies patch to a project and returns the result.
func (r *Registry) UpdateProject(ctx context.Context, id string, patch ProjectPatch) (*Project, error) {
	var v validator
	set := map[string]any{}
	if patch.Name != nil {
		set["name"] = checkName(&v, "name", *patch.Name)
	}
	if patch.ProblemClass != nil {
		checkClass(&v, *patch.ProblemClass)
		set["problem_class"] = *patch.ProblemClass
	}
	if patch.ComplexityScore != nil {
		checkComplexity(&v, *patch.ComplexityScore)
		set["complexity_score"] = *patch.ComplexityScore
	}
	if patch.TeamSize != nil {
		checkTeamSize(&v, *patch.TeamSize)
		set["team_size"] = *patch.TeamSize
	}
	if patch.Description != nil {
		set["description"] = checkText(&v, "description", *patch.Description)
	}
	if patch.Spec != nil {
		checkSpec(&v, *patch.Spec)
		b, _ := json.Marshal(*patch.Spec)
		set["spec"] = string(b)
	}
	var tags []string
	if patch.Tags != nil {
		tags = normTags(&v, "tags", *patch.Tags)
		b, _ := json.Marshal(tags)
		set["tags"] = string(b)
	}
	if patch.Status != nil {
		s := *patch.Status
		v.check(s == StatusActive || s == StatusOnHold || s == StatusCancelled, "status",
			"must be active, on_hold or cancelled (a project is completed by recording its outcome)")
		set["status"] = s
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var out *Project
	err := r.tx(ctx, func(tx *gorm.DB) error {
		p, err := getProject(tx, id)
		if err != nil {
			return err
		}
		if len(set) > 0 {
			set["updated_at"] = r.timestamp()
			if err := tx.Model(&Project{}).Where("id = ?", p.ID).Updates(set).Error; err != nil {
				return dbErr(err, "project")
			}
		}
		if patch.Tags != nil {
			if err := writeProjectTags(tx, p.ID, tags); err != nil {
				return err
			}
		}
		out, err = getProject(tx, id)
		return err
	})
	return out, err
}

// DeleteProject deletes a project with its tags, team, process metrics,
// experiments (with their runs and metrics), artifact usages and stored
// predictions, in one transaction. The usage statistics of the artifacts
// it used are recomputed.
func (r *Registry) DeleteProject(ctx context.Context, id string) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		p, err := getProject(tx, id)
		if err != nil {
			return err
		}
		var used []string
		if err := tx.Model(&ArtifactUsage{}).Where("project_id = ?", p.ID).Distinct().Order("artifact_id").Pluck("artifact_id", &used).Error; err != nil {
			return dbErr(err, "artifact usages")
		}
		// Lock the used artifacts (in id order: no deadlocks between
		// deleters) before their statistics are recomputed: a concurrent
		// RecordArtifactUsage either commits first, and the recount below
		// sees its usage, or waits for this transaction. Without the lock
		// the recount could miss it and overwrite its increment.
		if len(used) > 0 {
			var locked []string
			if err := tx.Model(&Artifact{}).Clauses(clause.Locking{Strength: "UPDATE"}).
				Where("id IN ?", used).Order("id").Pluck("id", &locked).Error; err != nil {
				return dbErr(err, "artifacts")
			}
		}
		exps := tx.Model(&Experiment{}).Select("id").Where("project_id = ?", p.ID)
		runs := tx.Model(&Run{}).Select("id").Where("experiment_id IN (?)", exps)
		series := tx.Model(&metricSeries{}).Select("id").Where("run_id IN (?)", runs)
		steps := []struct {
			model any
			where string
			arg   any
		}{
			{&metricPoint{}, "series_id IN (?)", series},
			{&metricSeries{}, "run_id IN (?)", runs},
			{&Run{}, "experiment_id IN (?)", exps},
			{&Experiment{}, "project_id = ?", p.ID},
			{&ArtifactUsage{}, "project_id = ?", p.ID},
			{&Prediction{}, "project_id = ?", p.ID},
			{&ProcessMetric{}, "project_id = ?", p.ID},
			{&TeamMember{}, "project_id = ?", p.ID},
			{&projectTag{}, "project_id = ?", p.ID},
			{&Project{}, "id = ?", p.ID},
		}
		for _, s := range steps {
			if err := tx.Where(s.where, s.arg).Delete(s.model).Error; err != nil {
				return dbErr(err, "delete project")
			}
		}
		for _, a := range used {
			if err := refreshArtifactStats(tx, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// ProjectFilter selects projects for ListProjects. Zero fields do not
// filter. Tags match projects carrying every listed tag; Q matches a
// case-insensitive substring of the name or description.
type ProjectFilter struct {
	ProblemClass ProblemClass
	Status       ProjectStatus
	Q            string
	Tags         []string
	// Limit is the page size: 0 means DefaultLimit, at most MaxLimit.
	Limit int
	// Cursor continues a previous page of the same filter.
	Cursor string
}

// ListProjects lists the tenant's projects, newest first, one page at a
// time.
func (r *Registry) ListProjects(ctx context.Context, f ProjectFilter) (Page[Project], error) {
	var v validator
	if f.ProblemClass != "" {
		checkClass(&v, f.ProblemClass)
	}
	if f.Status != "" {
		v.check(f.Status.Valid(), "status", "must be active, on_hold, completed or cancelled")
	}
	q := checkQuery(&v, f.Q)
	tags := normTags(&v, "tags", f.Tags)
	limit := pageLimit(&v, f.Limit)
	fk := filterKey("projects", string(f.ProblemClass), string(f.Status), q, joinKey(tags))
	var after string
	if len(v.errs) == 0 {
		var err error
		if after, err = decodeCursor(f.Cursor, fk); err != nil {
			return Page[Project]{}, err
		}
	}
	if err := v.err(); err != nil {
		return Page[Project]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[Project]{}, err
	}
	qb := db.Model(&Project{})
	if f.ProblemClass != "" {
		qb = qb.Where("problem_class = ?", f.ProblemClass)
	}
	if f.Status != "" {
		qb = qb.Where("status = ?", f.Status)
	}
	if q != "" {
		pat := likePattern(q)
		qb = qb.Where(`(LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\')`, pat, pat)
	}
	for _, t := range tags {
		qb = qb.Where("id IN (?)", db.Model(&projectTag{}).Select("project_id").Where("tag = ?", t))
	}
	if after != "" {
		qb = qb.Where("id < ?", after)
	}
	var items []Project
	if err := qb.Order("id DESC").Limit(limit + 1).Find(&items).Error; err != nil {
		return Page[Project]{}, dbErr(err, "list projects")
	}
	return finishPage(items, limit, func(p Project) string { return p.ID }, fk), nil
}

func joinKey(s []string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// RecordOutcome records a project's outcome, computes its success score
// with the Registry's weights and scales (see SuccessScore) and marks it
// completed. Recording again replaces the outcome and the score.
func (r *Registry) RecordOutcome(ctx context.Context, projectID string, o Outcome) (*Project, error) {
	score, err := SuccessScore(o, r.weights, r.scales)
	if err != nil {
		return nil, err
	}
	var out *Project
	err = r.tx(ctx, func(tx *gorm.DB) error {
		p, err := getProject(tx, projectID)
		if err != nil {
			return err
		}
		now := r.timestamp()
		set := map[string]any{
			"model_performance": o.ModelPerformance, "business_impact": o.BusinessImpact,
			"deployment_days": o.DeploymentDays, "compute_cost": o.ComputeCost,
			"success_score": score, "status": StatusCompleted, "completed_at": now, "updated_at": now,
		}
		if err := tx.Model(&Project{}).Where("id = ?", p.ID).Updates(set).Error; err != nil {
			return dbErr(err, "project outcome")
		}
		out, err = getProject(tx, p.ID)
		return err
	})
	return out, err
}

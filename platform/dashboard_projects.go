package platform

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
)

// projectsView is the data of the project list.
type projectsView struct {
	Items        []registry.Project
	Class        string
	Status       string
	Q            string
	Classes      []registry.ProblemClass
	Statuses     []registry.ProjectStatus
	NextCursor   string
	Filtered     bool
	NextQuery    string
	ProjectCount int
}

// allStatuses are the project statuses, for filters.
var allStatuses = []registry.ProjectStatus{registry.StatusActive, registry.StatusOnHold, registry.StatusCompleted, registry.StatusCancelled}

// pageProjects lists the tenant's projects, newest first, filtered by
// problem class and status and searched by text, a page at a time.
func (s *Server) pageProjects(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := registry.ProjectFilter{
		ProblemClass: registry.ProblemClass(q.Get("problem_class")),
		Status:       registry.ProjectStatus(q.Get("status")),
		Q:            q.Get("q"),
		Limit:        25,
		Cursor:       q.Get("cursor"),
	}
	var v validator
	v.check(f.ProblemClass == "" || f.ProblemClass.Valid(), "problem_class", "unknown problem class")
	v.check(f.Status == "" || f.Status.Valid(), "status", "unknown status")
	v.check(len(f.Q) <= registry.MaxNameLength, "q", fmt.Sprintf("at most %d characters", registry.MaxNameLength))
	v.check(len(f.Cursor) <= maxCursorLen, "cursor", "not a cursor this server issued")
	if err := v.err(); err != nil {
		return err
	}
	page, err := s.reg.reg.ListProjects(r.Context(), f)
	if err != nil {
		return err
	}
	view := projectsView{Items: page.Items, Class: string(f.ProblemClass), Status: string(f.Status), Q: f.Q,
		Classes: registry.ProblemClasses(), Statuses: allStatuses, NextCursor: page.NextCursor,
		Filtered: f.ProblemClass != "" || f.Status != "" || f.Q != ""}
	if page.NextCursor != "" {
		nq := q
		nq.Set("cursor", page.NextCursor)
		view.NextQuery = nq.Encode()
	}
	s.render(w, r, http.StatusOK, "projects", "Projects", view)
	return nil
}

// projectForm is the data of the project form: the values shown and the
// errors of the last attempt.
type projectForm struct {
	ID                string // empty for a new project
	Name              string
	ProblemClass      string
	Complexity        string
	TeamSize          string
	Description       string
	Tags              string
	Status            string
	Completed         bool
	UserStories       string
	Functional        string
	NonFunctional     string
	Classes           []registry.ProblemClass
	EditableStatuses  []registry.ProjectStatus
	Errors            map[string]string
	ErrorList         []fieldError
	HasOtherSpecParts bool
}

// newProjectForm returns the form filled from project p (nil: empty).
func newProjectForm(p *registry.Project) projectForm {
	f := projectForm{Classes: registry.ProblemClasses(), Complexity: "5", TeamSize: "3",
		EditableStatuses: []registry.ProjectStatus{registry.StatusActive, registry.StatusOnHold, registry.StatusCancelled}}
	if p == nil {
		return f
	}
	f.ID, f.Name, f.ProblemClass, f.Description = p.ID, p.Name, string(p.ProblemClass), p.Description
	f.Complexity, f.TeamSize = fmt.Sprint(p.ComplexityScore), fmt.Sprint(p.TeamSize)
	f.Status, f.Completed = string(p.Status), p.Status == registry.StatusCompleted
	for i, t := range p.Tags {
		if i > 0 {
			f.Tags += ", "
		}
		f.Tags += t
	}
	f.UserStories = joinLines(p.Spec.UserStories)
	f.Functional = joinLines(p.Spec.FunctionalRequirements)
	f.NonFunctional = joinLines(p.Spec.NonFunctionalRequirements)
	f.HasOtherSpecParts = len(p.Spec.DataModels) > 0 || len(p.Spec.APIEndpoints) > 0
	return f
}

// joinLines joins xs one per line.
func joinLines(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += "\n"
		}
		out += x
	}
	return out
}

// withErrors records err's field errors in the form (or returns err when
// it is not a validation failure).
func (f *projectForm) withErrors(err error) error {
	e := classify(err)
	if e.status != http.StatusUnprocessableEntity {
		return err
	}
	f.Errors = map[string]string{}
	for _, fe := range e.fields {
		f.Errors[fe.Field] = fe.Message
	}
	f.ErrorList = e.fields
	if len(f.ErrorList) == 0 {
		f.ErrorList = []fieldError{{Field: "(form)", Message: e.detail}}
	}
	return nil
}

// readProjectForm reads the project form's fields into the form and into
// a project input.
func readProjectForm(r *http.Request, pf *projectForm) (registry.ProjectInput, *form) {
	f := &form{r: r}
	pf.Name, pf.ProblemClass, pf.Description = f.str("name"), f.str("problem_class"), f.str("description")
	pf.Complexity, pf.TeamSize, pf.Tags, pf.Status = f.str("complexity_score"), f.str("team_size"), f.str("tags"), f.str("status")
	pf.UserStories, pf.Functional, pf.NonFunctional = f.str("user_stories"), f.str("functional_requirements"), f.str("non_functional_requirements")
	in := registry.ProjectInput{
		Name: pf.Name, ProblemClass: registry.ProblemClass(pf.ProblemClass),
		ComplexityScore: f.integer("complexity_score"), TeamSize: f.integer("team_size"),
		Description: pf.Description, Tags: f.tags("tags"),
		Spec: registry.Spec{UserStories: f.list("user_stories"), FunctionalRequirements: f.list("functional_requirements"),
			NonFunctionalRequirements: f.list("non_functional_requirements")},
	}
	return in, f
}

// pageProjectNew shows the empty project form.
func (s *Server) pageProjectNew(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "project_form", "New project", newProjectForm(nil))
	return nil
}

// pageProjectCreate creates a project (and indexes it for similarity, as
// the API does) and shows it; invalid fields show the form again.
func (s *Server) pageProjectCreate(w http.ResponseWriter, r *http.Request) error {
	pf := newProjectForm(nil)
	in, f := readProjectForm(r, &pf)
	err := f.v.err()
	var p *registry.Project
	if err == nil {
		p, err = s.learn.createProject(r.Context(), in)
	}
	if err != nil {
		if err := pf.withErrors(err); err != nil {
			return err
		}
		s.render(w, r, http.StatusUnprocessableEntity, "project_form", "New project", pf)
		return nil
	}
	redirect(w, r, "/projects/"+p.ID)
	return nil
}

// pageProjectEdit shows the form of an existing project.
func (s *Server) pageProjectEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	p, err := s.reg.reg.GetProject(r.Context(), id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "project_form", "Edit "+p.Name, newProjectForm(p))
	return nil
}

// pageProjectUpdate saves the project form. The spec's data models and
// API endpoints, which the form does not show, are kept.
func (s *Server) pageProjectUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	old, err := s.reg.reg.GetProject(r.Context(), id)
	if err != nil {
		return err
	}
	pf := newProjectForm(old)
	in, f := readProjectForm(r, &pf)
	in.Spec.DataModels, in.Spec.APIEndpoints = old.Spec.DataModels, old.Spec.APIEndpoints
	patch := registry.ProjectPatch{Name: &in.Name, ProblemClass: &in.ProblemClass, ComplexityScore: &in.ComplexityScore,
		TeamSize: &in.TeamSize, Description: &in.Description, Spec: &in.Spec, Tags: &in.Tags}
	if old.Status != registry.StatusCompleted {
		st := registry.ProjectStatus(pf.Status)
		f.v.check(slices.Contains(pf.EditableStatuses, st), "status", "must be active, on hold or cancelled")
		patch.Status = &st
	}
	if in.Tags == nil {
		in.Tags = []string{}
	}
	err = f.v.err()
	if err == nil {
		_, err = s.learn.updateProject(r.Context(), id, patch)
	}
	if err != nil {
		if err := pf.withErrors(err); err != nil {
			return err
		}
		s.render(w, r, http.StatusUnprocessableEntity, "project_form", "Edit "+old.Name, pf)
		return nil
	}
	redirect(w, r, "/projects/"+id)
	return nil
}

// projectView is the data of a project's page.
type projectView struct {
	Project       *registry.Project
	Team          []registry.TeamMember
	Process       []registry.ProcessSummary
	Predictions   []registry.PredictionComparison
	Similar       []similarity.Match
	SimilarError  string
	Experiments   []registry.Experiment
	Levels        []registry.ExperienceLevel
	HasOutcome    bool
	SpecEmpty     bool
	PredictedLast *registry.PredictionComparison
}

// pageProject shows a project with everything recorded about it. Another
// tenant's project is unknown here: 404.
func (s *Server) pageProject(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	p, err := s.reg.reg.GetProject(ctx, id)
	if err != nil {
		return err
	}
	v := projectView{Project: p, Levels: []registry.ExperienceLevel{registry.Junior, registry.Mid, registry.Senior, registry.Principal},
		SpecEmpty: p.Spec.IsZero()}
	_, v.HasOutcome = p.Outcome()
	if v.Team, err = s.reg.reg.ListTeamMembers(ctx, id); err != nil {
		return err
	}
	if v.Process, err = s.reg.reg.SummarizeProcessMetrics(ctx, id); err != nil {
		return err
	}
	preds, err := s.reg.reg.ListPredictions(ctx, id, registry.PageRequest{Limit: 100})
	if err != nil {
		return err
	}
	v.Predictions = preds.Items
	exps, err := s.reg.reg.ListExperiments(ctx, id, registry.PageRequest{Limit: 100})
	if err != nil {
		return err
	}
	v.Experiments = exps.Items
	v.Similar, err = s.learn.similarTo(ctx, id, defaultSimilarLimit)
	if err != nil {
		// The page still shows; only the similar projects are missing.
		e := classify(err)
		if e.status != http.StatusServiceUnavailable {
			return err
		}
		v.SimilarError = e.detail
	}
	s.render(w, r, http.StatusOK, "project", p.Name, v)
	return nil
}

// pageProjectOutcome records a project's outcome (it is then completed
// and scored).
func (s *Server) pageProjectOutcome(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	f := &form{r: r}
	o := registry.Outcome{ModelPerformance: f.number("model_performance"), BusinessImpact: f.number("business_impact"),
		DeploymentDays: f.number("deployment_days"), ComputeCost: f.number("compute_cost")}
	if err := f.v.err(); err != nil {
		return err
	}
	if _, err := s.reg.reg.RecordOutcome(r.Context(), id, o); err != nil {
		return err
	}
	redirect(w, r, "/projects/"+id+"#outcome")
	return nil
}

// pageTeamAdd adds a member to a project's team.
func (s *Server) pageTeamAdd(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	f := &form{r: r}
	in := registry.TeamMemberInput{Name: f.str("name"), Role: f.str("role"), ExperienceLevel: registry.ExperienceLevel(f.str("experience_level"))}
	if h := f.str("contribution_hours"); h != "" {
		in.ContributionHours = f.number("contribution_hours")
	}
	if err := f.v.err(); err != nil {
		return err
	}
	if _, err := s.reg.reg.AddTeamMember(r.Context(), id, in); err != nil {
		return err
	}
	redirect(w, r, "/projects/"+id+"#team")
	return nil
}

// pageExperimentCreate creates an experiment in a project and shows it.
func (s *Server) pageExperimentCreate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	f := &form{r: r}
	e, err := s.reg.reg.CreateExperiment(r.Context(), id, registry.ExperimentInput{Name: f.str("name"), Description: f.str("description")})
	if err != nil {
		return err
	}
	redirect(w, r, "/experiments/"+e.ID)
	return nil
}

// pageProjectPredict predicts the project's success with the active
// meta-model and stores the prediction, to be compared with the outcome.
func (s *Server) pageProjectPredict(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "project")
	if err != nil {
		return err
	}
	if _, err := s.recommendation(r.Context(), &recommendationRequest{ProjectID: id}, true); err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return err
		}
		return pageError(err)
	}
	redirect(w, r, "/projects/"+id+"#predictions")
	return nil
}

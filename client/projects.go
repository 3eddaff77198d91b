package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// The routes of projects, their outcome, team, process metrics and
// experiments.

// ProjectFilter selects the projects ListProjects returns; the zero value
// selects all. Every field set must match.
type ProjectFilter struct {
	// ProblemClass is one of "classification", "regression",
	// "forecasting", "nlp", "computer_vision", "recommendation",
	// "anomaly_detection", "other".
	ProblemClass string
	// Status is one of "active", "on_hold", "completed", "cancelled".
	Status string
	// Q is text in the name or description.
	Q string
	// Tags must all be on the project.
	Tags []string
	// PageRequest selects the page.
	PageRequest
}

// values returns f as query parameters.
func (f ProjectFilter) values() url.Values {
	q := f.PageRequest.values()
	setIf(q, "problem_class", f.ProblemClass)
	setIf(q, "status", f.Status)
	setIf(q, "q", f.Q)
	for _, t := range f.Tags {
		q.Add("tag", t)
	}
	return q
}

// setIf sets q's key to v unless v is empty.
func setIf(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

// CreateProject creates a project.
func (c *Client) CreateProject(ctx context.Context, in ProjectInput) (*Project, error) {
	return send[Project](ctx, c, http.MethodPost, "/api/v1/projects", in)
}

// ListProjects lists a page of the projects f selects.
func (c *Client) ListProjects(ctx context.Context, f ProjectFilter) (*Page[Project], error) {
	return list[Project](ctx, c, "/api/v1/projects", f.values())
}

// ListProjectsAll iterates over every project f selects, from f's cursor
// on, following the pages.
func (c *Client) ListProjectsAll(ctx context.Context, f ProjectFilter) iter.Seq2[Project, error] {
	return all(ctx, f.Cursor, func(ctx context.Context, cur string) (*Page[Project], error) {
		f.Cursor = cur
		return c.ListProjects(ctx, f)
	})
}

// GetProject returns a project.
func (c *Client) GetProject(ctx context.Context, id string) (*Project, error) {
	return get[Project](ctx, c, "/api/v1/projects/"+seg(id), nil)
}

// UpdateProject changes the fields of a project that in sets.
func (c *Client) UpdateProject(ctx context.Context, id string, in ProjectPatch) (*Project, error) {
	return send[Project](ctx, c, http.MethodPatch, "/api/v1/projects/"+seg(id), in)
}

// DeleteProject deletes a project with everything recorded under it.
func (c *Client) DeleteProject(ctx context.Context, id string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/projects/"+seg(id), nil)
}

// RecordOutcome records a project's outcome; the answer carries its
// success score.
func (c *Client) RecordOutcome(ctx context.Context, id string, in OutcomeInput) (*Project, error) {
	return send[Project](ctx, c, http.MethodPut, "/api/v1/projects/"+seg(id)+"/outcome", in)
}

// AddTeamMember adds a member to a project's team.
func (c *Client) AddTeamMember(ctx context.Context, projectID string, in TeamMemberInput) (*TeamMember, error) {
	return send[TeamMember](ctx, c, http.MethodPost, "/api/v1/projects/"+seg(projectID)+"/team", in)
}

// ListTeam lists a page of a project's team.
func (c *Client) ListTeam(ctx context.Context, projectID string, p PageRequest) (*Page[TeamMember], error) {
	return list[TeamMember](ctx, c, "/api/v1/projects/"+seg(projectID)+"/team", p.values())
}

// ListTeamAll iterates over a project's whole team.
func (c *Client) ListTeamAll(ctx context.Context, projectID string) iter.Seq2[TeamMember, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[TeamMember], error) {
		return c.ListTeam(ctx, projectID, PageRequest{Cursor: cur})
	})
}

// RemoveTeamMember removes a member from a project's team.
func (c *Client) RemoveTeamMember(ctx context.Context, projectID, memberID string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/projects/"+seg(projectID)+"/team/"+seg(memberID), nil)
}

// RecordProcessMetrics records a batch of process metrics of a project,
// all or nothing.
func (c *Client) RecordProcessMetrics(ctx context.Context, projectID string, points []ProcessMetricPoint) error {
	return exec(ctx, c, http.MethodPost, "/api/v1/projects/"+seg(projectID)+"/process-metrics", points)
}

// ListProcessMetrics lists a page of a project's process metrics, only
// those of metricType unless it is "".
func (c *Client) ListProcessMetrics(ctx context.Context, projectID, metricType string, p PageRequest) (*Page[ProcessMetric], error) {
	q := p.values()
	setIf(q, "metric_type", metricType)
	return list[ProcessMetric](ctx, c, "/api/v1/projects/"+seg(projectID)+"/process-metrics", q)
}

// ListProcessMetricsAll iterates over all of a project's process metrics
// (of metricType unless it is "").
func (c *Client) ListProcessMetricsAll(ctx context.Context, projectID, metricType string) iter.Seq2[ProcessMetric, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[ProcessMetric], error) {
		return c.ListProcessMetrics(ctx, projectID, metricType, PageRequest{Cursor: cur})
	})
}

// SummarizeProcessMetrics summarises a project's process metrics by type.
func (c *Client) SummarizeProcessMetrics(ctx context.Context, projectID string) (*ProcessSummaryReport, error) {
	return get[ProcessSummaryReport](ctx, c, "/api/v1/projects/"+seg(projectID)+"/process-metrics/summary", nil)
}

// CreateExperiment creates an experiment in a project.
func (c *Client) CreateExperiment(ctx context.Context, projectID string, in ExperimentInput) (*Experiment, error) {
	return send[Experiment](ctx, c, http.MethodPost, "/api/v1/projects/"+seg(projectID)+"/experiments", in)
}

// ExperimentListFilter selects the experiments of a project
// ListExperiments returns; the zero value selects the active ones.
type ExperimentListFilter struct {
	// Q is text in the name (case-insensitive).
	Q string
	// Lifecycle is "active" (the default), "deleted" or "all".
	Lifecycle string
	// PageRequest selects the page.
	PageRequest
}

// values returns f as query parameters.
func (f ExperimentListFilter) values() url.Values {
	q := f.PageRequest.values()
	setIf(q, "q", f.Q)
	setIf(q, "lifecycle", f.Lifecycle)
	return q
}

// ListExperiments lists a page of the project's experiments that f
// selects.
func (c *Client) ListExperiments(ctx context.Context, projectID string, f ExperimentListFilter) (*Page[Experiment], error) {
	return list[Experiment](ctx, c, "/api/v1/projects/"+seg(projectID)+"/experiments", f.values())
}

// ListExperimentsAll iterates over every experiment of the project that f
// selects, from f's cursor on, following the pages.
func (c *Client) ListExperimentsAll(ctx context.Context, projectID string, f ExperimentListFilter) iter.Seq2[Experiment, error] {
	return all(ctx, f.Cursor, func(ctx context.Context, cur string) (*Page[Experiment], error) {
		f.Cursor = cur
		return c.ListExperiments(ctx, projectID, f)
	})
}

// ExperimentFilter selects the experiments SearchExperiments returns; the
// zero value selects the tenant's active experiments.
type ExperimentFilter struct {
	// ProjectID is the project of the experiments (an unknown one is
	// ErrNotFound); "" selects every project's.
	ProjectID string
	// Q is text in the name (case-insensitive).
	Q string
	// Lifecycle is "active" (the default), "deleted" or "all".
	Lifecycle string
	// PageRequest selects the page.
	PageRequest
}

// values returns f as query parameters.
func (f ExperimentFilter) values() url.Values {
	q := ExperimentListFilter{Q: f.Q, Lifecycle: f.Lifecycle, PageRequest: f.PageRequest}.values()
	setIf(q, "project_id", f.ProjectID)
	return q
}

// SearchExperiments lists a page of the tenant's experiments that f
// selects.
func (c *Client) SearchExperiments(ctx context.Context, f ExperimentFilter) (*Page[Experiment], error) {
	return list[Experiment](ctx, c, "/api/v1/experiments", f.values())
}

// SearchExperimentsAll iterates over every experiment f selects, from f's
// cursor on, following the pages.
func (c *Client) SearchExperimentsAll(ctx context.Context, f ExperimentFilter) iter.Seq2[Experiment, error] {
	return all(ctx, f.Cursor, func(ctx context.Context, cur string) (*Page[Experiment], error) {
		f.Cursor = cur
		return c.SearchExperiments(ctx, f)
	})
}

// UpdateExperiment renames an experiment or changes its description, as
// in sets; a name another experiment of the project holds is ErrConflict.
func (c *Client) UpdateExperiment(ctx context.Context, id string, in ExperimentPatch) (*Experiment, error) {
	return send[Experiment](ctx, c, http.MethodPatch, "/api/v1/experiments/"+seg(id), in)
}

// DeleteExperiment deletes an experiment and its runs softly:
// RestoreExperiment brings them back.
func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/experiments/"+seg(id), nil)
}

// RestoreExperiment restores a deleted experiment and its runs.
func (c *Client) RestoreExperiment(ctx context.Context, id string) (*Experiment, error) {
	return send[Experiment](ctx, c, http.MethodPost, "/api/v1/experiments/"+seg(id)+"/restore", nil)
}

// GetExperiment returns an experiment.
func (c *Client) GetExperiment(ctx context.Context, id string) (*Experiment, error) {
	return get[Experiment](ctx, c, "/api/v1/experiments/"+seg(id), nil)
}

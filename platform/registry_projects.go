package platform

import (
	"fmt"
	"net/http"
	"time"

	"github.com/maestro-ml/maestro/registry"
)

// createProject handles POST /api/v1/projects. The project is recorded
// for the similarity index in the write's own transaction and indexed
// before the answer is written (see similarity.Indexer).
func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var in registry.ProjectInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.intel.createProject(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// listProjects handles GET /api/v1/projects?problem_class=&status=&q=&tag=.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := registry.ProjectFilter{
		ProblemClass: registry.ProblemClass(q.Get("problem_class")),
		Status:       registry.ProjectStatus(q.Get("status")),
		Q:            q.Get("q"),
		Tags:         q["tag"],
		Limit:        pg.Limit,
		Cursor:       pg.Cursor,
	}
	var v validator
	v.check(f.ProblemClass == "" || f.ProblemClass.Valid(), "problem_class", "unknown problem class")
	v.check(f.Status == "" || f.Status.Valid(), "status", "unknown status")
	v.check(len(f.Q) <= registry.MaxNameLength, "q", fmt.Sprintf("at most %d characters", registry.MaxNameLength))
	if err := v.err(); err != nil {
		return err
	}
	page, err := s.reg.reg.ListProjects(r.Context(), f)
	if err != nil {
		return err
	}
	writePage(w, page.Items, page.NextCursor)
	return nil
}

// getProject handles GET /api/v1/projects/{id}.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.reg.reg.GetProject(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// updateProject handles PATCH /api/v1/projects/{id} and re-indexes the
// project for similarity search.
func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var patch registry.ProjectPatch
	if err := decode(w, r, &patch); err != nil {
		return err
	}
	p, err := s.intel.updateProject(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// deleteProject handles DELETE /api/v1/projects/{id}: the project with
// everything recorded about it, and its similarity embedding.
func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.intel.deleteProject(r.Context(), id); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// outcomeRequest is the body of PUT /api/v1/projects/{id}/outcome. Every
// field is required: a missing number must not read as 0.
type outcomeRequest struct {
	ModelPerformance *float64 `json:"model_performance"`
	BusinessImpact   *float64 `json:"business_impact"`
	DeploymentDays   *float64 `json:"deployment_days"`
	ComputeCost      *float64 `json:"compute_cost"`
}

// recordOutcome handles PUT /api/v1/projects/{id}/outcome: the project is
// completed and scored.
func (s *Server) recordOutcome(w http.ResponseWriter, r *http.Request) error {
	var in outcomeRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var v validator
	v.check(in.ModelPerformance != nil, "model_performance", "required")
	v.check(in.BusinessImpact != nil, "business_impact", "required")
	v.check(in.DeploymentDays != nil, "deployment_days", "required")
	v.check(in.ComputeCost != nil, "compute_cost", "required")
	if err := v.err(); err != nil {
		return err
	}
	p, err := s.reg.reg.RecordOutcome(r.Context(), r.PathValue("id"), registry.Outcome{
		ModelPerformance: *in.ModelPerformance,
		BusinessImpact:   *in.BusinessImpact,
		DeploymentDays:   *in.DeploymentDays,
		ComputeCost:      *in.ComputeCost,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// addTeamMember handles POST /api/v1/projects/{id}/team.
func (s *Server) addTeamMember(w http.ResponseWriter, r *http.Request) error {
	var in registry.TeamMemberInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	m, err := s.reg.reg.AddTeamMember(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

// listTeam handles GET /api/v1/projects/{id}/team.
func (s *Server) listTeam(w http.ResponseWriter, r *http.Request) error {
	team, err := s.reg.reg.ListTeamMembers(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeSlicePage(w, r, team)
}

// removeTeamMember handles DELETE /api/v1/projects/{id}/team/{member_id}.
func (s *Server) removeTeamMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.RemoveTeamMember(r.Context(), r.PathValue("id"), r.PathValue("member_id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// processMetricRequest is one value of a process-metric batch. Value is
// required; Timestamp is RFC 3339 and defaults to now.
type processMetricRequest struct {
	MetricType string   `json:"metric_type"`
	Value      *float64 `json:"value"`
	Timestamp  *string  `json:"timestamp"`
}

// recordProcessMetrics handles POST /api/v1/projects/{id}/process-metrics:
// a batch of at most registry.MaxProcessMetricBatch values, stored all or
// nothing.
func (s *Server) recordProcessMetrics(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeBatch[processMetricRequest](w, r, "process metric batch", registry.MaxProcessMetricBatch)
	if err != nil {
		return err
	}
	var v validator
	batch := make([]registry.ProcessMetricInput, len(in))
	for i, m := range in {
		field := fmt.Sprintf("[%d].", i)
		v.check(m.Value != nil, field+"value", "required")
		ts, ok := parseOptionalTime(m.Timestamp)
		v.check(ok, field+"timestamp", "must be an RFC 3339 time")
		batch[i] = registry.ProcessMetricInput{MetricType: m.MetricType, Timestamp: ts}
		if m.Value != nil {
			batch[i].Value = *m.Value
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if err := s.reg.reg.RecordProcessMetrics(r.Context(), r.PathValue("id"), batch); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// listProcessMetrics handles GET /api/v1/projects/{id}/process-metrics?metric_type=.
func (s *Server) listProcessMetrics(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ms, err := s.reg.reg.ListProcessMetrics(r.Context(), r.PathValue("id"), r.URL.Query().Get("metric_type"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, ms.Items, ms.NextCursor)
	return nil
}

// summarizeProcessMetrics handles GET /api/v1/projects/{id}/process-metrics/summary.
func (s *Server) summarizeProcessMetrics(w http.ResponseWriter, r *http.Request) error {
	sum, err := s.reg.reg.SummarizeProcessMetrics(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if sum == nil {
		sum = []registry.ProcessSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"project_id": r.PathValue("id"), "metrics": sum})
	return nil
}

// parseOptionalTime parses an optional RFC 3339 time; nil is the zero time
// (the library reads it as "now").
func parseOptionalTime(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

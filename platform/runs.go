package platform

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/maestro-ml/maestro/registry"
)

// createRun handles POST /api/v1/experiments/{id}/runs.
func (s *Server) createRun(w http.ResponseWriter, r *http.Request) error {
	var in registry.RunInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	run, err := s.reg.reg.CreateRun(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, run)
	return nil
}

// lifecycleParam reads ?lifecycle= (active, deleted or all; active when
// absent).
func lifecycleParam(r *http.Request) (registry.Lifecycle, error) {
	l := registry.Lifecycle(r.URL.Query().Get("lifecycle"))
	switch l {
	case "", registry.LifecycleActive, registry.LifecycleDeleted, registry.LifecycleAll:
		return l, nil
	}
	return "", badParam("lifecycle", "must be active, deleted or all")
}

// listRuns handles GET /api/v1/experiments/{id}/runs?lifecycle=.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	l, err := lifecycleParam(r)
	if err != nil {
		return err
	}
	runs, err := s.reg.reg.ListRunsByLifecycle(r.Context(), r.PathValue("id"), l, registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, runs.Items, runs.NextCursor)
	return nil
}

// searchRuns handles POST /api/v1/experiments/{id}/runs/search: filter
// by metrics' latest values, parameters, tags, status and lifecycle,
// order by metrics or fields, paged by the body's cursor.
func (s *Server) searchRuns(w http.ResponseWriter, r *http.Request) error {
	var in registry.RunSearch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Limit == 0 {
		in.Limit = defaultPageSize
	}
	runs, err := s.reg.reg.SearchRuns(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writePage(w, runs.Items, runs.NextCursor)
	return nil
}

// getRun handles GET /api/v1/runs/{id}.
func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.reg.reg.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// updateRun handles PATCH /api/v1/runs/{id} {"name","status","ended_at",
// "params"}: a terminal status without ended_at ends the run now.
func (s *Server) updateRun(w http.ResponseWriter, r *http.Request) error {
	var in registry.RunPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	run, err := s.reg.reg.UpdateRun(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// deleteRun handles DELETE /api/v1/runs/{id}: a soft delete.
func (s *Server) deleteRun(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteRun(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// restoreRun handles POST /api/v1/runs/{id}/restore.
func (s *Server) restoreRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.reg.reg.RestoreRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// setRunTag handles PUT /api/v1/runs/{id}/tags/{key...} {"value"}; the
// key is the rest of the path, since keys may hold '/'.
func (s *Server) setRunTag(w http.ResponseWriter, r *http.Request) error {
	value, err := tagValue(w, r)
	if err != nil {
		return err
	}
	if err := s.reg.reg.SetRunTag(r.Context(), r.PathValue("id"), r.PathValue("key"), value); err != nil {
		return err
	}
	return s.getRun(w, r)
}

// deleteRunTag handles DELETE /api/v1/runs/{id}/tags/{key...}.
func (s *Server) deleteRunTag(w http.ResponseWriter, r *http.Request) error {
	if err := s.reg.reg.DeleteRunTag(r.Context(), r.PathValue("id"), r.PathValue("key")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// metricHistoryBody is the answer of a metric's history.
type metricHistoryBody struct {
	RunID  string                 `json:"run_id"`
	Key    string                 `json:"key"`
	Points []registry.MetricValue `json:"points"`
}

// metricPointRequest is one point of a metric batch. Value is required;
// Step defaults to 0 and Timestamp (RFC 3339) to the time of logging.
type metricPointRequest struct {
	Key       string   `json:"key"`
	Value     *float64 `json:"value"`
	Step      int64    `json:"step"`
	Timestamp *string  `json:"timestamp"`
}

// logMetrics handles POST /api/v1/runs/{id}/metrics: at most
// registry.MaxMetricBatch points (413 beyond), stored all or nothing.
// JSON cannot carry NaN or infinities; a number too large for a float64
// fails decoding (422), and the registry refuses any non-finite value.
func (s *Server) logMetrics(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeBatch[metricPointRequest](w, r, "metric batch", registry.MaxMetricBatch)
	if err != nil {
		return err
	}
	var v validator
	points := make([]registry.MetricPoint, len(in))
	for i, p := range in {
		field := fmt.Sprintf("[%d].", i)
		v.check(p.Value != nil, field+"value", "required")
		ts, ok := parseOptionalTime(p.Timestamp)
		v.check(ok, field+"timestamp", "must be an RFC 3339 time")
		points[i] = registry.MetricPoint{Key: p.Key, Step: p.Step, Timestamp: ts}
		if p.Value != nil {
			points[i].Value = *p.Value
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if err := s.reg.reg.LogMetrics(r.Context(), r.PathValue("id"), points); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// listMetrics handles GET /api/v1/runs/{id}/metrics: a summary of every
// metric of the run.
func (s *Server) listMetrics(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	ms, err := s.reg.reg.ListMetrics(r.Context(), r.PathValue("id"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
	if err != nil {
		return err
	}
	writePage(w, ms.Items, ms.NextCursor)
	return nil
}

// metricHistory handles GET /api/v1/runs/{id}/metrics/{key}?max_points=:
// the metric's points in step order, evenly downsampled to max_points
// (default registry.DefaultHistoryPoints) keeping the first and the last.
// The key is the rest of the path, since keys may hold '/' ("val/loss").
func (s *Server) metricHistory(w http.ResponseWriter, r *http.Request) error {
	maxPoints := 0
	if v := r.URL.Query().Get("max_points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > registry.MaxHistoryPoints {
			return badParam("max_points", fmt.Sprintf("must be an integer from 2 to %d", registry.MaxHistoryPoints))
		}
		maxPoints = n
	}
	pts, err := s.reg.reg.MetricHistory(r.Context(), r.PathValue("id"), r.PathValue("key"), maxPoints)
	if err != nil {
		return err
	}
	if pts == nil {
		pts = []registry.MetricValue{}
	}
	writeJSON(w, http.StatusOK, metricHistoryBody{RunID: r.PathValue("id"), Key: r.PathValue("key"), Points: pts})
	return nil
}

// latestMetricsRequest is the body of POST /api/v1/runs/metrics/latest.
type latestMetricsRequest struct {
	RunIDs []string `json:"run_ids"`
	Keys   []string `json:"keys"`
}

// latestMetricsBody is its answer: the runs found, in the order asked.
type latestMetricsBody struct {
	Runs []registry.RunLatestMetrics `json:"runs"`
}

// latestMetrics handles POST /api/v1/runs/metrics/latest: the latest
// point of each key for each run; unknown runs (and other tenants') are
// left out.
func (s *Server) latestMetrics(w http.ResponseWriter, r *http.Request) error {
	var in latestMetricsRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.reg.reg.LatestMetrics(r.Context(), in.RunIDs, in.Keys)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, latestMetricsBody{Runs: out})
	return nil
}

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

// listRuns handles GET /api/v1/experiments/{id}/runs.
func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	runs, err := s.reg.reg.ListRuns(r.Context(), r.PathValue("id"), registry.PageRequest{Limit: pg.Limit, Cursor: pg.Cursor})
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

// runPatch is the body of PATCH /api/v1/runs/{id}.
type runPatch struct {
	Status registry.RunStatus `json:"status"`
}

// updateRun handles PATCH /api/v1/runs/{id} {"status"}: finishing, failing
// or killing a run records its end time.
func (s *Server) updateRun(w http.ResponseWriter, r *http.Request) error {
	var in runPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if !in.Status.Valid() {
		return invalid(fieldError{Field: "status", Message: "must be running, finished, failed or killed"})
	}
	run, err := s.reg.reg.SetRunStatus(r.Context(), r.PathValue("id"), in.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
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

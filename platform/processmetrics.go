package platform

import (
	"fmt"
	"net/http"

	"github.com/maestro-ml/maestro/registry"
)

// processSummaryBody is the answer of the process-metrics summary.
type processSummaryBody struct {
	ProjectID string                    `json:"project_id"`
	Metrics   []registry.ProcessSummary `json:"metrics"`
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
	writeJSON(w, http.StatusOK, processSummaryBody{ProjectID: r.PathValue("id"), Metrics: sum})
	return nil
}

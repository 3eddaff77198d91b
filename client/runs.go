package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The routes of runs and their metrics.

// CreateRun starts a run in an experiment.
func (c *Client) CreateRun(ctx context.Context, experimentID string, in RunInput) (*Run, error) {
	return send[Run](ctx, c, http.MethodPost, "/api/v1/experiments/"+seg(experimentID)+"/runs", in)
}

// RunFilter selects the runs of an experiment ListRuns returns; the zero
// value selects the active runs.
type RunFilter struct {
	// Lifecycle is "active" (the default), "deleted" or "all".
	Lifecycle string
	// PageRequest selects the page.
	PageRequest
}

// values returns f as query parameters.
func (f RunFilter) values() url.Values {
	q := f.PageRequest.values()
	setIf(q, "lifecycle", f.Lifecycle)
	return q
}

// ListRuns lists a page of the experiment's runs that f selects.
func (c *Client) ListRuns(ctx context.Context, experimentID string, f RunFilter) (*Page[Run], error) {
	return list[Run](ctx, c, "/api/v1/experiments/"+seg(experimentID)+"/runs", f.values())
}

// ListRunsAll iterates over every run of the experiment that f selects,
// from f's cursor on, following the pages.
func (c *Client) ListRunsAll(ctx context.Context, experimentID string, f RunFilter) iter.Seq2[Run, error] {
	return all(ctx, f.Cursor, func(ctx context.Context, cur string) (*Page[Run], error) {
		f.Cursor = cur
		return c.ListRuns(ctx, experimentID, f)
	})
}

// GetRun returns a run.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	return get[Run](ctx, c, "/api/v1/runs/"+seg(id), nil)
}

// UpdateRun changes the run's name, status, end time or parameters that
// in sets, all or nothing.
func (c *Client) UpdateRun(ctx context.Context, id string, in RunPatch) (*Run, error) {
	return send[Run](ctx, c, http.MethodPatch, "/api/v1/runs/"+seg(id), in)
}

// LogMetrics logs a batch of metric points of a run, all or nothing.
func (c *Client) LogMetrics(ctx context.Context, runID string, points []MetricPoint) error {
	return exec(ctx, c, http.MethodPost, "/api/v1/runs/"+seg(runID)+"/metrics", points)
}

// ListMetrics lists a page of a run's metrics, one summary per key.
func (c *Client) ListMetrics(ctx context.Context, runID string, p PageRequest) (*Page[MetricSummary], error) {
	return list[MetricSummary](ctx, c, "/api/v1/runs/"+seg(runID)+"/metrics", p.values())
}

// ListMetricsAll iterates over the summaries of all a run's metrics.
func (c *Client) ListMetricsAll(ctx context.Context, runID string) iter.Seq2[MetricSummary, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[MetricSummary], error) {
		return c.ListMetrics(ctx, runID, PageRequest{Cursor: cur})
	})
}

// MetricHistory returns the history of a run's metric key (which may
// contain slashes), downsampled evenly to at most maxPoints points keeping
// the first and the last; maxPoints 0 leaves the server's default (1000).
func (c *Client) MetricHistory(ctx context.Context, runID, key string, maxPoints int) (*MetricHistory, error) {
	q := PageRequest{}.values()
	if maxPoints > 0 {
		q.Set("max_points", strconv.Itoa(maxPoints))
	}
	return get[MetricHistory](ctx, c, "/api/v1/runs/"+seg(runID)+"/metrics/"+keyPath(key), q)
}

// keyPath escapes a metric or tag key, which may contain slashes, as the
// rest of a path: each segment escaped, the slashes kept.
func keyPath(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = seg(p)
	}
	return strings.Join(parts, "/")
}

// SearchRuns returns a page of the experiment's runs that s selects, in
// its order.
func (c *Client) SearchRuns(ctx context.Context, experimentID string, s RunSearch) (*Page[Run], error) {
	return send[Page[Run]](ctx, c, http.MethodPost, "/api/v1/experiments/"+seg(experimentID)+"/runs/search", s)
}

// SearchRunsAll iterates over every run s selects, from s's cursor on,
// following the pages.
func (c *Client) SearchRunsAll(ctx context.Context, experimentID string, s RunSearch) iter.Seq2[Run, error] {
	return all(ctx, s.Cursor, func(ctx context.Context, cur string) (*Page[Run], error) {
		s.Cursor = cur
		return c.SearchRuns(ctx, experimentID, s)
	})
}

// MetricClause is a RunClause on the latest value of a metric.
func MetricClause(key, op string, value float64) RunClause {
	return RunClause{Metric: key, Op: op, Value: value}
}

// ParamClause is a RunClause on a parameter; op is "=" or "!=".
func ParamClause(key, op, value string) RunClause {
	return RunClause{Param: key, Op: op, Value: value}
}

// TagClause is a RunClause on a tag; op is "=" or "!=".
func TagClause(key, op, value string) RunClause {
	return RunClause{Tag: key, Op: op, Value: value}
}

// DeleteRun deletes a run softly: it leaves the lists and searches of
// active runs, and RestoreRun brings it back.
func (c *Client) DeleteRun(ctx context.Context, id string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/runs/"+seg(id), nil)
}

// RestoreRun restores a deleted run.
func (c *Client) RestoreRun(ctx context.Context, id string) (*Run, error) {
	return send[Run](ctx, c, http.MethodPost, "/api/v1/runs/"+seg(id)+"/restore", nil)
}

// SetRunTag sets a run's tag key (which may contain slashes) to value and
// returns the run.
func (c *Client) SetRunTag(ctx context.Context, runID, key, value string) (*Run, error) {
	return send[Run](ctx, c, http.MethodPut, "/api/v1/runs/"+seg(runID)+"/tags/"+keyPath(key), tagRequest{Value: value})
}

// DeleteRunTag deletes a run's tag key.
func (c *Client) DeleteRunTag(ctx context.Context, runID, key string) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/runs/"+seg(runID)+"/tags/"+keyPath(key), nil)
}

// LatestMetrics returns the latest point of each of keys for each of
// runIDs (at most 100 of each), in the order of runIDs; an unknown run,
// or another tenant's, is left out.
func (c *Client) LatestMetrics(ctx context.Context, runIDs, keys []string) ([]RunLatestMetrics, error) {
	b, err := send[latestMetricsBody](ctx, c, http.MethodPost, "/api/v1/runs/metrics/latest", latestMetricsRequest{RunIDs: runIDs, Keys: keys})
	if err != nil {
		return nil, err
	}
	return b.Runs, nil
}

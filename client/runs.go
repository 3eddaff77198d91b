package client

import (
	"context"
	"iter"
	"net/http"
	"strconv"
	"strings"
)

// The routes of runs and their metrics.

// CreateRun starts a run in an experiment.
func (c *Client) CreateRun(ctx context.Context, experimentID string, in RunInput) (*Run, error) {
	return send[Run](ctx, c, http.MethodPost, "/api/v1/experiments/"+seg(experimentID)+"/runs", in)
}

// ListRuns lists a page of an experiment's runs.
func (c *Client) ListRuns(ctx context.Context, experimentID string, p PageRequest) (*Page[Run], error) {
	return list[Run](ctx, c, "/api/v1/experiments/"+seg(experimentID)+"/runs", p.values())
}

// ListRunsAll iterates over all of an experiment's runs.
func (c *Client) ListRunsAll(ctx context.Context, experimentID string) iter.Seq2[Run, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[Run], error) {
		return c.ListRuns(ctx, experimentID, PageRequest{Cursor: cur})
	})
}

// GetRun returns a run.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	return get[Run](ctx, c, "/api/v1/runs/"+seg(id), nil)
}

// UpdateRun changes a run's status ("running", "finished", "failed",
// "killed").
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
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = seg(p)
	}
	q := PageRequest{}.values()
	if maxPoints > 0 {
		q.Set("max_points", strconv.Itoa(maxPoints))
	}
	return get[MetricHistory](ctx, c, "/api/v1/runs/"+seg(runID)+"/metrics/"+strings.Join(parts, "/"), q)
}

package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"time"
)

// The routes of meta-models, recommendations, predictions and similarity.

// Training job statuses, as TrainingJob.Status reports them.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
)

// Done reports whether the job has ended, succeeded or failed.
func (j *TrainingJob) Done() bool { return j.Status == JobSucceeded || j.Status == JobFailed }

// ErrTrainingFailed is returned by WaitTrainingJob when the job failed;
// the job it returns says why (TrainingJob.Error).
var ErrTrainingFailed = errors.New("client: training job failed")

// TrainMetaModel starts a job training the tenant's next meta-model on
// its completed projects and returns it (queued); while a job of the
// tenant is active, it returns that one. Follow it with GetTrainingJob or
// WaitTrainingJob.
func (c *Client) TrainMetaModel(ctx context.Context) (*TrainingJob, error) {
	b, err := send[jobBody](ctx, c, http.MethodPost, "/api/v1/meta-models/train", nil)
	if err != nil {
		return nil, err
	}
	return &b.Job, nil
}

// GetTrainingJob returns a training job: status, progress, model or error.
func (c *Client) GetTrainingJob(ctx context.Context, id string) (*TrainingJob, error) {
	b, err := get[jobBody](ctx, c, "/api/v1/meta-models/jobs/"+seg(id), nil)
	if err != nil {
		return nil, err
	}
	return &b.Job, nil
}

// WaitTrainingJob polls a training job every poll (at least 10ms) until
// it ends or ctx does. A succeeded job is returned with its model; a
// failed one with an error wrapping ErrTrainingFailed.
func (c *Client) WaitTrainingJob(ctx context.Context, id string, poll time.Duration) (*TrainingJob, error) {
	poll = max(poll, 10*time.Millisecond)
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		j, err := c.GetTrainingJob(ctx, id)
		if err != nil {
			return nil, err
		}
		switch j.Status {
		case JobSucceeded:
			return j, nil
		case JobFailed:
			return j, fmt.Errorf("%w: %s", ErrTrainingFailed, j.Error)
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-t.C:
		}
	}
}

// ListMetaModels lists a page of the tenant's meta-models, the active one
// marked.
func (c *Client) ListMetaModels(ctx context.Context, p PageRequest) (*Page[MetaModel], error) {
	return list[MetaModel](ctx, c, "/api/v1/meta-models", p.values())
}

// ListMetaModelsAll iterates over all the tenant's meta-models.
func (c *Client) ListMetaModelsAll(ctx context.Context) iter.Seq2[MetaModel, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[MetaModel], error) {
		return c.ListMetaModels(ctx, PageRequest{Cursor: cur})
	})
}

// GetMetaModel returns one of the tenant's meta-models by version.
func (c *Client) GetMetaModel(ctx context.Context, version int) (*MetaModel, error) {
	return get[MetaModel](ctx, c, "/api/v1/meta-models/"+strconv.Itoa(version), nil)
}

// PinMetaModel pins a meta-model version as the active one (admin).
func (c *Client) PinMetaModel(ctx context.Context, version int) (*MetaModel, error) {
	return send[MetaModel](ctx, c, http.MethodPost, "/api/v1/meta-models/"+strconv.Itoa(version)+"/pin", nil)
}

// UnpinMetaModel unpins: the newest meta-model becomes active again
// (admin).
func (c *Client) UnpinMetaModel(ctx context.Context) error {
	return exec(ctx, c, http.MethodDelete, "/api/v1/meta-models/pin", nil)
}

// RollbackMetaModel makes the version before the active one active
// (admin).
func (c *Client) RollbackMetaModel(ctx context.Context) (*MetaModel, error) {
	return send[MetaModel](ctx, c, http.MethodPost, "/api/v1/meta-models/rollback", nil)
}

// Recommend asks the active meta-model for a recommendation for a project
// described in in, or a registered one (in.ProjectID); it stores nothing.
func (c *Client) Recommend(ctx context.Context, in RecommendationRequest) (*Recommendation, error) {
	return send[Recommendation](ctx, c, http.MethodPost, "/api/v1/recommendations", in)
}

// RecommendProject recommends for a registered project and stores the
// prediction (its id is Recommendation.PredictionID), to be compared with
// the project's outcome once recorded.
func (c *Client) RecommendProject(ctx context.Context, projectID string) (*Recommendation, error) {
	return send[Recommendation](ctx, c, http.MethodPost, "/api/v1/projects/"+seg(projectID)+"/recommendations", nil)
}

// ListPredictions lists a page of the predictions stored for a project.
func (c *Client) ListPredictions(ctx context.Context, projectID string, p PageRequest) (*Page[StoredPrediction], error) {
	return list[StoredPrediction](ctx, c, "/api/v1/projects/"+seg(projectID)+"/predictions", p.values())
}

// ListPredictionsAll iterates over all the predictions stored for a
// project.
func (c *Client) ListPredictionsAll(ctx context.Context, projectID string) iter.Seq2[StoredPrediction, error] {
	return all(ctx, "", func(ctx context.Context, cur string) (*Page[StoredPrediction], error) {
		return c.ListPredictions(ctx, projectID, PageRequest{Cursor: cur})
	})
}

// SimilarProjects returns the limit past projects (0: the server's
// default, 5) most similar to a project, most similar first.
func (c *Client) SimilarProjects(ctx context.Context, projectID string, limit int) ([]SimilarProject, error) {
	p, err := list[SimilarProject](ctx, c, "/api/v1/projects/"+seg(projectID)+"/similar", PageRequest{Limit: limit}.values())
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

// SimilarSpecs returns the past projects most similar to a spec or a
// free text, most similar first.
func (c *Client) SimilarSpecs(ctx context.Context, in SimilarSpecsRequest) ([]SimilarProject, error) {
	p, err := send[Page[SimilarProject]](ctx, c, http.MethodPost, "/api/v1/specs/similar", in)
	if err != nil {
		return nil, err
	}
	return p.Items, nil
}

// SpecOverlap compares a spec with a project's, section by section.
func (c *Client) SpecOverlap(ctx context.Context, in OverlapRequest) (*OverlapReport, error) {
	return send[OverlapReport](ctx, c, http.MethodPost, "/api/v1/specs/overlap", in)
}

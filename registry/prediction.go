package registry

import (
	"context"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// Prediction is a stored forecast of a project's success score, kept so
// it can be compared with the outcome once the project completes.
type Prediction struct {
	tenancy.Model
	ID             string    `gorm:"column:id;primaryKey" json:"id"`
	ProjectID      string    `gorm:"column:project_id" json:"project_id"`
	ModelVersion   string    `gorm:"column:model_version" json:"model_version"`
	PredictedScore float64   `gorm:"column:predicted_score" json:"predicted_score"`
	IntervalLow    float64   `gorm:"column:interval_low" json:"interval_low"`
	IntervalHigh   float64   `gorm:"column:interval_high" json:"interval_high"`
	Confidence     float64   `gorm:"column:confidence" json:"confidence"`
	CreatedAt      time.Time `gorm:"column:created_at" json:"created_at"`
}

// TableName implements gorm's Tabler.
func (Prediction) TableName() string { return "predictions" }

// PredictionInput is what RecordPrediction needs. Scores are on the
// success score's 0-100 scale with IntervalLow <= PredictedScore <=
// IntervalHigh; Confidence (0-1) is the interval's nominal coverage.
type PredictionInput struct {
	ModelVersion   string  `json:"model_version"`
	PredictedScore float64 `json:"predicted_score"`
	IntervalLow    float64 `json:"interval_low"`
	IntervalHigh   float64 `json:"interval_high"`
	Confidence     float64 `json:"confidence"`
}

// RecordPrediction stores a prediction for a project.
func (r *Registry) RecordPrediction(ctx context.Context, projectID string, in PredictionInput) (*Prediction, error) {
	var v validator
	mv := checkName(&v, "model_version", in.ModelVersion)
	in01 := func(x float64) bool { return finite(x) && x >= 0 && x <= 100 }
	v.check(in01(in.PredictedScore), "predicted_score", "must be a number from 0 to 100")
	v.check(in01(in.IntervalLow) && in01(in.IntervalHigh) && in.IntervalLow <= in.PredictedScore && in.PredictedScore <= in.IntervalHigh,
		"interval", "must satisfy 0 <= interval_low <= predicted_score <= interval_high <= 100")
	v.check(finite(in.Confidence) && in.Confidence >= 0 && in.Confidence <= 1, "confidence", "must be a number from 0 to 1")
	if err := v.err(); err != nil {
		return nil, err
	}
	p := &Prediction{ID: newID(), ProjectID: projectID, ModelVersion: mv, PredictedScore: in.PredictedScore,
		IntervalLow: in.IntervalLow, IntervalHigh: in.IntervalHigh, Confidence: in.Confidence, CreatedAt: r.timestamp()}
	err := r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getProject(tx, projectID); err != nil {
			return err
		}
		return dbErr(tx.Create(p).Error, "prediction")
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PredictionComparison is a stored prediction beside the project's actual
// success score. Actual, Error (predicted minus actual) and
// WithinInterval are nil until the project has an outcome.
type PredictionComparison struct {
	Prediction
	Actual         *float64 `json:"actual_score"`
	Error          *float64 `json:"error"`
	WithinInterval *bool    `json:"within_interval"`
}

// ListPredictions returns a page of a project's stored predictions, oldest
// first, each compared with the project's success score when it has one.
func (r *Registry) ListPredictions(ctx context.Context, projectID string, page PageRequest) (Page[PredictionComparison], error) {
	fk := filterKey("predictions", projectID)
	limit, after, err := pageStart(page, fk, nil)
	if err != nil {
		return Page[PredictionComparison]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[PredictionComparison]{}, err
	}
	p, err := getProject(db, projectID)
	if err != nil {
		return Page[PredictionComparison]{}, err
	}
	ps, err := keysetPage(db.Where("project_id = ?", projectID), "id", afterArg(after), limit, fk,
		func(p Prediction) string { return p.ID }, "predictions")
	if err != nil {
		return Page[PredictionComparison]{}, err
	}
	out := Page[PredictionComparison]{Items: make([]PredictionComparison, len(ps.Items)), NextCursor: ps.NextCursor}
	for i, pr := range ps.Items {
		out.Items[i].Prediction = pr
		if p.SuccessScore != nil {
			a := *p.SuccessScore
			e := math.Round((pr.PredictedScore-a)*100) / 100
			in := pr.IntervalLow <= a && a <= pr.IntervalHigh
			out.Items[i].Actual, out.Items[i].Error, out.Items[i].WithinInterval = &a, &e, &in
		}
	}
	return out, nil
}

package registry

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// Well-known process metric types. Any other type matching
// [a-z][a-z0-9_]* (at most 64 characters) is accepted too.
const (
	MetricCommits             = "commits"               // commits in the period, a count
	MetricPipelineSuccessRate = "pipeline_success_rate" // share of green CI pipelines, 0-1
	MetricStoryPoints         = "story_points"          // story points completed in the period
	MetricCodeReviewHours     = "code_review_hours"     // hours from review request to approval
	MetricOpenDefects         = "open_defects"          // open defects at the time
	MetricDeployments         = "deployments"           // deployments in the period
)

// MaxProcessMetricBatch is the largest batch RecordProcessMetrics accepts.
const MaxProcessMetricBatch = 10000

// ProcessMetric is one typed value of a project's process at a time.
type ProcessMetric struct {
	tenancy.Model
	ID         string    `gorm:"column:id;primaryKey" json:"id"`
	ProjectID  string    `gorm:"column:project_id" json:"project_id"`
	MetricType string    `gorm:"column:metric_type" json:"metric_type"`
	Value      float64   `gorm:"column:value" json:"value"`
	RecordedAt time.Time `gorm:"column:recorded_at" json:"timestamp"`
}

// TableName implements gorm's Tabler.
func (ProcessMetric) TableName() string { return "process_metrics" }

// ProcessMetricInput is one value for RecordProcessMetrics. A zero
// Timestamp means now.
type ProcessMetricInput struct {
	MetricType string    `json:"metric_type"`
	Value      float64   `json:"value"`
	Timestamp  time.Time `json:"timestamp,omitzero"`
}

// RecordProcessMetrics stores a batch of a project's process metrics in one
// INSERT statement: all of them or, on any invalid value, none. Values must
// be finite; a batch holds 1 to MaxProcessMetricBatch values (more fail
// with ErrTooLarge).
func (r *Registry) RecordProcessMetrics(ctx context.Context, projectID string, batch []ProcessMetricInput) error {
	if len(batch) > MaxProcessMetricBatch {
		return &TooLargeError{What: "process metric batch", Limit: MaxProcessMetricBatch, Got: int64(len(batch))}
	}
	var v validator
	v.check(len(batch) > 0, "metrics", "must hold at least one value")
	now := r.timestamp()
	rows := make([]ProcessMetric, len(batch))
	for i, in := range batch {
		f := fmt.Sprintf("[%d]", i)
		v.check(len(in.MetricType) <= 64 && ident.MatchString(in.MetricType), f+".metric_type",
			"must match [a-z][a-z0-9_]* and be at most 64 characters")
		v.check(finite(in.Value), f+".value", "must be a finite number")
		v.check(in.Timestamp.IsZero() || validTime(in.Timestamp), f+".timestamp", "must be in the years 1 to 9999")
		ts := in.Timestamp.UTC().Truncate(time.Microsecond)
		if in.Timestamp.IsZero() {
			ts = now
		}
		rows[i] = ProcessMetric{ID: newID(), ProjectID: projectID, MetricType: in.MetricType, Value: in.Value, RecordedAt: ts}
	}
	if err := v.err(); err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getProject(tx, projectID); err != nil {
			return err
		}
		return dbErr(tx.Create(&rows).Error, "process metrics")
	})
}

// ListProcessMetrics returns a page of a project's process metrics of one
// type (all types when metricType is empty), oldest first: ordered by
// recorded time, then by id.
func (r *Registry) ListProcessMetrics(ctx context.Context, projectID, metricType string, page PageRequest) (Page[ProcessMetric], error) {
	fk := filterKey("process metrics", projectID, metricType)
	limit, after, err := pageStart(page, fk, func(k string) bool { _, _, ok := splitProcessKey(k); return ok })
	if err != nil {
		return Page[ProcessMetric]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[ProcessMetric]{}, err
	}
	if _, err := getProject(db, projectID); err != nil {
		return Page[ProcessMetric]{}, err
	}
	q := processMetrics(db, projectID, metricType)
	if after != "" {
		at, id, _ := splitProcessKey(after) // validated by pageStart
		q = q.Where("(recorded_at > ? OR (recorded_at = ? AND id > ?))", at, at, id)
	}
	var items []ProcessMetric
	if err := q.Order("recorded_at, id").Limit(limit + 1).Find(&items).Error; err != nil {
		return Page[ProcessMetric]{}, dbErr(err, "process metrics")
	}
	return finishPage(items, limit, func(m ProcessMetric) string {
		return m.RecordedAt.UTC().Format(time.RFC3339Nano) + " " + m.ID
	}, fk), nil
}

// processMetrics selects a project's process metrics of one type (all
// types when metricType is empty).
func processMetrics(db *gorm.DB, projectID, metricType string) *gorm.DB {
	q := db.Where("project_id = ?", projectID)
	if metricType != "" {
		q = q.Where("metric_type = ?", metricType)
	}
	return q
}

// splitProcessKey splits the sort key of a process metric, its recorded
// time (RFC 3339, UTC) and its id separated by a space.
func splitProcessKey(k string) (time.Time, string, bool) {
	ts, id, ok := strings.Cut(k, " ")
	if !ok || !validID(id) {
		return time.Time{}, "", false
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, "", false
	}
	return at.UTC(), id, true
}

// ProcessSummary summarises one metric type of a project.
//
// RatePerWeek is the metric's velocity as a throughput: the sum of its
// values divided by the weeks between the first and the last value, with
// a floor of one week (so a single value counts as that much per week).
// It suits per-period counts such as commits or story points.
//
// TrendPerWeek is the metric's velocity as a trend: the least-squares
// slope of value over time, in units per week, or 0 with fewer than two
// distinct times. It suits levels such as pipeline_success_rate or
// open_defects, where a positive trend means the value is rising.
type ProcessSummary struct {
	MetricType     string    `json:"metric_type"`
	Count          int       `json:"count"`
	Sum            float64   `json:"sum"`
	Mean           float64   `json:"mean"`
	Min            float64   `json:"min"`
	Max            float64   `json:"max"`
	LastValue      float64   `json:"last_value"`
	FirstTimestamp time.Time `json:"first_timestamp"`
	LastTimestamp  time.Time `json:"last_timestamp"`
	RatePerWeek    float64   `json:"rate_per_week"`
	TrendPerWeek   float64   `json:"trend_per_week"`
}

const week = 7 * 24 * time.Hour

// SummarizeProcessMetrics summarises a project's process metrics per type,
// ordered by type. It returns one summary per metric type rather than the
// metrics themselves, so it is not paged.
func (r *Registry) SummarizeProcessMetrics(ctx context.Context, projectID string) ([]ProcessSummary, error) {
	var all []ProcessMetric
	err := r.readTx(ctx, func(tx *gorm.DB) error {
		if _, err := getProject(tx, projectID); err != nil {
			return err
		}
		return dbErr(processMetrics(tx, projectID, "").Order("recorded_at, id").Find(&all).Error, "process metrics")
	})
	if err != nil {
		return nil, err
	}
	byType := map[string][]ProcessMetric{}
	for _, m := range all {
		byType[m.MetricType] = append(byType[m.MetricType], m)
	}
	out := make([]ProcessSummary, 0, len(byType))
	for t, ms := range byType {
		out = append(out, summarize(t, ms))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MetricType < out[j].MetricType })
	return out, nil
}

// summarize computes the summary of values ordered by time.
func summarize(t string, ms []ProcessMetric) ProcessSummary {
	s := ProcessSummary{MetricType: t, Count: len(ms), Min: math.Inf(1), Max: math.Inf(-1)}
	t0 := ms[0].RecordedAt
	var st, sv, stt, stv float64
	for _, m := range ms {
		s.Sum += m.Value
		s.Min = math.Min(s.Min, m.Value)
		s.Max = math.Max(s.Max, m.Value)
		x := float64(m.RecordedAt.Sub(t0)) / float64(week)
		st += x
		sv += m.Value
		stt += x * x
		stv += x * m.Value
	}
	n := float64(len(ms))
	last := ms[len(ms)-1]
	s.Mean = s.Sum / n
	s.LastValue = last.Value
	s.FirstTimestamp = t0.UTC()
	s.LastTimestamp = last.RecordedAt.UTC()
	weeks := math.Max(1, float64(last.RecordedAt.Sub(t0))/float64(week))
	s.RatePerWeek = s.Sum / weeks
	if den := n*stt - st*st; den > 1e-12 {
		s.TrendPerWeek = (n*stv - st*sv) / den
	}
	return s
}

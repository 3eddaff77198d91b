package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Bounds of a run search's input.
const (
	// MaxRunClauses bounds the filter clauses of one RunSearch.
	MaxRunClauses = 50
	// MaxRunOrder bounds the order_by terms of one RunSearch.
	MaxRunOrder = 5
)

// Comparison operators of a RunClause. Metrics take all six; parameters
// and tags (strings) take = and !=.
const (
	OpEqual        = "="
	OpNotEqual     = "!="
	OpLess         = "<"
	OpLessEqual    = "<="
	OpGreater      = ">"
	OpGreaterEqual = ">="
)

// The fields a RunOrder may sort by besides a metric.
const (
	OrderStartedAt = "started_at"
	OrderEndedAt   = "ended_at"
	OrderName      = "name"
)

// RunClause is one condition of a RunSearch: exactly one of Metric, Param
// or Tag names what it compares, Op how, and Value with what (a number
// for a metric, a string for a parameter or a tag). A metric compares its
// latest value: the value of the highest step, the latest timestamp
// among equal steps (the value MetricSummary.LastValue reports and
// MLflow's search compares). A run without the metric, parameter or tag
// does not match, whatever the operator.
type RunClause struct {
	Metric string `json:"metric,omitempty"`
	Param  string `json:"param,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Op     string `json:"op"`
	Value  any    `json:"value"`
}

// RunOrder is one sort key of a RunSearch: a metric's latest value
// (Metric; runs without it sort last in either direction) or a field
// (Field: started_at, ended_at or name; runs without an end sort last),
// ascending unless Direction is "desc".
type RunOrder struct {
	Metric    string `json:"metric,omitempty"`
	Field     string `json:"field,omitempty"`
	Direction string `json:"direction,omitempty"`
}

// RunSearch selects and orders the runs of an experiment for SearchRuns:
// every clause of Filter holds (at most MaxRunClauses), the status is one
// of Status (any when empty), the lifecycle stage Lifecycle selects (""
// is active; deleted; all), sorted by OrderBy (at most MaxRunOrder terms;
// ties, and no OrderBy, oldest first), one page of Limit (0 is
// DefaultLimit, at most MaxLimit) after Cursor, the NextCursor of the
// previous page of the same search.
type RunSearch struct {
	Filter    []RunClause `json:"filter,omitempty"`
	Status    []RunStatus `json:"status,omitempty"`
	Lifecycle Lifecycle   `json:"lifecycle,omitempty"`
	OrderBy   []RunOrder  `json:"order_by,omitempty"`
	Limit     int         `json:"limit,omitempty"`
	Cursor    string      `json:"cursor,omitempty"`
}

// searchRun is a run being searched, with the latest values of the
// metrics the search names.
type searchRun struct {
	run    *Run
	latest map[string]float64
}

// check validates s and returns the metric keys it names.
func (s RunSearch) check() ([]string, []Lifecycle, error) {
	var v validator
	keys := map[string]bool{}
	v.check(len(s.Filter) <= MaxRunClauses, "filter", "at most %d clauses", MaxRunClauses)
	v.check(len(s.OrderBy) <= MaxRunOrder, "order_by", "at most %d terms", MaxRunOrder)
	v.check(len(s.Status) <= 4, "status", "at most 4 statuses")
	for i, c := range s.Filter[:min(len(s.Filter), MaxRunClauses)] {
		f := fmt.Sprintf("filter[%d]", i)
		named := 0
		for _, k := range []string{c.Metric, c.Param, c.Tag} {
			if k != "" {
				named++
				v.check(len(k) <= MaxTagKeyLength && keyRE.MatchString(k), f, "key must be letters, digits, _ - . : / and spaces, at most %d characters", MaxTagKeyLength)
			}
		}
		v.check(named == 1, f, "name exactly one of metric, param or tag")
		switch {
		case c.Metric != "":
			keys[c.Metric] = true
			n, ok := c.Value.(float64)
			v.check(ok && finite(n), f+".value", "must be a number for a metric")
			v.check(slices.Contains([]string{OpEqual, OpNotEqual, OpLess, OpLessEqual, OpGreater, OpGreaterEqual}, c.Op), f+".op", "must be one of = != < <= > >= for a metric")
		case named == 1:
			sv, ok := c.Value.(string)
			v.check(ok && len(sv) <= MaxParamValueBytes, f+".value", "must be a string of at most %d bytes for a parameter or a tag", MaxParamValueBytes)
			v.check(c.Op == OpEqual || c.Op == OpNotEqual, f+".op", "must be = or != for a parameter or a tag")
		}
	}
	for i, st := range s.Status {
		v.check(st.Valid(), fmt.Sprintf("status[%d]", i), "must be running, finished, failed or killed")
	}
	for i, o := range s.OrderBy[:min(len(s.OrderBy), MaxRunOrder)] {
		f := fmt.Sprintf("order_by[%d]", i)
		switch {
		case o.Metric != "" && o.Field == "":
			v.check(len(o.Metric) <= MaxTagKeyLength && keyRE.MatchString(o.Metric), f+".metric", "must be a metric key")
			keys[o.Metric] = true
		case o.Field != "" && o.Metric == "":
			v.check(o.Field == OrderStartedAt || o.Field == OrderEndedAt || o.Field == OrderName, f+".field", "must be started_at, ended_at or name")
		default:
			v.add(f, "name exactly one of metric or field")
		}
		v.check(o.Direction == "" || o.Direction == "asc" || o.Direction == "desc", f+".direction", "must be asc or desc")
	}
	stages, err := s.Lifecycle.stages("lifecycle")
	if err != nil {
		return nil, nil, err
	}
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	return slices.Sorted(maps.Keys(keys)), stages, nil
}

// SearchRuns returns a page of an experiment's runs, with their tags,
// that match s, in its order. The search reads at most MaxTrackingScan
// runs of the experiment in the selected stages and statuses: more is
// ErrTooLarge, never a partial answer. An unknown experiment is
// ErrNotFound; a cursor of another search is ErrInvalid on "cursor".
func (r *Registry) SearchRuns(ctx context.Context, experimentID string, s RunSearch) (Page[Run], error) {
	keys, stages, err := s.check()
	if err != nil {
		return Page[Run]{}, err
	}
	var v validator
	limit := pageLimit(&v, s.Limit)
	if err := v.err(); err != nil {
		return Page[Run]{}, err
	}
	query := s
	query.Limit, query.Cursor = 0, ""
	canon, err := json.Marshal(query)
	if err != nil {
		return Page[Run]{}, fmt.Errorf("registry: run search: %w", err)
	}
	fk := filterKey("run-search", experimentID, string(canon))
	after, err := decodeCursorKey(s.Cursor, fk, func(k string) bool {
		n, err := strconv.Atoi(k)
		return err == nil && n > 0 && n <= MaxTrackingScan && strconv.Itoa(n) == k
	})
	if err != nil {
		return Page[Run]{}, err
	}
	offset := 0
	if after != "" {
		offset, _ = strconv.Atoi(after) // decodeCursorKey checked it is a canonical positive integer
	}
	var found []searchRun
	err = r.readTx(ctx, func(db *gorm.DB) error {
		if _, err := getExperiment(db, experimentID); err != nil {
			return err
		}
		found, err = scanRuns(db, experimentID, stages, s.Status, keys)
		return err
	})
	if err != nil {
		return Page[Run]{}, err
	}
	matched := found[:0]
	for _, sr := range found {
		if s.matches(sr) {
			matched = append(matched, sr)
		}
	}
	s.sort(matched)
	out := Page[Run]{Items: []Run{}}
	for i := offset; i < len(matched) && i < offset+limit; i++ {
		out.Items = append(out.Items, *matched[i].run)
	}
	if offset+limit < len(matched) {
		out.NextCursor = encodeCursor(strconv.Itoa(offset+limit), fk)
	}
	return out, nil
}

// scanRuns reads the runs of an experiment in the stages (nil: all) and
// statuses (none: all), oldest first, with their tags and the latest
// value of each of the metric keys.
func scanRuns(db *gorm.DB, experimentID string, stages []Lifecycle, statuses []RunStatus, keys []string) ([]searchRun, error) {
	q := db.Where("experiment_id = ?", experimentID)
	if stages != nil {
		q = q.Where("lifecycle_stage IN ?", stages)
	}
	if len(statuses) > 0 {
		q = q.Where("status IN ?", statuses)
	}
	var runs []Run
	if err := q.Order("id").Limit(MaxTrackingScan + 1).Find(&runs).Error; err != nil {
		return nil, dbErr(err, "runs")
	}
	if len(runs) > MaxTrackingScan {
		return nil, &TooLargeError{What: "run search", Limit: MaxTrackingScan, Got: int64(len(runs))}
	}
	out := make([]searchRun, len(runs))
	ptrs := make([]*Run, len(runs))
	byID := make(map[string]*searchRun, len(runs))
	ids := make([]string, len(runs))
	for i := range runs {
		if runs[i].Params == nil {
			runs[i].Params = map[string]string{}
		}
		out[i] = searchRun{run: &runs[i], latest: map[string]float64{}}
		ptrs[i], ids[i] = &runs[i], runs[i].ID
		byID[runs[i].ID] = &out[i]
	}
	if err := loadRunTags(db, ptrs); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return out, nil
	}
	for i := 0; i < len(ids); i += 1000 {
		series, err := latestSeries(db, ids[i:min(i+1000, len(ids))], keys)
		if err != nil {
			return nil, err
		}
		for _, s := range series {
			byID[s.RunID].latest[s.Key] = s.LastValue
		}
	}
	return out, nil
}

// latestSeries returns the series of the metric keys of the runs: their
// latest value, step and timestamp, in one query.
func latestSeries(db *gorm.DB, runIDs, keys []string) ([]metricSeries, error) {
	var series []metricSeries
	err := db.Select("run_id, metric_key, last_step, last_timestamp, last_value").
		Where("run_id IN ? AND metric_key IN ?", runIDs, keys).Find(&series).Error
	return series, dbErr(err, "metrics")
}

// matches reports whether every clause of s holds for sr.
func (s RunSearch) matches(sr searchRun) bool {
	for _, c := range s.Filter {
		var cmp int
		switch {
		case c.Metric != "":
			v, ok := sr.latest[c.Metric]
			if !ok || math.IsNaN(v) {
				return false
			}
			cmp = compareFloat(v, c.Value.(float64)) // check made it a number
		case c.Param != "":
			v, ok := sr.run.Params[c.Param]
			if !ok {
				return false
			}
			cmp = strings.Compare(v, c.Value.(string))
		default:
			v, ok := sr.run.Tags[c.Tag]
			if !ok {
				return false
			}
			cmp = strings.Compare(v, c.Value.(string))
		}
		if !holds(c.Op, cmp) {
			return false
		}
	}
	return true
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// holds reports whether op holds for a comparison's result cmp.
func holds(op string, cmp int) bool {
	switch op {
	case OpEqual:
		return cmp == 0
	case OpNotEqual:
		return cmp != 0
	case OpLess:
		return cmp < 0
	case OpLessEqual:
		return cmp <= 0
	case OpGreater:
		return cmp > 0
	}
	return cmp >= 0
}

// sort orders runs by s.OrderBy, then oldest first. A run without the
// sort key (a metric it lacks, an end it has not) sorts last in either
// direction.
func (s RunSearch) sort(runs []searchRun) {
	slices.SortStableFunc(runs, func(a, b searchRun) int {
		for _, o := range s.OrderBy {
			aok, bok, cmp := true, true, 0
			switch {
			case o.Metric != "":
				var av, bv float64
				av, aok = a.latest[o.Metric]
				bv, bok = b.latest[o.Metric]
				aok, bok = aok && !math.IsNaN(av), bok && !math.IsNaN(bv)
				cmp = compareFloat(av, bv)
			case o.Field == OrderName:
				cmp = strings.Compare(a.run.Name, b.run.Name)
			case o.Field == OrderEndedAt:
				aok, bok = a.run.EndedAt != nil, b.run.EndedAt != nil
				if aok && bok {
					cmp = a.run.EndedAt.Compare(*b.run.EndedAt)
				}
			default:
				cmp = a.run.StartedAt.Compare(b.run.StartedAt)
			}
			if aok != bok {
				if aok {
					return -1
				}
				return 1
			}
			if !aok {
				continue
			}
			if o.Direction == "desc" {
				cmp = -cmp
			}
			if cmp != 0 {
				return cmp
			}
		}
		return strings.Compare(a.run.ID, b.run.ID)
	})
}

// LatestMetric is the latest point of a metric: the value of the highest
// step, the latest timestamp among equal steps.
type LatestMetric struct {
	Value     float64   `json:"value"`
	Step      int64     `json:"step"`
	Timestamp time.Time `json:"timestamp"`
}

// RunLatestMetrics is the latest point of each asked metric a run has.
type RunLatestMetrics struct {
	RunID   string                  `json:"run_id"`
	Metrics map[string]LatestMetric `json:"metrics"`
}

// Bounds of LatestMetrics.
const (
	MaxLatestRuns = 100
	MaxLatestKeys = 100
)

// LatestMetrics returns, for each of the runs that exists (in the
// caller's tenant), the latest point of each of the keys it has, in the
// order of runIDs (duplicates once). Unknown runs, and other tenants',
// are left out, so the answer reveals nothing of them. At most
// MaxLatestRuns runs and MaxLatestKeys keys (ErrInvalid beyond); two
// queries whatever their number.
func (r *Registry) LatestMetrics(ctx context.Context, runIDs, keys []string) ([]RunLatestMetrics, error) {
	var v validator
	v.check(len(runIDs) >= 1 && len(runIDs) <= MaxLatestRuns, "run_ids", "give 1 to %d run ids", MaxLatestRuns)
	v.check(len(keys) >= 1 && len(keys) <= MaxLatestKeys, "keys", "give 1 to %d metric keys", MaxLatestKeys)
	for i, k := range keys {
		v.check(len(k) <= MaxMetricKeyLength && keyRE.MatchString(k), fmt.Sprintf("keys[%d]", i), "must be a metric key")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(runIDs))
	for _, id := range runIDs {
		if validID(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	out := []RunLatestMetrics{}
	if len(ids) == 0 {
		return out, nil
	}
	err := r.readTx(ctx, func(db *gorm.DB) error {
		var known []string
		if err := db.Model(&Run{}).Where("id IN ?", ids).Pluck("id", &known).Error; err != nil {
			return dbErr(err, "runs")
		}
		series, err := latestSeries(db, known, keys)
		if err != nil {
			return err
		}
		byRun := map[string]map[string]LatestMetric{}
		for _, id := range known {
			byRun[id] = map[string]LatestMetric{}
		}
		for _, s := range series {
			byRun[s.RunID][s.Key] = LatestMetric{Value: s.LastValue, Step: s.LastStep, Timestamp: s.LastTimestamp.UTC()}
		}
		for _, id := range ids {
			if m, ok := byRun[id]; ok {
				out = append(out, RunLatestMetrics{RunID: id, Metrics: m})
			}
		}
		return nil
	})
	return out, err
}

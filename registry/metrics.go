package registry

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/tenancy"
)

// Metric limits.
const (
	// MaxMetricBatch is the most points LogMetrics takes in one call.
	MaxMetricBatch = 10000
	// MaxMetricKeyLength bounds a metric key.
	MaxMetricKeyLength = 250
	// DefaultHistoryPoints is MetricHistory's maxPoints when 0 is given.
	DefaultHistoryPoints = 1000
	// MaxHistoryPoints is the largest maxPoints MetricHistory accepts.
	MaxHistoryPoints = 100000
)

// maxResequence is the most stored points a late batch may move (see
// reserveSeries).
const maxResequence = MaxMetricBatch

// sqliteRowsPerInsert is the most points one INSERT takes on SQLite (see
// insertPointsSQLite, 2 bound parameters a point; SQLite's limit is
// 32766). It is small because the SQLite driver binds a statement's
// parameters in time quadratic in their number (it looks each one up
// among all arguments): with 6 parameters a point, a 1,000-point batch
// took 129 ms in one INSERT and 40 ms in five of 200 rows (go test -bench
// HotPaths/log-batch ./mlflowapi, on the loaded 2-core machine of
// PERFORMANCE_RESULTS.md); with 2 a point, 200 and 500 rows an INSERT
// cost the same server CPU (9.4 ms a 1,000-point log-batch through the
// platform) and 1,000 rows more (10.3 ms).
const sqliteRowsPerInsert = 200

// MetricPoint is one value of a run's metric. A zero Timestamp means the
// time of logging.
type MetricPoint struct {
	Key       string    `json:"key"`
	Value     float64   `json:"value"`
	Step      int64     `json:"step"`
	Timestamp time.Time `json:"timestamp"`
}

// MetricValue is one point of a metric's history.
type MetricValue struct {
	Step      int64     `json:"step"`
	Timestamp time.Time `json:"timestamp"`
	Value     float64   `json:"value"`
}

// MetricSummary describes one metric of a run. Last is the point with the
// highest (step, timestamp).
type MetricSummary struct {
	Key           string    `json:"key"`
	Count         int64     `json:"count"`
	LastStep      int64     `json:"last_step"`
	LastTimestamp time.Time `json:"last_timestamp"`
	LastValue     float64   `json:"last_value"`
	Min           float64   `json:"min"`
	Max           float64   `json:"max"`
}

// metricSeries is one metric of one run. Its points are numbered by seq
// in order of arrival (sorted by step and timestamp within a batch);
// Ordered stays true while that numbering is also the (step, timestamp)
// order, which lets MetricHistory sample the history by rank through the
// primary key; otherwise it samples by step through ix_metric_points_step.
type metricSeries struct {
	tenancy.Model
	ID            string    `gorm:"column:id;primaryKey"`
	RunID         string    `gorm:"column:run_id"`
	Key           string    `gorm:"column:metric_key"`
	PointCount    int64     `gorm:"column:point_count"`
	Ordered       bool      `gorm:"column:ordered"`
	LastStep      int64     `gorm:"column:last_step"`
	LastTimestamp time.Time `gorm:"column:last_timestamp"`
	LastValue     float64   `gorm:"column:last_value"`
	MinValue      float64   `gorm:"column:min_value"`
	MaxValue      float64   `gorm:"column:max_value"`
}

func (metricSeries) TableName() string { return "metric_series" }

// metricPoint is a stored point.
type metricPoint struct {
	tenancy.Model
	SeriesID  string    `gorm:"column:series_id;primaryKey;autoIncrement:false"`
	Seq       int64     `gorm:"column:seq;primaryKey;autoIncrement:false"`
	Step      int64     `gorm:"column:step"`
	Timestamp time.Time `gorm:"column:ts"`
	Value     float64   `gorm:"column:value"`
}

func (metricPoint) TableName() string { return "metric_points" }

// before reports whether (s1, t1) sorts before (s2, t2).
func before(s1 int64, t1 time.Time, s2 int64, t2 time.Time) bool {
	return s1 < s2 || (s1 == s2 && t1.Before(t2))
}

// LogMetrics stores a batch of metric points of an active run (a deleted
// one is ErrInvalid), all or nothing: a
// batch with any invalid point (a non-finite value, a bad key) is refused
// with ValidationErrors and stores nothing; more than MaxMetricBatch
// points fail with ErrTooLarge. On PostgreSQL the points go in with one
// INSERT of their columns as arrays (see insertPointsPostgres); on SQLite
// with INSERTs of 200 points (see insertPointsSQLite) within the same
// transaction.
//
// The transaction locks the run's row (SELECT ... FOR UPDATE on
// PostgreSQL; SQLite runs one write transaction at a time), so batches of
// one run are stored one after the other and each reads the series
// summaries the one before left.
//
// A batch with points older than the metric's last point (by step, then
// timestamp) re-numbers the up to 10,000 stored points that sort after
// its first point, deleting and re-inserting them in the same
// transaction, so that MetricHistory keeps sampling the metric by rank; a
// batch reaching further back marks the metric unordered, and
// MetricHistory then samples it by step (equally fast, see there).
func (r *Registry) LogMetrics(ctx context.Context, runID string, points []MetricPoint) error {
	b, err := r.groupPoints(points)
	if err != nil {
		return err
	}
	return r.tx(ctx, func(tx *gorm.DB) error {
		run, err := getRun(tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("id", "lifecycle_stage"), runID)
		if err != nil {
			return err
		}
		if run.Lifecycle == LifecycleDeleted {
			return invalid("run_id", "the run must be active")
		}
		return r.storeMetrics(ctx, tx, runID, b)
	})
}

// pointBatch is a validated batch of points grouped by key: keys in
// sorted order, each key's points sorted by (step, timestamp).
type pointBatch struct {
	keys  []string
	byKey map[string][]MetricPoint
	n     int
}

// groupPoints validates points (see LogMetrics) and groups them by key.
func (r *Registry) groupPoints(points []MetricPoint) (pointBatch, error) {
	if len(points) > MaxMetricBatch {
		return pointBatch{}, &TooLargeError{What: "metric batch", Limit: MaxMetricBatch, Got: int64(len(points))}
	}
	var v validator
	v.check(len(points) > 0, "points", "must hold at least one point")
	now := r.timestamp()
	b := pointBatch{byKey: map[string][]MetricPoint{}, n: len(points)}
	for i, p := range points {
		if len(p.Key) > MaxMetricKeyLength || !keyRE.MatchString(p.Key) {
			v.add(fmt.Sprintf("[%d].key", i), "must be letters, digits, _ - . : / and spaces, at most %d characters", MaxMetricKeyLength)
		}
		if !finite(p.Value) {
			v.add(fmt.Sprintf("[%d].value", i), "must be a finite number")
		}
		if p.Timestamp.IsZero() {
			p.Timestamp = now
		} else if !validTime(p.Timestamp) {
			v.add(fmt.Sprintf("[%d].timestamp", i), "must be in the years 1 to 9999")
		} else {
			p.Timestamp = p.Timestamp.UTC().Truncate(time.Microsecond)
		}
		ps, ok := b.byKey[p.Key]
		if !ok {
			b.keys = append(b.keys, p.Key)
		}
		b.byKey[p.Key] = append(ps, p)
	}
	if err := v.err(); err != nil {
		return pointBatch{}, err
	}
	sort.Strings(b.keys)
	for _, ps := range b.byKey {
		sort.SliceStable(ps, func(i, j int) bool { return before(ps[i].Step, ps[i].Timestamp, ps[j].Step, ps[j].Timestamp) })
	}
	return b, nil
}

// seriesPerQuery bounds the metric keys one statement reads.
const seriesPerQuery = 500

// storeMetrics writes a validated batch to the run runID in tx, whose
// caller has locked the run and checked that it is active: it checks the
// quota, reads the batch's series in one statement, inserts the new ones
// and updates the others with one statement each, and inserts the points.
func (r *Registry) storeMetrics(ctx context.Context, tx *gorm.DB, runID string, b pointBatch) error {
	if err := r.checkQuota(ctx, tx, tenancy.ResourceMetricPoints, int64(b.n)); err != nil {
		return err
	}
	stored := make(map[string]*metricSeries, len(b.keys))
	for i := 0; i < len(b.keys); i += seriesPerQuery {
		var ss []metricSeries
		if err := tx.Where("run_id = ? AND metric_key IN ?", runID, b.keys[i:min(i+seriesPerQuery, len(b.keys))]).Find(&ss).Error; err != nil {
			return dbErr(err, "metric series")
		}
		for j := range ss {
			stored[ss[j].Key] = &ss[j]
		}
	}
	rows := make([]metricPoint, 0, b.n)
	var created []metricSeries
	for _, k := range b.keys {
		ps := b.byKey[k]
		res, set, err := reserveSeries(tx, runID, k, stored[k], ps, r.maxResequence)
		if err != nil {
			return err
		}
		if set == nil {
			created = append(created, *res.series)
		} else if err := tx.Model(&metricSeries{}).Where("id = ?", res.series.ID).Updates(set).Error; err != nil {
			return dbErr(err, "metric series")
		}
		if res.resequence {
			if ps, err = takeTail(tx, res.series.ID, res.from, ps); err != nil {
				return err
			}
		}
		for i, p := range ps {
			rows = append(rows, metricPoint{SeriesID: res.series.ID, Seq: res.from + int64(i), Step: p.Step, Timestamp: p.Timestamp, Value: p.Value})
		}
	}
	if len(created) > 0 {
		if err := tx.CreateInBatches(&created, seriesPerInsert).Error; err != nil {
			return dbErr(err, "metric series")
		}
	}
	if tx.Dialector.Name() == "sqlite" {
		return insertPointsSQLite(ctx, tx, rows, r.sqliteRows)
	}
	return insertPointsPostgres(ctx, tx, rows)
}

// insertPointsPostgres inserts rows on PostgreSQL with one statement of
// six parameters whatever their number, the columns as arrays:
//
//	INSERT INTO metric_points (tenant_id, series_id, seq, step, ts, value)
//	SELECT $1, u.s, u.q, u.st, u.t, u.v FROM unnest($2::varchar[], ...) AS u(s, q, st, t, v)
//
// Its text never changes, so the driver prepares it once a connection,
// where a multi-row INSERT of six parameters a point was a new statement
// for every batch size. It sets tenant_id itself, to the context's
// tenant; row-level security checks it too.
func insertPointsPostgres(ctx context.Context, tx *gorm.DB, rows []metricPoint) error {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return fmt.Errorf("registry: %w", tenancy.ErrNoTenant)
	}
	series := make([]string, len(rows))
	seq := make([]int64, len(rows))
	step := make([]int64, len(rows))
	ts := make([]time.Time, len(rows))
	value := make([]float64, len(rows))
	for i, p := range rows {
		series[i], seq[i], step[i], ts[i], value[i] = p.SeriesID, p.Seq, p.Step, p.Timestamp, p.Value
	}
	err := tx.WithContext(tenancy.AllowRawSQL(ctx)).Exec(`INSERT INTO metric_points (tenant_id, series_id, seq, step, ts, value)
SELECT ?, u.s, u.q, u.st, u.t, u.v FROM unnest(CAST(? AS varchar[]), CAST(? AS bigint[]), CAST(? AS bigint[]),
	CAST(? AS timestamptz[]), CAST(? AS double precision[])) AS u(s, q, st, t, v)`,
		tenant, pgArray(series), pgArray(seq), pgArray(step), pgArray(ts), pgArray(value)).Error
	return dbErr(err, "metric points")
}

// pgArray is xs as a one-dimensional PostgreSQL array parameter, which the
// pgx driver sends in binary (and GORM does not expand into a list).
func pgArray[T any](xs []T) pgtype.Array[T] {
	return pgtype.Array[T]{Elements: xs, Dims: []pgtype.ArrayDimension{{Length: int32(len(xs)), LowerBound: 1}}, Valid: true} // #nosec G115 -- at most MaxMetricBatch + maxResequence elements
}

// insertPointsSQLite inserts rows on SQLite in statements of at most
// perInsert points:
//
//	INSERT INTO metric_points (tenant_id, series_id, seq, step, ts, value)
//	SELECT ?, ?, column1, column2, column3, column4 FROM (VALUES (0, 5, ?, ?), ...)
//
// The tenant, and the series when all the statement's points are of one,
// are bound once per statement, each point's timestamp and value once per
// point; seq and step, integers this function formats, are literals (a
// statement of points of several series binds each point's series too).
// That is 2 bound parameters per point instead of 6, which matters because
// the SQLite driver binds in time quadratic in a statement's parameters
// (see sqliteRowsPerInsert). Values are bound, never written as text:
// SQLite's text-to-double conversion can miss the nearest double. The
// statement is written by hand, so it sets tenant_id itself, to the
// context's tenant.
func insertPointsSQLite(ctx context.Context, tx *gorm.DB, rows []metricPoint, perInsert int) error {
	tenant, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return fmt.Errorf("registry: %w", tenancy.ErrNoTenant)
	}
	raw := tx.WithContext(tenancy.AllowRawSQL(ctx))
	var sb strings.Builder
	args := make([]any, 0, 2+3*min(perInsert, len(rows)))
	for i := 0; i < len(rows); i += perInsert {
		chunk := rows[i:min(i+perInsert, len(rows))]
		one := chunk[0].SeriesID == chunk[len(chunk)-1].SeriesID // rows come grouped by series
		sb.Reset()
		sb.WriteString("INSERT INTO metric_points (tenant_id, series_id, seq, step, ts, value) ")
		args = append(args[:0], tenant)
		if one {
			sb.WriteString("SELECT ?, ?, column1, column2, column3, column4 FROM (VALUES ")
			args = append(args, chunk[0].SeriesID)
		} else {
			sb.WriteString("SELECT ?, column1, column2, column3, column4, column5 FROM (VALUES ")
		}
		for j, p := range chunk {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			if !one {
				sb.WriteString("?,")
				args = append(args, p.SeriesID)
			}
			sb.WriteString(strconv.FormatInt(p.Seq, 10))
			sb.WriteByte(',')
			sb.WriteString(strconv.FormatInt(p.Step, 10))
			sb.WriteString(",?,?)")
			args = append(args, p.Timestamp, p.Value)
		}
		sb.WriteByte(')')
		if err := raw.Exec(sb.String(), args...).Error; err != nil {
			return dbErr(err, "metric points")
		}
	}
	return nil
}

// seriesPerInsert is the rows of one multi-row INSERT of new series (11
// bound parameters each), kept small for the SQLite driver's binding (see
// sqliteRowsPerInsert).
const seriesPerInsert = 100

// reservation says where a batch's points go in their series.
type reservation struct {
	series *metricSeries
	// from is the seq of the batch's first point; with resequence, the
	// points from there on are re-numbered together with the batch.
	from       int64
	resequence bool
}

// reserveSeries reserves len(ps) sequence numbers in the series of (run,
// key) and computes its new summary. With s nil (the run has no such
// metric yet) it returns the new series, to be inserted, and a nil set;
// otherwise the columns of s to update. The caller holds the run's lock,
// so s is the series as stored until the transaction ends.
//
// A batch that starts before the series' last point would break the
// series' order. When at most maxTail stored points sort after the
// batch's first point, they are re-numbered together with the batch (the
// caller deletes and re-inserts them), and the series stays ordered;
// otherwise the series is marked unordered.
func reserveSeries(tx *gorm.DB, runID, key string, s *metricSeries, ps []MetricPoint, maxTail int64) (reservation, map[string]any, error) {
	n := int64(len(ps))
	first, last := ps[0], ps[len(ps)-1]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if s == nil {
		s = &metricSeries{ID: newID(), RunID: runID, Key: key, PointCount: n, Ordered: true,
			LastStep: last.Step, LastTimestamp: last.Timestamp, LastValue: last.Value, MinValue: lo, MaxValue: hi}
		return reservation{series: s}, nil, nil
	}
	old := s.PointCount
	out := reservation{series: s, from: old}
	set := map[string]any{"point_count": old + n}
	if old == 0 {
		set["ordered"] = true
		set["min_value"], set["max_value"] = lo, hi
		set["last_step"], set["last_timestamp"], set["last_value"] = last.Step, last.Timestamp, last.Value
		return out, set, nil
	}
	if s.Ordered && before(first.Step, first.Timestamp, s.LastStep, s.LastTimestamp.UTC()) {
		pos, err := insertPosition(tx, s.ID, old, first, maxTail)
		if err != nil {
			return reservation{}, nil, err
		}
		if pos >= 0 {
			out.from, out.resequence = pos, true
		} else {
			set["ordered"] = false
		}
	}
	set["min_value"], set["max_value"] = math.Min(lo, s.MinValue), math.Max(hi, s.MaxValue)
	if !before(last.Step, last.Timestamp, s.LastStep, s.LastTimestamp.UTC()) {
		set["last_step"], set["last_timestamp"], set["last_value"] = last.Step, last.Timestamp, last.Value
	}
	return out, set, nil
}

// pointKey is the (step, timestamp) of a stored point.
type pointKey struct {
	Step int64     `gorm:"column:step"`
	Ts   time.Time `gorm:"column:ts"`
}

// insertPosition returns the seq of the first of the n points of an
// ordered series that sorts after p (points equal to p stay before it), by
// binary search over primary-key lookups, or -1 when more than maxTail
// points sort after p.
func insertPosition(tx *gorm.DB, seriesID string, n int64, p MetricPoint, maxTail int64) (int64, error) {
	after := func(seq int64) (bool, error) {
		var k pointKey
		if err := tx.Model(&metricPoint{}).Select("step, ts").Where("series_id = ? AND seq = ?", seriesID, seq).Take(&k).Error; err != nil {
			return false, dbErr(err, "metric point")
		}
		return before(p.Step, p.Timestamp, k.Step, k.Ts.UTC()), nil
	}
	lo := max(0, n-maxTail)
	if lo > 0 {
		if a, err := after(lo - 1); err != nil || a {
			return -1, err
		}
	}
	hi := n - 1 // the last point sorts after p: the caller checked
	for lo < hi {
		mid := lo + (hi-lo)/2
		a, err := after(mid)
		if err != nil {
			return 0, err
		}
		if a {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// takeTail deletes the stored points of a series from seq on and returns
// them merged with the batch ps, in (step, timestamp) order, stored points
// first among equals.
func takeTail(tx *gorm.DB, seriesID string, from int64, ps []MetricPoint) ([]MetricPoint, error) {
	var tail []metricPoint
	q := tx.Where("series_id = ? AND seq >= ?", seriesID, from)
	if err := q.Order("seq").Find(&tail).Error; err != nil {
		return nil, dbErr(err, "metric points")
	}
	if err := tx.Where("series_id = ? AND seq >= ?", seriesID, from).Delete(&metricPoint{}).Error; err != nil {
		return nil, dbErr(err, "metric points")
	}
	out := make([]MetricPoint, 0, len(tail)+len(ps))
	i, j := 0, 0
	for i < len(tail) || j < len(ps) {
		if j == len(ps) || (i < len(tail) && !before(ps[j].Step, ps[j].Timestamp, tail[i].Step, tail[i].Timestamp.UTC())) {
			t := tail[i]
			out = append(out, MetricPoint{Step: t.Step, Timestamp: t.Timestamp.UTC(), Value: t.Value})
			i++
		} else {
			out = append(out, ps[j])
			j++
		}
	}
	return out, nil
}

// ListMetrics summarises a page of a run's metrics, ordered by key.
func (r *Registry) ListMetrics(ctx context.Context, runID string, page PageRequest) (Page[MetricSummary], error) {
	fk := filterKey("metrics", runID)
	limit, after, err := pageStart(page, fk, func(k string) bool { return len(k) <= MaxMetricKeyLength && keyRE.MatchString(k) })
	if err != nil {
		return Page[MetricSummary]{}, err
	}
	db, err := r.dbc(ctx)
	if err != nil {
		return Page[MetricSummary]{}, err
	}
	if _, err := getRun(db, runID); err != nil {
		return Page[MetricSummary]{}, err
	}
	ss, err := keysetPage(db.Where("run_id = ?", runID), "metric_key", afterArg(after), limit, fk,
		func(s metricSeries) string { return s.Key }, "metrics")
	if err != nil {
		return Page[MetricSummary]{}, err
	}
	out := Page[MetricSummary]{Items: make([]MetricSummary, len(ss.Items)), NextCursor: ss.NextCursor}
	for i, s := range ss.Items {
		out.Items[i] = MetricSummary{Key: s.Key, Count: s.PointCount, LastStep: s.LastStep,
			LastTimestamp: s.LastTimestamp.UTC(), LastValue: s.LastValue, Min: s.MinValue, Max: s.MaxValue}
	}
	return out, nil
}

// sampleIndexes returns m indexes spread evenly over 0..n-1 (n > m >= 2):
// floor(k*(n-1)/(m-1)) for k = 0..m-1. They are distinct, increasing, and
// include 0 and n-1.
func sampleIndexes(n, m int64) []int64 {
	out := make([]int64, m)
	for k := int64(0); k < m; k++ {
		out[k] = k * (n - 1) / (m - 1)
	}
	return out
}

// MetricHistory returns a metric's points ordered by step and timestamp
// (then by arrival). maxPoints 0 means DefaultHistoryPoints; otherwise it
// must be 2 to MaxHistoryPoints. A metric with at most maxPoints points is
// returned whole. A longer one is downsampled evenly, always keeping its
// first and its last point:
//
//   - While the metric has been logged in (step, timestamp) order, which is
//     the usual case (a late batch close to the end is re-numbered and
//     keeps it so, see LogMetrics), it is sampled by rank: exactly
//     maxPoints points, those at ranks floor(k*(n-1)/(m-1)) for
//     k = 0..m-1, fetched by their index with primary-key lookups.
//   - After a batch that reached further back, it is sampled by step: the
//     step range [first, last] is cut into m-1 equal buckets at
//     first + floor(k*(last-first)/(m-1)), and for each bucket start the
//     first point at or after it is returned (one probe of the index on
//     (series, step, timestamp) per bucket). Buckets that hold no point
//     share a point with their neighbours, so the result can have fewer
//     than maxPoints points. For steps without gaps or repeats, such as
//     0..n-1, both ways pick the same points.
//
// Either way the cost grows with maxPoints, not with the metric's size,
// and only the sampled points leave the database.
func (r *Registry) MetricHistory(ctx context.Context, runID, key string, maxPoints int) ([]MetricValue, error) {
	if maxPoints == 0 {
		maxPoints = DefaultHistoryPoints
	}
	if maxPoints < 2 || maxPoints > MaxHistoryPoints {
		return nil, invalid("max_points", "must be between 2 and %d", MaxHistoryPoints)
	}
	var out []MetricValue
	err := r.readTx(ctx, func(db *gorm.DB) error {
		if _, err := getRun(db, runID); err != nil {
			return err
		}
		var s metricSeries
		if err := db.Where("run_id = ? AND metric_key = ?", runID, key).Take(&s).Error; err != nil {
			return dbErr(err, fmt.Sprintf("metric %q", key))
		}
		var err error
		out, err = history(db, &s, int64(maxPoints))
		return err
	})
	return out, err
}

// history reads the (downsampled) points of a series.
func history(db *gorm.DB, s *metricSeries, m int64) ([]MetricValue, error) {
	n := s.PointCount
	pts := db.Model(&metricPoint{}).Select("step, ts, value").Where("series_id = ?", s.ID)
	switch {
	case n <= m:
		order := "step, ts, seq"
		if s.Ordered {
			order = "seq"
		}
		return scanValues(pts.Order(order), int(n))
	case s.Ordered:
		idx := sampleIndexes(n, m)
		out := make([]MetricValue, 0, m)
		const chunk = 1000
		for i := 0; i < len(idx); i += chunk {
			part := idx[i:min(i+chunk, len(idx))]
			vals, err := scanValues(db.Model(&metricPoint{}).Select("step, ts, value").
				Where("series_id = ? AND seq IN ?", s.ID, part).Order("seq"), len(part))
			if err != nil {
				return nil, err
			}
			out = append(out, vals...)
		}
		return out, nil
	default:
		return historyBySteps(db, s, m)
	}
}

// seqRow is a stored point with its sequence number.
type seqRow struct {
	Seq   int64     `gorm:"column:seq"`
	Step  int64     `gorm:"column:step"`
	Ts    time.Time `gorm:"column:ts"`
	Value float64   `gorm:"column:value"`
}

// stepBuckets returns the inner bucket starts lo + floor(k*(hi-lo)/(m-1))
// for k = 1..m-2 (hi >= lo, m >= 2), computed in 128 bits so that no step
// range overflows.
func stepBuckets(lo, hi, m int64) []int64 {
	d := uint64(hi - lo) // #nosec G115 -- hi >= lo, and the difference of two int64 fits in uint64; the true difference, which fits in 64 bits unsigned
	out := make([]int64, 0, max(m-2, 0))
	for k := int64(1); k < m-1; k++ {
		h, l := bits.Mul64(uint64(k), d)
		q, _ := bits.Div64(h, l, uint64(m-1)) // #nosec G115 -- m >= 2 here (a bucket count), so m-1 is positive; h < m-1 since k < m-1
		out = append(out, lo+int64(q))        // #nosec G115 -- q < hi-lo, so lo+q stays within [lo, hi]
	}
	return out
}

// bucketsPerStatement bounds the bucket starts bound in one statement,
// well under SQLite's and PostgreSQL's parameter limits.
const bucketsPerStatement = 1000

// historyBySteps samples a series that is not ordered by seq: its first
// and last point by (step, ts, seq), and for each inner bucket start the
// first point at or after it, found by one probe of ix_metric_points_step
// per bucket. Repeated points are dropped.
func historyBySteps(db *gorm.DB, s *metricSeries, m int64) ([]MetricValue, error) {
	end := func(order string) (seqRow, error) {
		var row seqRow
		err := db.Model(&metricPoint{}).Select("seq, step, ts, value").Where("series_id = ?", s.ID).
			Order(order).Limit(1).Take(&row).Error
		return row, dbErr(err, "metric history")
	}
	first, err := end("step, ts, seq")
	if err != nil {
		return nil, err
	}
	last, err := end("step DESC, ts DESC, seq DESC")
	if err != nil {
		return nil, err
	}
	tenant, _ := tenancy.TenantFrom(db.Statement.Context)
	// The probes are written by hand (a VALUES list with a correlated
	// LIMIT 1 subquery per row, which GORM cannot build), so the statement
	// filters by tenant itself; under row-level security PostgreSQL
	// enforces the tenant too. It returns only sequence numbers; the
	// points are then read through the plugin like every other query.
	raw := db.WithContext(tenancy.AllowRawSQL(db.Statement.Context))
	out := make([]MetricValue, 0, m)
	out = append(out, MetricValue{Step: first.Step, Timestamp: first.Ts.UTC(), Value: first.Value})
	prev := first.Seq
	starts := stepBuckets(first.Step, last.Step, m)
	for i := 0; i < len(starts); i += bucketsPerStatement {
		part := starts[i:min(i+bucketsPerStatement, len(starts))]
		var sb strings.Builder
		args := make([]any, 0, len(part)+2)
		sb.WriteString("WITH b(x) AS (VALUES ")
		for j, x := range part {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString("(CAST(? AS bigint))")
			args = append(args, x)
		}
		sb.WriteString(`) SELECT (SELECT q.seq FROM metric_points q WHERE q.tenant_id = ? AND q.series_id = ?
AND q.step >= b.x ORDER BY q.step, q.ts, q.seq LIMIT 1) AS seq FROM b`)
		args = append(args, tenant, s.ID)
		var seqs []*int64
		if err := raw.Raw(sb.String(), args...).Scan(&seqs).Error; err != nil {
			return nil, dbErr(err, "metric history")
		}
		want := make([]int64, 0, len(seqs))
		for _, q := range seqs {
			if q != nil && *q != prev && *q != last.Seq && (len(want) == 0 || want[len(want)-1] != *q) {
				want = append(want, *q)
			}
		}
		if len(want) == 0 {
			continue
		}
		var rows []seqRow
		if err := db.Model(&metricPoint{}).Select("seq, step, ts, value").
			Where("series_id = ? AND seq IN ?", s.ID, want).Order("step, ts, seq").Find(&rows).Error; err != nil {
			return nil, dbErr(err, "metric history")
		}
		for _, r := range rows {
			if r.Seq == prev {
				continue
			}
			prev = r.Seq
			out = append(out, MetricValue{Step: r.Step, Timestamp: r.Ts.UTC(), Value: r.Value})
		}
	}
	if last.Seq != first.Seq {
		out = append(out, MetricValue{Step: last.Step, Timestamp: last.Ts.UTC(), Value: last.Value})
	}
	return out, nil
}

type valueRow struct {
	Step  int64     `gorm:"column:step"`
	Ts    time.Time `gorm:"column:ts"`
	Value float64   `gorm:"column:value"`
}

func scanValues(q *gorm.DB, capacity int) ([]MetricValue, error) {
	var rows []valueRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, dbErr(err, "metric history")
	}
	out := make([]MetricValue, 0, max(capacity, len(rows)))
	for _, r := range rows {
		out = append(out, MetricValue{Step: r.Step, Timestamp: r.Ts.UTC(), Value: r.Value})
	}
	return out, nil
}

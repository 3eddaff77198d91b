package registry

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// The benchmarks below need PostgreSQL (MAESTRO_TEST_POSTGRES_URL) and are
// skipped without it. They run only with -bench; see docs/registry.md for
// the commands and the numbers.

// pgEnv is a migrated PostgreSQL database with the plugin, and its URL.
func pgEnv(b *testing.B) (*env, string) {
	b.Helper()
	url := testenv.PostgresURL(b)
	e := newEnv(b, func(tb testing.TB) *gorm.DB { return testenv.OpenPostgres(tb, url) })
	return e, url
}

func metricBatch(key string, from, n int) []MetricPoint {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pts := make([]MetricPoint, n)
	for i := range pts {
		s := from + i
		pts[i] = MetricPoint{Key: key, Value: float64(s) * 0.001, Step: int64(s), Timestamp: t0.Add(time.Duration(s) * time.Millisecond)}
	}
	return pts
}

// BenchmarkLogMetrics measures batch ingestion through LogMetrics: 10,000
// points per call, one INSERT per batch.
func BenchmarkLogMetrics(b *testing.B) {
	e, _ := pgEnv(b)
	run := newRun(b, e)
	const n = MaxMetricBatch
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := e.reg.LogMetrics(e.a, run.ID, metricBatch("loss", i*n, n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCopyFromBaseline writes the same rows into the same table with a
// raw pgx CopyFrom: the physical limit LogMetrics is compared with.
func BenchmarkCopyFromBaseline(b *testing.B) {
	e, url := pgEnv(b)
	run := newRun(b, e)
	if err := e.reg.LogMetrics(e.a, run.ID, metricBatch("loss", 0, 1)); err != nil {
		b.Fatal(err)
	}
	var s metricSeries
	if err := e.db.WithContext(e.a).Where("run_id = ?", run.ID).Take(&s).Error; err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	const n = MaxMetricBatch
	cols := []string{"tenant_id", "series_id", "seq", "step", "ts", "value"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pts := metricBatch("loss", 1+i*n, n)
		rows := make([][]any, n)
		for j, p := range pts {
			rows[j] = []any{tenantA, s.ID, p.Step, p.Step, p.Timestamp, p.Value}
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"metric_points"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkListProjects lists with filters over 100,000 projects of one
// tenant (and 20,000 of another) and reports the 95th percentile latency.
func BenchmarkListProjects(b *testing.B) {
	e, _ := pgEnv(b)
	seed := func(ctx context.Context, n int) {
		classes := ProblemClasses()
		statuses := []ProjectStatus{StatusActive, StatusCompleted, StatusOnHold, StatusCancelled}
		const chunk = 2000
		for start := 0; start < n; start += chunk {
			rows := make([]Project, 0, chunk)
			for i := start; i < min(start+chunk, n); i++ {
				now := time.Now().UTC()
				rows = append(rows, Project{ID: newID(), Name: fmt.Sprintf("project %d", i), ProblemClass: classes[i%len(classes)],
					ComplexityScore: 1 + i%10, TeamSize: 1 + i%12, Status: statuses[(i/len(classes))%len(statuses)], Tags: []string{},
					StartedAt: now, CreatedAt: now, UpdatedAt: now})
			}
			if err := e.db.WithContext(ctx).Create(&rows).Error; err != nil {
				b.Fatal(err)
			}
		}
	}
	seed(e.a, 100000)
	seed(e.b, 20000)
	if err := e.db.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
	filters := []ProjectFilter{
		{ProblemClass: NLP},
		{Status: StatusCompleted},
		{ProblemClass: Forecasting, Status: StatusActive},
		{},
	}
	// Second pages too: follow one cursor per filter.
	for i := range filters[:2] {
		p, err := e.reg.ListProjects(e.a, filters[i])
		if err != nil {
			b.Fatal(err)
		}
		f := filters[i]
		f.Cursor = p.NextCursor
		filters = append(filters, f)
	}
	run := func(b *testing.B, filters []ProjectFilter) {
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			t0 := time.Now()
			page, err := e.reg.ListProjects(e.a, filters[i%len(filters)])
			lat = append(lat, time.Since(t0))
			if err != nil || len(page.Items) != DefaultLimit {
				b.Fatalf("filter %+v: page of %d, %v", filters[i%len(filters)], len(page.Items), err)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	}
	b.Run("filters", func(b *testing.B) { run(b, filters) })
	// Free-text search scans the tenant's rows (no text index).
	b.Run("q", func(b *testing.B) { run(b, []ProjectFilter{{Q: "project 1"}, {Q: "PROJECT 9", ProblemClass: NLP}}) })
}

// BenchmarkMetricHistory downsamples a 1,000,000-point metric to 1,000
// points: "ordered" is the usual case (logged in step order),
// "late-near-end" the same after a late point that re-numbered the tail,
// "unordered" the fallback after a late point too far back to re-number.
func BenchmarkMetricHistory(b *testing.B) {
	e, _ := pgEnv(b)
	run := newRun(b, e)
	const total = 1000000
	for _, key := range []string{"ordered", "unordered"} {
		for from := 0; from < total; from += MaxMetricBatch {
			if err := e.reg.LogMetrics(e.a, run.ID, metricBatch(key, from, MaxMetricBatch)); err != nil {
				b.Fatal(err)
			}
		}
	}
	// One late point turns "unordered" into the fallback path.
	if err := e.reg.LogMetrics(e.a, run.ID, metricBatch("unordered", 5, 1)); err != nil {
		b.Fatal(err)
	}
	if err := e.db.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
	hist := func(b *testing.B, key string) {
		for b.Loop() {
			h, err := e.reg.MetricHistory(e.a, run.ID, key, 1000)
			if err != nil || len(h) != 1000 || h[0].Step != 0 || h[999].Step != total-1 {
				b.Fatalf("%d points, %v", len(h), err)
			}
		}
	}
	b.Run("ordered", func(b *testing.B) { hist(b, "ordered") })
	b.Run("unordered", func(b *testing.B) { hist(b, "unordered") })
	// A late point near the end re-numbers the points after it and keeps
	// the series on the fast path.
	late := metricBatch("ordered", total-100, 1)
	late[0].Timestamp = late[0].Timestamp.Add(time.Microsecond)
	t0 := time.Now()
	if err := e.reg.LogMetrics(e.a, run.ID, late); err != nil {
		b.Fatal(err)
	}
	b.Logf("late point re-numbering 99 stored points: %v", time.Since(t0))
	b.Run("late-near-end", func(b *testing.B) { hist(b, "ordered") })
}

// BenchmarkRawInsertBaseline writes the same rows with one hand-written
// multi-row INSERT through pgx, without GORM or the tenancy plugin: the
// floor of the statement LogMetrics sends.
func BenchmarkRawInsertBaseline(b *testing.B) {
	e, url := pgEnv(b)
	run := newRun(b, e)
	if err := e.reg.LogMetrics(e.a, run.ID, metricBatch("loss", 0, 1)); err != nil {
		b.Fatal(err)
	}
	var s metricSeries
	if err := e.db.WithContext(e.a).Where("run_id = ?", run.ID).Take(&s).Error; err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	const n = MaxMetricBatch
	var sb strings.Builder
	sb.WriteString("INSERT INTO metric_points (tenant_id, series_id, seq, step, ts, value) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "($%d,$%d,$%d,$%d,$%d,$%d)", i*6+1, i*6+2, i*6+3, i*6+4, i*6+5, i*6+6)
	}
	sql := sb.String()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pts := metricBatch("loss", 1+i*n, n)
		args := make([]any, 0, n*6)
		for _, p := range pts {
			args = append(args, tenantA, s.ID, p.Step, p.Step, p.Timestamp, p.Value)
		}
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"gorm.io/gorm"
)

func newRun(t testing.TB, e *env) *Run {
	t.Helper()
	p := newProject(t, e, e.a, "p")
	x := must[*Experiment](t)(e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{Name: "baseline"}))
	return must[*Run](t)(e.reg.CreateRun(e.a, x.ID, RunInput{Params: map[string]string{"lr": "0.01"}}))
}

func TestSampleIndexes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ n, m int64 }{{3, 2}, {10, 3}, {1000, 999}, {1000000, 1000}, {7, 6}} {
		idx := sampleIndexes(c.n, c.m)
		if int64(len(idx)) != c.m || idx[0] != 0 || idx[c.m-1] != c.n-1 {
			t.Fatalf("n=%d m=%d: %d indexes from %d to %d", c.n, c.m, len(idx), idx[0], idx[len(idx)-1])
		}
		for i := 1; i < len(idx); i++ {
			gap := float64(idx[i] - idx[i-1])
			ideal := float64(c.n-1) / float64(c.m-1)
			if idx[i] <= idx[i-1] || math.Abs(gap-ideal) >= 1 {
				t.Fatalf("n=%d m=%d: uneven gap %v at %d (ideal %v)", c.n, c.m, gap, i, ideal)
			}
		}
	}
}

func TestLogMetricsAndHistory(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		run := newRun(t, e)
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var batch []MetricPoint
		for i := range 100 {
			batch = append(batch, MetricPoint{Key: "loss", Value: 1 / float64(i+1), Step: int64(i), Timestamp: t0.Add(time.Duration(i) * time.Second)})
		}
		batch = append(batch, MetricPoint{Key: "acc", Value: 0.5, Step: 0})
		if err := e.reg.LogMetrics(e.a, run.ID, batch); err != nil {
			t.Fatal(err)
		}
		// A second, later batch keeps the series ordered.
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "loss", Value: 0.001, Step: 100, Timestamp: t0.Add(100 * time.Second)}}); err != nil {
			t.Fatal(err)
		}
		all := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "loss", 1000))
		if len(all) != 101 || all[0].Value != 1 || all[100].Step != 100 || !all[3].Timestamp.Equal(t0.Add(3*time.Second)) {
			t.Fatalf("full history: %d points, first %+v", len(all), all[0])
		}
		ds := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "loss", 11))
		if len(ds) != 11 || ds[0].Step != 0 || ds[10].Step != 100 || ds[5].Step != 50 {
			t.Fatalf("downsampled: %+v", ds)
		}
		sums := must[[]MetricSummary](t)(items(e.reg.ListMetrics(e.a, run.ID, PageRequest{})))
		if len(sums) != 2 || sums[0].Key != "acc" || sums[1].Count != 101 || sums[1].LastStep != 100 || sums[1].LastValue != 0.001 ||
			sums[1].Max != 1 || sums[1].Min != 0.001 {
			t.Fatalf("summaries: %+v", sums)
		}
		// An out-of-order batch: history is still ordered by step.
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "loss", Value: 7, Step: 50, Timestamp: t0.Add(50*time.Second + time.Millisecond)}}); err != nil {
			t.Fatal(err)
		}
		all = must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "loss", 1000))
		if len(all) != 102 || all[51].Value != 7 || all[101].Step != 100 {
			t.Fatalf("after out-of-order: %d points, [51]=%+v", len(all), all[51])
		}
		ds = must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "loss", 4))
		if len(ds) != 4 || ds[0].Step != 0 || ds[3].Step != 100 || ds[1].Step != 33 || ds[2].Step != 66 {
			t.Fatalf("streamed downsample: %+v", ds)
		}
		if s := must[[]MetricSummary](t)(items(e.reg.ListMetrics(e.a, run.ID, PageRequest{}))); s[1].LastStep != 100 || s[1].Max != 7 {
			t.Fatalf("summary after out-of-order: %+v", s[1])
		}
		// Tenant isolation.
		if err := e.reg.LogMetrics(e.b, run.ID, []MetricPoint{{Key: "loss", Value: 1}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("log into another tenant's run = %v", err)
		}
		if _, err := e.reg.MetricHistory(e.b, run.ID, "loss", 10); !errors.Is(err, ErrNotFound) {
			t.Fatalf("read another tenant's metric = %v", err)
		}
		if _, err := e.reg.ListMetrics(e.b, run.ID, PageRequest{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("list another tenant's metrics = %v", err)
		}
		if _, err := e.reg.MetricHistory(e.a, run.ID, "missing", 10); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing key = %v", err)
		}
		for _, m := range []int{1, -1, MaxHistoryPoints + 1} {
			if _, err := e.reg.MetricHistory(e.a, run.ID, "loss", m); !errors.Is(err, ErrInvalid) {
				t.Errorf("max_points %d = %v", m, err)
			}
		}
		if n := len(must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "loss", 0))); n != 102 {
			t.Fatalf("default max points returned %d", n)
		}
	})
}

func TestLogMetricsAllOrNothing(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		run := newRun(t, e)
		bad := [][]MetricPoint{
			nil,
			{{Key: "a", Value: 1}, {Key: "a", Value: math.NaN()}},
			{{Key: "a", Value: 1}, {Key: "a", Value: math.Inf(-1)}},
			{{Key: "", Value: 1}},
			{{Key: "a\x00", Value: 1}},
			// SQLite orders timestamps as text: years beyond 9999 would
			// sort before 2026.
			{{Key: "a", Value: 1, Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
			{{Key: "a", Value: 1, Timestamp: time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)}},
		}
		for _, b := range bad {
			if err := e.reg.LogMetrics(e.a, run.ID, b); !errors.Is(err, ErrInvalid) {
				t.Errorf("%v = %v, want ErrInvalid", b, err)
			}
		}
		err := e.reg.LogMetrics(e.a, run.ID, make([]MetricPoint, MaxMetricBatch+1))
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Limit != MaxMetricBatch || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("oversized batch = %v", err)
		}
		if n := countRows(t, e, e.a, &metricPoint{}); n != 0 {
			t.Fatalf("rejected batches stored %d points", n)
		}
		// The largest batch goes in whole, across keys. (On SQLite, whose
		// pure-Go driver is very slow under the race detector, a smaller
		// batch split into many INSERTs exercises the same path.)
		size := MaxMetricBatch
		if e.db.Dialector.Name() == "sqlite" {
			size = 100
			e.reg.sqliteRows = 7
		}
		full := make([]MetricPoint, size)
		for i := range full {
			full[i] = MetricPoint{Key: []string{"a", "b"}[i%2], Value: float64(i), Step: int64(i / 2)}
		}
		if err := e.reg.LogMetrics(e.a, run.ID, full); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, e, e.a, &metricPoint{}); n != int64(size) {
			t.Fatalf("stored %d points, want %d", n, size)
		}
		if h := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "b", MaxHistoryPoints)); len(h) != size/2 || h[size/2-1].Value != float64(size-1) {
			t.Fatalf("history of b: %d points", len(h))
		}
		if _, err := e.reg.MetricHistory(e.a, "00000000-0000-0000-0000-000000000000", "a", 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown run = %v", err)
		}
	})
}

func TestLogMetricsConcurrent(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		run := newRun(t, e)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pts := make([]MetricPoint, 50)
				for i := range pts {
					pts[i] = MetricPoint{Key: "loss", Value: float64(w), Step: int64(w*50 + i)}
				}
				errs <- e.reg.LogMetrics(e.a, run.ID, pts)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		h := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "loss", MaxHistoryPoints))
		if len(h) != 400 {
			t.Fatalf("%d points after concurrent batches, want 400", len(h))
		}
		for i, v := range h {
			if v.Step != int64(i) {
				t.Fatalf("history[%d].Step = %d", i, v.Step)
			}
		}
	})
}

func TestExperimentsAndRuns(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		p := newProject(t, e, e.a, "p")
		x := must[*Experiment](t)(e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{Name: "lr sweep"}))
		if _, err := e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{Name: "lr sweep"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate experiment = %v", err)
		}
		if _, err := e.reg.CreateExperiment(e.b, p.ID, ExperimentInput{Name: "other"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("experiment in another tenant's project = %v", err)
		}
		if _, err := e.reg.CreateExperiment(e.a, p.ID, ExperimentInput{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("nameless experiment = %v", err)
		}
		if xs := must[[]Experiment](t)(items(e.reg.ListExperiments(e.a, p.ID, PageRequest{}))); len(xs) != 1 || xs[0].ID != x.ID {
			t.Fatalf("experiments = %+v", xs)
		}
		if _, err := e.reg.GetExperiment(e.b, x.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant GetExperiment = %v", err)
		}
		run := must[*Run](t)(e.reg.CreateRun(e.a, x.ID, RunInput{Name: "r1", Params: map[string]string{"lr": "0.1", "model type": "gbm"}}))
		got := must[*Run](t)(e.reg.GetRun(e.a, run.ID))
		if got.Params["model type"] != "gbm" || got.Status != RunRunning || got.Name != "r1" {
			t.Fatalf("run = %+v", got)
		}
		unnamed := must[*Run](t)(e.reg.CreateRun(e.a, x.ID, RunInput{}))
		if unnamed.Name != unnamed.ID || len(must[*Run](t)(e.reg.GetRun(e.a, unnamed.ID)).Params) != 0 {
			t.Fatalf("unnamed run = %+v", unnamed)
		}
		for _, bad := range []RunInput{{Params: map[string]string{"": "x"}}, {Params: map[string]string{"k": "\xff"}}, {Name: "\x01"}} {
			if _, err := e.reg.CreateRun(e.a, x.ID, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("run %+v = %v", bad, err)
			}
		}
		if _, err := e.reg.CreateRun(e.b, x.ID, RunInput{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("run in another tenant's experiment = %v", err)
		}
		if runs := must[[]Run](t)(items(e.reg.ListRuns(e.a, x.ID, PageRequest{}))); len(runs) != 2 {
			t.Fatalf("runs = %+v", runs)
		}
		if _, err := e.reg.ListRuns(e.b, x.ID, PageRequest{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant ListRuns = %v", err)
		}
		fin := must[*Run](t)(e.reg.SetRunStatus(e.a, run.ID, RunFinished))
		if fin.Status != RunFinished || fin.EndedAt == nil {
			t.Fatalf("finished run = %+v", fin)
		}
		if back := must[*Run](t)(e.reg.SetRunStatus(e.a, run.ID, RunRunning)); back.EndedAt != nil {
			t.Fatalf("re-opened run keeps its end: %+v", back)
		}
		if _, err := e.reg.SetRunStatus(e.a, run.ID, "paused"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad status = %v", err)
		}
		if _, err := e.reg.SetRunStatus(e.b, run.ID, RunFailed); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other tenant SetRunStatus = %v", err)
		}
		// Deleting the project removes experiments, runs and metrics.
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "k", Value: 1}}); err != nil {
			t.Fatal(err)
		}
		if err := e.reg.DeleteProject(e.a, p.ID); err != nil {
			t.Fatal(err)
		}
		for _, m := range []any{&Experiment{}, &Run{}, &metricSeries{}, &metricPoint{}} {
			if n := countRows(t, e, e.a, m); n != 0 {
				t.Fatalf("%T: %d rows left after project delete", m, n)
			}
		}
	})
}

func TestLateMetricBatches(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.reg.maxResequence = 5
		run := newRun(t, e)
		t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		at := func(s int64) time.Time { return t0.Add(time.Duration(s) * time.Minute) }
		var first []MetricPoint
		for s := range int64(20) {
			first = append(first, MetricPoint{Key: "m", Value: float64(s), Step: s, Timestamp: at(s)})
		}
		if err := e.reg.LogMetrics(e.a, run.ID, first); err != nil {
			t.Fatal(err)
		}
		ordered := func() bool {
			t.Helper()
			var s metricSeries
			if err := e.db.WithContext(e.a).Where("run_id = ? AND metric_key = ?", run.ID, "m").Take(&s).Error; err != nil {
				t.Fatal(err)
			}
			return s.Ordered
		}
		steps := func() []float64 {
			t.Helper()
			var out []float64
			for _, v := range must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "m", MaxHistoryPoints)) {
				out = append(out, v.Value)
			}
			return out
		}
		// Two stored points sort after the late one: they are re-numbered
		// and the series stays ordered. A second key in the batch is new.
		late := []MetricPoint{{Key: "m", Value: 17.5, Step: 17, Timestamp: at(17).Add(time.Second)}, {Key: "other", Value: 1}}
		if err := e.reg.LogMetrics(e.a, run.ID, late); err != nil {
			t.Fatal(err)
		}
		if !ordered() {
			t.Fatal("a late point within the re-numbering limit made the series unordered")
		}
		h := steps()
		if len(h) != 21 || h[17] != 17 || h[18] != 17.5 || h[19] != 18 || h[20] != 19 {
			t.Fatalf("after a re-numbered late point: %v", h)
		}
		ds := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "m", 3))
		if ds[0].Value != 0 || ds[1].Value != 10 || ds[2].Value != 19 {
			t.Fatalf("downsampled: %+v", ds)
		}
		// A point equal to a stored one goes after it; ten points follow,
		// more than the limit of five: the series becomes unordered, and
		// the history is still exact.
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "m", Value: 10.5, Step: 10, Timestamp: at(10)}}); err != nil {
			t.Fatal(err)
		}
		if ordered() {
			t.Fatal("a late point beyond the limit left the series ordered")
		}
		h = steps()
		if len(h) != 22 || h[10] != 10 || h[11] != 10.5 || h[12] != 11 || h[21] != 19 {
			t.Fatalf("after an unordered late point: %v", h)
		}
		ds = must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "m", 4))
		// Sampled by step now: buckets start at steps 0, 6, 12 and 19.
		if len(ds) != 4 || ds[0].Value != 0 || ds[1].Value != 6 || ds[2].Value != 12 || ds[3].Value != 19 {
			t.Fatalf("downsampled unordered: %+v", ds)
		}
	})
}

func TestStepBuckets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		lo, hi, m int64
		want      []int64
	}{
		{0, 19, 4, []int64{6, 12}},
		{0, 999, 2, []int64{}},
		{-10, 10, 5, []int64{-5, 0, 5}},
		{5, 5, 4, []int64{5, 5}},
		{0, 2, 5, []int64{0, 1, 1}},
		// The whole int64 range must not overflow.
		{math.MinInt64, math.MaxInt64, 3, []int64{-1}},
		{math.MinInt64, math.MaxInt64, 5, []int64{math.MinInt64/2 - 1, -1, math.MaxInt64 / 2}},
	}
	for _, c := range cases {
		if got := stepBuckets(c.lo, c.hi, c.m); !slices.Equal(got, c.want) {
			t.Errorf("stepBuckets(%d, %d, %d) = %v, want %v", c.lo, c.hi, c.m, got, c.want)
		}
	}
}

// TestMetricHistoryBySteps covers the history of a metric logged out of
// order too far back to be re-numbered: it is sampled by step buckets
// through the step index, keeps the first and last point, never repeats a
// point, and stays tenant-scoped.
func TestMetricHistoryBySteps(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		e.reg.maxResequence = 0 // every late batch leaves the series unordered
		run := newRun(t, e)
		t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		var pts []MetricPoint
		for s := int64(0); s < 10; s++ {
			pts = append(pts, MetricPoint{Key: "m", Value: float64(s), Step: s, Timestamp: t0.Add(time.Duration(s) * time.Second)})
		}
		pts = append(pts, MetricPoint{Key: "m", Value: 1000, Step: 1000, Timestamp: t0.Add(time.Hour)})
		if err := e.reg.LogMetrics(e.a, run.ID, pts); err != nil {
			t.Fatal(err)
		}
		// Late: step 3 again, and a point before everything else.
		late := []MetricPoint{{Key: "m", Value: 3.5, Step: 3, Timestamp: t0.Add(3*time.Second + time.Millisecond)},
			{Key: "m", Value: -1, Step: -1, Timestamp: t0}}
		if err := e.reg.LogMetrics(e.a, run.ID, late); err != nil {
			t.Fatal(err)
		}
		// Another tenant's series with the same shape must not leak in.
		if err := e.reg.LogMetrics(e.b, newRun(t, &env{db: e.db, reg: e.reg, a: e.b}).ID, pts); err != nil {
			t.Fatal(err)
		}
		values := func(m int) []float64 {
			t.Helper()
			var out []float64
			for _, v := range must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "m", m)) {
				out = append(out, v.Value)
			}
			return out
		}
		if got, want := values(100), []float64{-1, 0, 1, 2, 3, 3.5, 4, 5, 6, 7, 8, 9, 1000}; !slices.Equal(got, want) {
			t.Fatalf("whole history = %v, want %v", got, want)
		}
		// Steps -1..1000 in 3 buckets start at -1, 332 and 666: the two
		// inner ones hold no point and share the last point.
		if got, want := values(4), []float64{-1, 1000}; !slices.Equal(got, want) {
			t.Fatalf("sparse downsample = %v, want %v", got, want)
		}
		// Steps -1..2000 in 2 buckets: the inner one starts at 999 and
		// its first point is step 1000.
		if err := e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "m", Value: 2000, Step: 2000, Timestamp: t0.Add(2 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if got, want := values(3), []float64{-1, 1000, 2000}; !slices.Equal(got, want) {
			t.Fatalf("downsample to 3 = %v, want %v", got, want)
		}
		// More buckets than one statement binds (2,498 inner buckets in
		// three statements): steps 0..2999 without gaps, and a late repeat
		// of step 1500 that sorts after the original. Every bucket start is
		// a step of its own, so exactly m points come back, at the steps
		// floor(k*2999/2499), each the first point of its step.
		dense := metricBatch("dense", 0, 3000)
		if err := e.reg.LogMetrics(e.a, run.ID, dense); err != nil {
			t.Fatal(err)
		}
		repeat := metricBatch("dense", 1500, 1)
		repeat[0].Value, repeat[0].Timestamp = -7, repeat[0].Timestamp.Add(time.Second)
		if err := e.reg.LogMetrics(e.a, run.ID, repeat); err != nil {
			t.Fatal(err)
		}
		h := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "dense", 2500))
		if len(h) != 2500 {
			t.Fatalf("dense downsample: %d points", len(h))
		}
		for k, v := range h {
			if want := int64(k) * 2999 / 2499; v.Step != want || v.Value != float64(want)*0.001 {
				t.Fatalf("dense point %d = %+v, want step %d", k, v, want)
			}
		}
	})
}

type interleaveKey struct{}

// TestMetricHistorySnapshot commits a late batch between MetricHistory's
// read of the series and its read of the points: the history must be the
// one before the batch, whole (first and last point included), not a mix
// of the old point count and the new numbering.
func TestMetricHistorySnapshot(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, e *env) {
		run := newRun(t, e)
		if err := e.reg.LogMetrics(e.a, run.ID, metricBatch("m", 0, 10)); err != nil {
			t.Fatal(err)
		}
		late := metricBatch("m", 2, 1)
		late[0].Value, late[0].Timestamp = 99, late[0].Timestamp.Add(time.Microsecond)
		var once sync.Once
		interleave := func(d *gorm.DB) {
			if d.Statement.Context.Value(interleaveKey{}) == nil || d.Statement.Table != "metric_series" {
				return
			}
			once.Do(func() {
				// Another connection (or, on SQLite, the same file) writes
				// while the reader's transaction is open. SQLite runs one
				// writer at a time and the reader holds only a read lock
				// (WAL), so the write goes through there too.
				done := make(chan error, 1)
				go func() { done <- e.reg.LogMetrics(e.a, run.ID, late) }()
				if err := <-done; err != nil {
					t.Error(err)
				}
			})
		}
		if err := e.db.Callback().Query().After("gorm:query").Register("test:interleave", interleave); err != nil {
			t.Fatal(err)
		}
		ctx := context.WithValue(e.a, interleaveKey{}, true)
		h := must[[]MetricValue](t)(e.reg.MetricHistory(ctx, run.ID, "m", 3))
		if len(h) != 3 || h[0].Step != 0 || h[1].Step != 4 || h[2].Step != 9 || h[1].Value == 99 {
			t.Fatalf("history during a concurrent batch = %+v; want steps 0, 4, 9 as before the batch", h)
		}
		// Afterwards the batch is visible: 11 points.
		if h := must[[]MetricValue](t)(e.reg.MetricHistory(e.a, run.ID, "m", 100)); len(h) != 11 {
			t.Fatalf("history after the batch: %d points", len(h))
		}
	})
}

// TestWriteStatements pins the statements of the tracking writes MLflow
// clients make most (without a quota, which adds the checker's own): a
// metric point of an existing series is four (the run read and locked,
// the series read, updated, the point inserted), a batch of two keys
// five, and a run with a tag three (the experiment's stage, the run, its
// tags), whatever the run already holds.
func TestWriteStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.SQLite)
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	cb := e.db.Callback()
	for name, err := range map[string]error{
		"create": cb.Create().After("gorm:create").Register("test:count", count),
		"query":  cb.Query().After("gorm:query").Register("test:count", count),
		"update": cb.Update().After("gorm:update").Register("test:count", count),
		"delete": cb.Delete().After("gorm:delete").Register("test:count", count),
		"row":    cb.Row().After("gorm:row").Register("test:count", count),
		"raw":    cb.Raw().After("gorm:raw").Register("test:count", count),
	} {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	statements := func(what string, want int64, f func() error) {
		t.Helper()
		n.Store(0)
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := n.Load(); got != want {
			t.Fatalf("%s: %d statements, want %d", what, got, want)
		}
	}
	exp := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "x"}))
	var run *TrackedRun
	statements("create run", 3, func() (err error) {
		run, err = e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{Name: "r", Tags: map[string]string{"mlflow.runName": "r"}})
		return err
	})
	for i := range 20 { // a run with many metrics and tags costs the same
		if err := e.reg.LogRunBatch(e.a, run.ID, RunBatch{Metrics: []MetricPoint{{Key: fmt.Sprint("m", i), Value: 1}},
			Tags: map[string]string{fmt.Sprint("t", i): "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	statements("log metric", 4, func() error {
		return e.reg.LogRunBatch(e.a, run.ID, RunBatch{Metrics: []MetricPoint{{Key: "m0", Value: 2, Step: 1}}})
	})
	statements("log batch of two keys", 5, func() error {
		return e.reg.LogMetrics(e.a, run.ID, []MetricPoint{{Key: "m1", Value: 2, Step: 1}, {Key: "m2", Value: 2, Step: 1}, {Key: "m1", Value: 3, Step: 2}})
	})
	s := must[*TrackedRun](t)(e.reg.TrackedRun(e.a, run.ID))
	if len(s.Metrics) != 20 || s.Metrics[1].Key != "m1" || s.Metrics[1].Count != 3 || s.Metrics[1].LastValue != 3 || s.Metrics[1].Max != 3 {
		t.Fatalf("metrics after the writes: %+v", s.Metrics)
	}
}

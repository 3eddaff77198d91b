package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The differential test of QueryTrackedRuns against the in-memory search
// is mlflowapi's TestRunSearchPushdownMatchesInMemory; these cover its
// own rules.

func TestQueryTrackedRuns(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		exp := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "q"}))
		var ids []string
		for i := range 5 {
			run := must[*TrackedRun](t)(e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{
				Name: fmt.Sprint("r", i), StartTime: time.UnixMilli(1700000000000 + int64(i%2)), Tags: map[string]string{"team": fmt.Sprint(i % 2)}}))
			b := RunBatch{Params: map[string]string{"lr": fmt.Sprint(i)}}
			if i < 4 {
				b.Metrics = []MetricPoint{{Key: "acc", Value: float64(i) / 4, Timestamp: time.UnixMilli(1)}}
			}
			if err := e.reg.LogRunBatch(e.a, run.ID, b); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, run.ID)
		}
		// Another tenant's run with the same keys in an experiment of its own.
		expB := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.b, TrackedExperimentInput{Name: "q"}))
		runB := must[*TrackedRun](t)(e.reg.CreateTrackedRun(e.b, expB.ID, TrackedRunInput{Tags: map[string]string{"team": "0"}}))
		if err := e.reg.LogRunBatch(e.b, runB.ID, RunBatch{Metrics: []MetricPoint{{Key: "acc", Value: 9}}}); err != nil {
			t.Fatal(err)
		}
		query := func(q RunQuery) ([]string, bool) {
			t.Helper()
			if q.ExperimentIDs == nil {
				q.ExperimentIDs = []string{exp.ID, expB.ID}
			}
			page, err := e.reg.QueryTrackedRuns(e.a, q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			var got []string
			for _, r := range page.Runs {
				got = append(got, r.ID)
				if len(r.Metrics) > 0 && r.Metrics[0].Key != "acc" || r.Params["lr"] == "" || r.Tags["team"] == "" {
					t.Fatalf("run %s without its data: %+v", r.ID, r)
				}
			}
			return got, page.More
		}
		byAcc := []RunSortKey{{Kind: RunMetric, Key: "acc", Desc: true}}
		if got, more := query(RunQuery{OrderBy: byAcc, Limit: 2}); !slices.Equal(got, []string{ids[3], ids[2]}) || !more {
			t.Fatalf("first page %v %v", got, more)
		}
		// The run without the metric sorts last, in either direction.
		if got, more := query(RunQuery{OrderBy: byAcc, Offset: 2, Limit: 5}); !slices.Equal(got, []string{ids[1], ids[0], ids[4]}) || more {
			t.Fatalf("last page %v %v", got, more)
		}
		if got, _ := query(RunQuery{OrderBy: []RunSortKey{{Kind: RunMetric, Key: "acc"}}}); !slices.Equal(got, []string{ids[0], ids[1], ids[2], ids[3], ids[4]}) {
			t.Fatalf("ascending %v", got)
		}
		for _, c := range []struct {
			cond RunCondition
			want []string
		}{
			{RunCondition{Kind: RunMetric, Key: "acc", Op: OpGreaterEqual, Number: 0.5}, []string{ids[2], ids[3]}},
			{RunCondition{Kind: RunMetric, Key: "acc", Op: OpNotEqual, Number: 0}, []string{ids[1], ids[2], ids[3]}},
			{RunCondition{Kind: RunParam, Key: "lr", Op: OpEqual, Text: "4"}, []string{ids[4]}},
			{RunCondition{Kind: RunTag, Key: "team", Op: OpNotEqual, Text: "0"}, []string{ids[1], ids[3]}},
			{RunCondition{Kind: RunAttribute, Key: AttrRunID, Op: OpIn, List: []string{ids[4], "x\x00", runB.ID}}, []string{ids[4]}},
			{RunCondition{Kind: RunAttribute, Key: AttrRunID, Op: OpNotIn, List: []string{ids[0], ids[1], ids[2]}}, []string{ids[3], ids[4]}},
			{RunCondition{Kind: RunAttribute, Key: AttrRunID, Op: OpIn, List: []string{"\xff"}}, nil},
			{RunCondition{Kind: RunAttribute, Key: AttrStartTime, Op: OpGreater, Number: 1700000000000.5}, []string{ids[1], ids[3]}},
			{RunCondition{Kind: RunAttribute, Key: AttrEndTime, Op: OpGreater, Number: 0}, nil},
			{RunCondition{Kind: RunAttribute, Key: AttrRunName, Op: OpEqual, Text: "r2"}, []string{ids[2]}},
			{RunCondition{Kind: RunAttribute, Key: AttrStatus, Op: OpEqual, Text: string(RunRunning)}, ids},
			// Texts no write stores: = holds for no run, != for every run
			// with the key.
			{RunCondition{Kind: RunTag, Key: "team", Op: OpEqual, Text: "\xff"}, nil},
			{RunCondition{Kind: RunTag, Key: "team", Op: OpNotEqual, Text: "a\x00"}, ids},
			// A key no write stores matches nothing.
			{RunCondition{Kind: RunMetric, Key: "a\"b", Op: OpLess, Number: 1}, nil},
		} {
			got, _ := query(RunQuery{Where: []RunCondition{c.cond}, OrderBy: []RunSortKey{{Kind: RunAttribute, Key: AttrRunName}}})
			if !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.cond, got, c.want)
			}
		}
		// Tenant B sees its run only, whatever it names.
		page := must[RunQueryPage](t)(e.reg.QueryTrackedRuns(e.b, RunQuery{ExperimentIDs: []string{exp.ID, expB.ID}}))
		if len(page.Runs) != 1 || page.Runs[0].ID != runB.ID {
			t.Fatalf("tenant B: %+v", page.Runs)
		}
		if page := must[RunQueryPage](t)(e.reg.QueryTrackedRuns(e.a, RunQuery{ExperimentIDs: []string{"nope"}})); len(page.Runs) != 0 {
			t.Fatalf("unknown experiment: %+v", page.Runs)
		}
		if _, err := e.reg.QueryTrackedRuns(e.a, RunQuery{ExperimentIDs: make([]string, MaxTrackingScan+1)}); !errors.As(err, new(*TooLargeError)) {
			t.Fatalf("too many experiment ids: %v", err)
		}
		tooMany := RunQuery{ExperimentIDs: []string{exp.ID}}
		for i := range MaxRunQueryKeys + 1 {
			tooMany.OrderBy = append(tooMany.OrderBy, RunSortKey{Kind: RunTag, Key: fmt.Sprint("k", i)})
		}
		for _, q := range []RunQuery{
			{Offset: -1},
			{Where: []RunCondition{{Kind: RunMetric, Key: "acc", Op: "~"}}},
			{Where: []RunCondition{{Kind: RunMetric, Key: "acc", Op: OpLess, Number: math.Inf(1)}}},
			{Where: []RunCondition{{Kind: RunTag, Key: "team", Op: OpLess}}},
			{Where: []RunCondition{{Kind: RunTag, Key: "team", Op: OpIn}}},
			{Where: []RunCondition{{Kind: RunAttribute, Key: "artifact_uri", Op: OpEqual}}},
			{OrderBy: []RunSortKey{{Kind: RunAttribute, Key: "nope"}}},
			tooMany,
		} {
			q.ExperimentIDs = []string{exp.ID}
			if _, err := e.reg.QueryTrackedRuns(e.a, q); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v: %v, want ErrInvalid", q, err)
			}
		}
	})
}

// TestQueryTrackedRunsChunks reads a page of more runs than one statement
// asks for (1,000 ids): every run once, in order, with the data
// ListTrackedRuns reads for it, metrics by key.
func TestQueryTrackedRunsChunks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteOpen)
	exp := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: "chunks"}))
	for i := range 1003 {
		run := must[*TrackedRun](t)(e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{Name: fmt.Sprint("r", i),
			StartTime: time.UnixMilli(1700000000000).Add(time.Duration(i) * time.Microsecond), Tags: map[string]string{"i": fmt.Sprint(i)}}))
		b := RunBatch{Metrics: []MetricPoint{{Key: "z", Value: float64(i), Timestamp: time.UnixMilli(1)}, {Key: "a", Value: -float64(i), Step: 3, Timestamp: time.UnixMilli(2)}}}
		if i%2 == 0 {
			b.Params = map[string]string{"p": fmt.Sprint(i)}
		}
		if err := e.reg.LogRunBatch(e.a, run.ID, b); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.reg.QueryTrackedRuns(e.a, RunQuery{ExperimentIDs: []string{exp.ID}, OrderBy: []RunSortKey{{Kind: RunAttribute, Key: AttrRunID}}})
	if err != nil || page.More || len(page.Runs) != 1003 {
		t.Fatalf("page of %d runs, more %v: %v", len(page.Runs), page.More, err)
	}
	all := must[[]TrackedRun](t)(e.reg.ListTrackedRuns(e.a, []string{exp.ID}))
	slices.SortFunc(all, func(a, b TrackedRun) int { return strings.Compare(a.ID, b.ID) })
	for i := range all {
		got, want := fmt.Sprintf("%+v", page.Runs[i]), fmt.Sprintf("%+v", all[i])
		if got != want {
			t.Fatalf("run %d:\n got %s\nwant %s", i, got, want)
		}
		if ms := page.Runs[i].Metrics; len(ms) != 2 || ms[0].Key != "a" || ms[1].Key != "z" {
			t.Fatalf("run %d metrics %+v", i, ms)
		}
	}
}

// sqlCapture is a GORM logger that keeps the SQL of every statement, its
// values inlined.
type sqlCapture struct {
	logger.Interface
	mu   sync.Mutex
	stmt []string
}

func (c *sqlCapture) LogMode(logger.LogLevel) logger.Interface { return c }

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	s, _ := fc()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stmt = append(c.stmt, s)
}

// TestQueryTrackedRunsPlanBoundedByRuns checks the plan SQLite makes for
// a search's page of ids with a metric condition and order: it walks the
// searched experiments' runs and looks each one's series up, never every
// series of the tenant (a tenant with many other experiments would make
// every search cost as much as all of them; MaxTrackingScan bounds the
// runs, not the tenant's series).
func TestQueryTrackedRunsPlanBoundedByRuns(t *testing.T) {
	t.Parallel()
	capture := &sqlCapture{Interface: logger.Discard}
	e := newEnv(t, func(tb testing.TB) *gorm.DB {
		return sqliteOpen(tb).Session(&gorm.Session{Logger: capture})
	})
	var exps []string
	for i := range 3 {
		exp := must[*TrackedExperiment](t)(e.reg.CreateTrackedExperiment(e.a, TrackedExperimentInput{Name: fmt.Sprint("e", i)}))
		exps = append(exps, exp.ID)
		for j := range 5 {
			run := must[*TrackedRun](t)(e.reg.CreateTrackedRun(e.a, exp.ID, TrackedRunInput{Name: fmt.Sprint("r", j), Tags: map[string]string{"t": "x"}}))
			if err := e.reg.LogRunBatch(e.a, run.ID, RunBatch{Metrics: []MetricPoint{{Key: "acc", Value: float64(j), Timestamp: time.UnixMilli(1)}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	queries := map[string]RunQuery{
		"metric condition and order": {Where: []RunCondition{{Kind: RunMetric, Key: "acc", Op: ">", Number: 1.5}},
			OrderBy: []RunSortKey{{Kind: RunMetric, Key: "acc", Desc: true}}},
		"metric order":  {OrderBy: []RunSortKey{{Kind: RunMetric, Key: "acc"}}},
		"tag condition": {Where: []RunCondition{{Kind: RunTag, Key: "t", Op: "=", Text: "x"}}},
		"tag condition, id order": {Where: []RunCondition{{Kind: RunTag, Key: "t", Op: "!=", Text: "y"}},
			OrderBy: []RunSortKey{{Kind: RunAttribute, Key: AttrRunID, Desc: true}}},
		"mlflow's search": {Stages: []Lifecycle{LifecycleActive}, Where: []RunCondition{{Kind: RunMetric, Key: "acc", Op: ">=", Number: 1}},
			OrderBy: []RunSortKey{{Kind: RunMetric, Key: "acc", Desc: true}, {Kind: RunAttribute, Key: AttrStartTime, Desc: true}}},
	}
	for name, q := range queries {
		q.ExperimentIDs, q.Limit = exps[:1], 2
		capture.mu.Lock()
		capture.stmt = nil
		capture.mu.Unlock()
		page, err := e.reg.QueryTrackedRuns(e.a, q)
		if err != nil || len(page.Runs) != 2 {
			t.Fatalf("%s: %d runs, %v", name, len(page.Runs), err)
		}
		var ids string
		capture.mu.Lock()
		for _, s := range capture.stmt {
			if strings.HasPrefix(s, "SELECT `runs`.`id` FROM `runs`") {
				ids = s
			}
		}
		capture.mu.Unlock()
		if ids == "" {
			t.Fatalf("%s: no statement read the page's ids", name)
		}
		var plan []struct {
			ID, Parent, Notused int
			Detail              string
		}
		if err := e.db.Raw("EXPLAIN QUERY PLAN " + ids).Scan(&plan).Error; err != nil {
			t.Fatal(err)
		}
		if len(plan) == 0 || !strings.HasPrefix(plan[0].Detail, "SEARCH runs USING COVERING INDEX ix_runs_search") {
			t.Errorf("%s: the plan does not start from the searched runs:\n%s\n%+v", name, ids, plan)
		}
	}
}

package mlflowapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// newRegistry installs the plugin on db, migrates it (when migrate) and
// opens a registry on it.
func newRegistry(tb testing.TB, db *gorm.DB, p *tenancy.Plugin, migrate bool) *registry.Registry {
	tb.Helper()
	if err := db.Use(p); err != nil {
		tb.Fatal(err)
	}
	if migrate {
		if err := registry.Migrate(context.Background(), db); err != nil {
			tb.Fatal(err)
		}
	}
	blobs, err := registry.NewFileStore(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := registry.New(db, registry.WithBlobStore(blobs))
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// searchDatabases are the databases the differential test runs on:
// SQLite, PostgreSQL with the plugin, and PostgreSQL as a non-superuser
// role under row-level security.
func searchDatabases(t *testing.T) map[string]func(testing.TB) *registry.Registry {
	t.Helper()
	out := map[string]func(testing.TB) *registry.Registry{}
	for name, open := range testenv.Databases(t) {
		out[name] = func(tb testing.TB) *registry.Registry { return newRegistry(tb, open(tb), tenancy.NewPlugin(), true) }
	}
	if _, ok := out["postgres"]; ok {
		out["postgres-rls"] = func(tb testing.TB) *registry.Registry {
			url := testenv.PostgresURL(tb)
			owner := testenv.OpenPostgres(tb, url)
			if err := registry.Migrate(context.Background(), owner); err != nil {
				tb.Fatal(err)
			}
			if err := tenancy.SetupRLS(context.Background(), owner, tenancy.RLSConfig{Models: registry.Models()}); err != nil {
				tb.Fatal(err)
			}
			role, appURL := testenv.PostgresAppRole(tb, url)
			for _, g := range []string{
				"GRANT USAGE ON SCHEMA public TO " + role,
				"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + role,
			} {
				if err := owner.Exec(g).Error; err != nil {
					tb.Fatalf("%s: %v", g, err)
				}
			}
			return newRegistry(tb, testenv.OpenPostgres(tb, appURL), tenancy.NewPlugin(tenancy.WithRowLevelSecurity()), false)
		}
	}
	return out
}

// Values the generated runs and searches draw from: equal values for
// ties, extremes, keys that need quoting.
var (
	genMetricKeys = []string{"acc", "loss", "m.x", "a b"}
	genMetricVals = []float64{0, 0.5, 0.5, 1, -1, 0.25, 1e300, -1e300, 5e-324, math.MaxFloat64, -math.MaxFloat64, 3}
	genParamKeys  = []string{"lr", "opt", "x.y"}
	genTagKeys    = []string{"team", "t.k", RunNameTag}
	genTexts      = []string{"0.1", "0.01", "adam", "Adam", "", "é", "z", "o'k", "a%b", "10"}
	genNames      = []string{"alpha", "beta", "Alpha", "beta", "é-run"}
	genUsers      = []string{"", "ann", "bob", "Bob"}
	genStatuses   = []registry.RunStatus{registry.RunRunning, registry.RunFinished, registry.RunFailed, registry.RunKilled}
	genStarts     = []int64{1700000000000, 1700000000000, 1700000000001, 1700000005000, 1600000000000}
)

type genWorld struct {
	reg     *registry.Registry
	a, b    context.Context
	exps    []string // tenant A's experiments
	expB    string   // tenant B's experiment
	runIDs  []string
	bRunIDs map[string]bool
}

// populate creates n runs in each of tenant A's two experiments and in
// tenant B's, with random metrics, parameters, tags, statuses, end times
// and lifecycle stages.
func populate(t *testing.T, rng *rand.Rand, reg *registry.Registry, n int) *genWorld {
	t.Helper()
	w := &genWorld{reg: reg, a: tenancy.WithTenant(context.Background(), "tenant-a"),
		b: tenancy.WithTenant(context.Background(), "tenant-b"), bRunIDs: map[string]bool{}}
	for i := range 2 {
		e, err := reg.CreateTrackedExperiment(w.a, registry.TrackedExperimentInput{Name: fmt.Sprint("exp", i)})
		if err != nil {
			t.Fatal(err)
		}
		w.exps = append(w.exps, e.ID)
	}
	e, err := reg.CreateTrackedExperiment(w.b, registry.TrackedExperimentInput{Name: "expB"})
	if err != nil {
		t.Fatal(err)
	}
	w.expB = e.ID
	for _, exp := range append(append([]string{}, w.exps...), w.expB) {
		ctx := w.a
		if exp == w.expB {
			ctx = w.b
		}
		for range n {
			// The first experiment's times are whole milliseconds.
			id := genRun(t, rng, reg, ctx, exp, exp != w.exps[0])
			if exp == w.expB {
				w.bRunIDs[id] = true
			} else {
				w.runIDs = append(w.runIDs, id)
			}
		}
	}
	// Stored metrics are finite: the registry refuses NaN and infinities,
	// so the in-memory NaN rules never meet a stored value.
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		err := reg.LogRunBatch(w.a, w.runIDs[0], registry.RunBatch{Metrics: []registry.MetricPoint{{Key: "acc", Value: v, Timestamp: time.UnixMilli(1)}}})
		if !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("logging %v: %v", v, err)
		}
	}
	return w
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func genRun(t *testing.T, rng *rand.Rand, reg *registry.Registry, ctx context.Context, exp string, micro bool) string {
	t.Helper()
	start := time.UnixMilli(pick(rng, genStarts))
	if micro && rng.IntN(3) == 0 { // microseconds within the same millisecond
		start = start.Add(time.Duration(rng.IntN(1000)) * time.Microsecond)
	}
	in := registry.TrackedRunInput{Name: pick(rng, genNames), UserID: pick(rng, genUsers), StartTime: start, Tags: map[string]string{}}
	for _, k := range genTagKeys {
		if rng.IntN(2) == 0 {
			in.Tags[k] = pick(rng, genTexts)
		}
	}
	run, err := reg.CreateTrackedRun(ctx, exp, in)
	if err != nil {
		t.Fatal(err)
	}
	b := registry.RunBatch{Params: map[string]string{}}
	for _, k := range genParamKeys {
		if rng.IntN(2) == 0 {
			b.Params[k] = pick(rng, genTexts)
		}
	}
	for _, k := range genMetricKeys {
		for step := range rng.IntN(3) {
			b.Metrics = append(b.Metrics, registry.MetricPoint{Key: k, Value: pick(rng, genMetricVals), Step: int64(step),
				Timestamp: time.UnixMilli(1700000000000 + int64(rng.IntN(3)))})
		}
	}
	if err := reg.LogRunBatch(ctx, run.ID, b); err != nil {
		t.Fatal(err)
	}
	switch rng.IntN(4) {
	case 0: // still running, no end
	case 1:
		if !micro {
			break
		}
		// Ended now, microseconds and all.
		st := pick(rng, genStatuses[1:])
		_, err = reg.UpdateTrackedRun(ctx, run.ID, registry.TrackedRunPatch{Status: &st})
	default:
		st := pick(rng, genStatuses)
		p := registry.TrackedRunPatch{Status: &st}
		if st != registry.RunRunning {
			end := start.Truncate(time.Millisecond).Add(time.Duration(1+rng.IntN(2)) * time.Second)
			p.EndTime = &end
		}
		_, err = reg.UpdateTrackedRun(ctx, run.ID, p)
	}
	if err != nil {
		t.Fatal(err)
	}
	if rng.IntN(5) == 0 {
		if err := reg.SetRunLifecycle(ctx, run.ID, registry.LifecycleDeleted); err != nil {
			t.Fatal(err)
		}
	}
	return run.ID
}

func quoteText(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteKey(kind, k string) string {
	if strings.ContainsAny(k, " ") {
		return kind + ".`" + k + "`"
	}
	return kind + "." + k
}

// genFilter returns a random filter of zero to three clauses.
func genFilter(rng *rand.Rand, w *genWorld) string {
	var cs []string
	nums := []string{"=", "!=", "<", "<=", ">", ">="}
	strs := []string{"=", "!=", "=", "!=", "LIKE", "ILIKE"}
	for range rng.IntN(4) {
		var c string
		switch rng.IntN(10) {
		case 0, 1, 2:
			key := pick(rng, append(append([]string{}, genMetricKeys...), "nokey"))
			v := fmt.Sprint(pick(rng, genMetricVals))
			if rng.IntN(3) == 0 {
				v = fmt.Sprint(rng.Float64()*2 - 0.5)
			}
			c = fmt.Sprintf("%s %s %s", quoteKey("metrics", key), pick(rng, nums), v)
		case 3:
			c = fmt.Sprintf("%s %s %s", quoteKey("params", pick(rng, append(append([]string{}, genParamKeys...), "nokey"))), pick(rng, strs), quoteText(pick(rng, append(append([]string{}, genTexts...), "%a%", "A_am", "%"))))
		case 4:
			c = fmt.Sprintf("tags.`%s` %s %s", pick(rng, genTagKeys), pick(rng, strs), quoteText(pick(rng, append(append([]string{}, genTexts...), genNames...))))
		case 5:
			c = fmt.Sprintf("attributes.status %s %s", pick(rng, []string{"=", "!=", "LIKE"}), quoteText(pick(rng, []string{"FINISHED", "RUNNING", "FAILED", "KILLED", "finished", "F%"})))
		case 6:
			attr := pick(rng, []string{"run_name", "user_id", "artifact_uri"})
			c = fmt.Sprintf("attributes.%s %s %s", attr, pick(rng, strs), quoteText(pick(rng, append(append([]string{}, genNames...), genUsers...))))
		case 7:
			v := float64(pick(rng, genStarts)) + float64(rng.IntN(5000)-2500)/2
			c = fmt.Sprintf("attributes.%s %s %v", pick(rng, []string{"start_time", "end_time", "created"}), pick(rng, nums), v)
		default:
			var ids []string
			for range 1 + rng.IntN(4) {
				ids = append(ids, quoteText(pick(rng, append(append([]string{}, w.runIDs...), "bogus", strings.ToUpper(w.runIDs[0])))))
			}
			c = fmt.Sprintf("attributes.run_id %s (%s)", pick(rng, []string{"IN", "NOT IN", "="}), strings.Join(ids, ", "))
			if strings.HasSuffix(strings.Fields(c)[1], "=") {
				c = "attributes.run_id = " + ids[0]
			}
		}
		cs = append(cs, c)
	}
	return strings.Join(cs, " AND ")
}

// genOrder returns zero to two random order_by terms.
func genOrder(rng *rand.Rand) []string {
	var out []string
	for range rng.IntN(3) {
		var id string
		switch rng.IntN(4) {
		case 0:
			id = quoteKey("metrics", pick(rng, append(append([]string{}, genMetricKeys...), "nokey")))
		case 1:
			id = quoteKey("params", pick(rng, genParamKeys))
		case 2:
			id = "tags.`" + pick(rng, genTagKeys) + "`"
		default:
			id = "attributes." + pick(rng, []string{"start_time", "end_time", "run_name", "status", "user_id", "run_id", "artifact_uri"})
		}
		out = append(out, id+pick(rng, []string{"", " ASC", " DESC"}))
	}
	return out
}

// TestRunSearchPushdownMatchesInMemory is the differential test of the
// pushdown: random runs and random searches of MLflow's grammar, each
// paged through with a random page size, must answer exactly the pages
// and tokens of the in-memory evaluation, on every database.
func TestRunSearchPushdownMatchesInMemory(t *testing.T) {
	for name, open := range searchDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(7, uint64(len(name))))
			w := populate(t, rng, open(t), 40)
			searches, pushed, narrowed := 250, 0, 0
			for i := range searches {
				filter, orderBy := genFilter(rng, w), genOrder(rng)
				clauses, err := parseFilter(filter, runAttrs)
				if err != nil {
					t.Fatalf("filter %q: %v", filter, err)
				}
				orders, err := parseOrderBy(orderBy, runAttrs)
				if err != nil {
					t.Fatalf("order %q: %v", orderBy, err)
				}
				orders = append(orders, order{kind: kindAttr, key: "start_time", desc: true}, order{kind: kindAttr, key: "run_id"})
				ids := pick(rng, [][]string{{w.exps[0]}, w.exps, {w.exps[1], w.expB}, {"bogus", w.exps[0]}, {w.expB}})
				stages := pick(rng, [][]registry.Lifecycle{{registry.LifecycleActive}, {registry.LifecycleDeleted}, nil})
				plan, ok := planRunSearch(ids, stages, clauses, orders)
				if !ok {
					continue
				}
				if len(plan.residual) == 0 {
					pushed++
				} else {
					narrowed++
				}
				limit := 1 + rng.IntN(12)
				what := fmt.Sprintf("search %d: filter %q order %q ids %v stages %v limit %d", i, filter, orderBy, ids, stages, limit)
				for offset, pages := 0, 0; ; pages++ {
					want, next, err := searchRunsInMemory(w.a, w.reg, ids, stages, clauses, orders, offset, limit, "fp")
					if err != nil {
						t.Fatalf("%s: in memory: %v", what, err)
					}
					got, more, err := queryRuns(w.a, w.reg, plan, offset, limit)
					if err != nil {
						t.Fatalf("%s: pushed: %v", what, err)
					}
					wj, _ := json.Marshal(want)
					gj, _ := json.Marshal(got)
					if string(wj) != string(gj) {
						t.Fatalf("%s, offset %d:\nin memory %s\npushed    %s", what, offset, wj, gj)
					}
					for _, r := range got {
						if w.bRunIDs[r.Info.RunID] {
							t.Fatalf("%s: tenant B's run %s in tenant A's search", what, r.Info.RunID)
						}
					}
					if more != (next != "") {
						t.Fatalf("%s, offset %d: more %v, in-memory next %q", what, offset, more, next)
					}
					if !more {
						break
					}
					if next != encodeToken(offset+len(got), "fp") {
						t.Fatalf("%s: next token %q", what, next)
					}
					offset += len(got)
				}
			}
			t.Logf("%d searches: %d pushed down, %d narrowed in SQL and finished here", searches, pushed, narrowed)
			if pushed < searches/3 || narrowed < searches/10 {
				t.Fatalf("only %d searches pushed down and %d narrowed of %d", pushed, narrowed, searches)
			}
			// Tenant B's own search sees its runs only, and none of A's.
			plan, _ := planRunSearch(append([]string{w.expB}, w.exps...), nil, nil, nil)
			got, _, err := queryRuns(w.b, w.reg, plan, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(w.bRunIDs) {
				t.Fatalf("tenant B sees %d runs, has %d", len(got), len(w.bRunIDs))
			}
			for _, r := range got {
				if !w.bRunIDs[r.Info.RunID] {
					t.Fatalf("tenant B sees run %s", r.Info.RunID)
				}
			}
		})
	}
}

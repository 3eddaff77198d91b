package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// RunKeyKind says what a RunCondition or a RunSortKey names: a run
// attribute, the latest value of a metric, a parameter or a tag.
type RunKeyKind int

// The kinds of key a RunQuery filters and sorts on.
const (
	RunAttribute RunKeyKind = iota
	RunMetric
	RunParam
	RunTag
)

// The run attributes a RunQuery filters and sorts on. The times are
// compared as whole milliseconds since the Unix epoch (rounded down), as
// the tracking API reports them.
const (
	AttrRunID     = "run_id"
	AttrRunName   = "run_name"
	AttrStatus    = "status"
	AttrUserID    = "user_id"
	AttrStartTime = "start_time"
	AttrEndTime   = "end_time"
)

// Operators of a RunCondition besides the six comparisons: membership in
// List, for the run id only.
const (
	OpIn    = "IN"
	OpNotIn = "NOT IN"
)

// MaxRunQueryKeys bounds the distinct metric and tag keys one RunQuery
// names (each is a join).
const MaxRunQueryKeys = 32

// RunCondition is one condition of a RunQuery. A metric compares its
// latest value (MetricSummary.LastValue) with Number using any of the six
// comparisons; start_time and end_time compare their milliseconds with
// Number the same way; parameters, tags and the text attributes
// (run_name, user_id, status as a RunStatus) compare Text with = or !=;
// run_id also takes IN and NOT IN with List. A run without the metric,
// parameter, tag or end time does not match, whatever the operator. Text
// is compared byte for byte.
type RunCondition struct {
	Kind   RunKeyKind
	Key    string
	Op     string
	Number float64
	Text   string
	List   []string
}

// RunSortKey is one sort key of a RunQuery: an attribute, a metric's
// latest value, a parameter or a tag, ascending unless Desc. A run
// without the key sorts after every run with it, in either direction;
// text sorts byte for byte.
type RunSortKey struct {
	Kind RunKeyKind
	Key  string
	Desc bool
}

// RunQuery selects the tracked runs of experiments for QueryTrackedRuns:
// in one of Stages (any when empty), satisfying every condition of Where,
// ordered by OrderBy and then by run id, the page of Limit runs (0: every
// matching run) after Offset of them.
type RunQuery struct {
	ExperimentIDs []string
	Stages        []Lifecycle
	Where         []RunCondition
	OrderBy       []RunSortKey
	Offset        int
	Limit         int
}

// RunQueryPage is one page of a RunQuery: its runs, with their
// parameters, tags and latest metrics, and whether more runs match after
// them.
type RunQueryPage struct {
	Runs []TrackedRun
	More bool
}

// QueryTrackedRuns answers q in the database: only the page's runs are
// read, with their data. As ListTrackedRuns, it reads runs of at most
// MaxTrackingScan runs in the experiments and stages: more is
// ErrTooLarge, whatever the conditions, and so are more than
// MaxTrackingScan experiment ids. An unknown experiment id matches
// nothing. A condition or sort key the query cannot express is
// ErrInvalid.
func (r *Registry) QueryTrackedRuns(ctx context.Context, q RunQuery) (RunQueryPage, error) {
	if len(q.ExperimentIDs) > MaxTrackingScan {
		return RunQueryPage{}, &TooLargeError{What: "experiment ids", Limit: MaxTrackingScan, Got: int64(len(q.ExperimentIDs))}
	}
	if q.Offset < 0 || q.Limit < 0 {
		return RunQueryPage{}, invalid("limit", "offset and limit must not be negative")
	}
	ids := make([]string, 0, len(q.ExperimentIDs))
	for _, id := range q.ExperimentIDs {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	out := RunQueryPage{Runs: []TrackedRun{}}
	if len(ids) == 0 {
		return out, nil
	}
	err := r.readTx(ctx, func(db *gorm.DB) error {
		b := runQueryBuilder{pg: migrate.IsPostgres(db), joins: map[string]string{}, present: map[string]bool{}}
		scope := func(d *gorm.DB) *gorm.DB {
			d = d.Where("runs.experiment_id IN ?", ids)
			if len(q.Stages) > 0 {
				d = d.Where("runs.lifecycle_stage IN ?", q.Stages)
			}
			return d
		}
		// The runs scanned, bounded; on SQLite also the longest time texts:
		// times of whole milliseconds (at most three digits of fraction)
		// order by their text as by their milliseconds.
		var scan struct {
			N          int64
			StartWidth int64
			EndWidth   int64
		}
		cols := "count(*) AS n"
		if !b.pg {
			cols += ", coalesce(max(length(started_at)), 0) AS start_width, coalesce(max(length(ended_at)), 0) AS end_width"
		}
		sub := scope(db.Model(&TrackedRun{}).Select("runs.started_at, runs.ended_at")).Limit(MaxTrackingScan + 1)
		if err := db.Table("(?) AS scanned", sub).Select(cols).Scan(&scan).Error; err != nil {
			return dbErr(err, "runs")
		}
		if scan.N > MaxTrackingScan {
			return &TooLargeError{What: "run search", Limit: MaxTrackingScan, Got: scan.N}
		}
		b.wholeMillis = map[string]bool{"runs.started_at": scan.StartWidth <= sqliteMillisWidth, "runs.ended_at": scan.EndWidth <= sqliteMillisWidth}
		conds, err := b.conditions(q.Where)
		if err != nil {
			return err
		}
		orders, err := b.orders(q.OrderBy)
		if err != nil {
			return err
		}
		if len(b.from) > MaxRunQueryKeys {
			return invalid("filter", "at most %d distinct metric and tag keys", MaxRunQueryKeys)
		}
		b.fixJoinOrder()
		sel := scope(db.Model(&TrackedRun{}))
		if len(b.from) > 0 {
			sel = sel.Clauses(clause.From{Joins: b.from})
		}
		for _, c := range conds {
			sel = sel.Where(c)
		}
		sel = sel.Clauses(clause.OrderBy{Expression: orders})
		if q.Limit > 0 {
			sel = sel.Limit(q.Limit + 1)
		}
		if q.Offset > 0 {
			sel = sel.Offset(q.Offset)
		}
		// The ids first, so that the sort carries only them; then the
		// page's runs.
		var page []string
		if err := sel.Pluck("runs.id", &page).Error; err != nil {
			return dbErr(err, "run search")
		}
		if q.Limit > 0 && len(page) > q.Limit {
			page, out.More = page[:q.Limit], true
		}
		out.Runs, err = pageRuns(db, page)
		return err
	})
	if err != nil {
		return RunQueryPage{}, err
	}
	return out, nil
}

// pageRuns reads the runs of ids, in their order, with their
// parameters, tags and latest metrics, as loadRunData fills them: three
// statements a chunk of 1,000 ids, their rows scanned without GORM's
// reflection (see timeColumn).
func pageRuns(db *gorm.DB, ids []string) ([]TrackedRun, error) {
	out := make([]TrackedRun, len(ids))
	at := make(map[string]*TrackedRun, len(ids))
	for i, id := range ids {
		at[id] = &out[i]
	}
	for i := 0; i < len(ids); i += 1000 {
		if err := readRuns(db, ids[i:min(i+1000, len(ids))], at); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readRuns fills the runs of ids in at.
func readRuns(db *gorm.DB, ids []string, at map[string]*TrackedRun) error {
	read := 0
	err := scanRows(db.Model(&TrackedRun{}).Select("tenant_id, id, experiment_id, name, status, params, "+
		timeColumn(db, "started_at")+", "+timeColumn(db, "ended_at")+", lifecycle_stage, user_id").Where("id IN ?", ids),
		func(rows *sql.Rows) error {
			var (
				run          TrackedRun
				params       string
				start        scanTime
				end          scanNullTime
				status, life string
			)
			if err := rows.Scan(&run.TenantID, &run.ID, &run.ExperimentID, &run.Name, &status, &params, &start, &end, &life, &run.UserID); err != nil {
				return err
			}
			dst := at[run.ID]
			if dst == nil || dst.ID != "" {
				return fmt.Errorf("registry: run search: run %s read twice or unasked", run.ID)
			}
			run.Status, run.Lifecycle, run.StartedAt = RunStatus(status), Lifecycle(life), start.t
			if end.valid {
				run.EndedAt = &end.t
			}
			run.Params = map[string]string{}
			if params != "" && params != "{}" {
				if err := json.Unmarshal([]byte(params), &run.Params); err != nil {
					return fmt.Errorf("registry: run %s parameters: %w", run.ID, err)
				}
			}
			run.Tags, run.Metrics = map[string]string{}, []MetricSummary{}
			*dst = run
			read++
			return nil
		})
	if err != nil {
		return dbErr(err, "runs")
	}
	if read != len(ids) {
		return fmt.Errorf("registry: run search: %d of %d runs read", read, len(ids))
	}
	err = scanRows(db.Model(&runTag{}).Select("run_id, tag_key, tag_value").Where("run_id IN ?", ids), func(rows *sql.Rows) error {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return err
		}
		if run := at[id]; run != nil {
			run.Tags[k] = v
		}
		return nil
	})
	if err != nil {
		return dbErr(err, "run tags")
	}
	err = scanRows(db.Model(&metricSeries{}).Select("run_id, metric_key, point_count, last_step, "+timeColumn(db, "last_timestamp")+
		", last_value, min_value, max_value").Where("run_id IN ?", ids), func(rows *sql.Rows) error {
		var (
			id string
			m  MetricSummary
			ts scanTime
		)
		if err := rows.Scan(&id, &m.Key, &m.Count, &m.LastStep, &ts, &m.LastValue, &m.Min, &m.Max); err != nil {
			return err
		}
		m.LastTimestamp = ts.t
		if run := at[id]; run != nil {
			run.Metrics = append(run.Metrics, m)
		}
		return nil
	})
	if err != nil {
		return dbErr(err, "run metrics")
	}
	// By key, sorted here: the statement reads the series from
	// ix_metric_series_latest alone, by run, where an ORDER BY would
	// sort them all.
	for _, id := range ids {
		ms := at[id].Metrics
		slices.SortFunc(ms, func(a, b MetricSummary) int { return strings.Compare(a.Key, b.Key) })
	}
	return nil
}

// scanRows runs a query and calls each for each of its rows.
func scanRows(q *gorm.DB, each func(*sql.Rows) error) error {
	rows, err := q.Rows()
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// sqliteMillisWidth is the length of a SQLite time text with at most
// three digits of fraction: "2006-01-02 15:04:05.000+00:00".
const sqliteMillisWidth = 29

// runQueryBuilder renders a RunQuery's conditions and sort keys: a LEFT
// JOIN per metric or tag key (the tenancy plugin adds the tenant to each
// ON clause), the parameters read from the runs' JSON column.
type runQueryBuilder struct {
	pg    bool
	from  []clause.Join
	joins map[string]string // kind and key -> alias
	// present are the keys a condition requires: a run without one is
	// not in the answer, so they sort without a "missing last" term.
	present map[string]bool
	// wholeMillis are the time columns (of SQLite) whose scanned values
	// are all whole milliseconds.
	wholeMillis map[string]bool
}

// falseExpr matches no row.
var falseExpr = clause.Expr{SQL: "1 = 0"}

// join returns the alias of the join of a metric or tag key.
func (b *runQueryBuilder) join(kind RunKeyKind, key string) string {
	id := keyID(kind, key)
	if a, ok := b.joins[id]; ok {
		return a
	}
	table, col, prefix := "metric_series", "metric_key", "m"
	if kind == RunTag {
		table, col, prefix = "run_tags", "tag_key", "t"
	}
	alias := fmt.Sprintf("%s%d", prefix, len(b.from))
	b.joins[id] = alias
	b.from = append(b.from, clause.Join{
		Type:  clause.LeftJoin,
		Table: clause.Table{Name: table, Alias: alias},
		ON: clause.Where{Exprs: []clause.Expression{clause.Expr{
			SQL: alias + ".run_id = runs.id AND " + alias + "." + col + " = ?", Vars: []any{key}}}},
	})
	return alias
}

func keyID(kind RunKeyKind, key string) string { return fmt.Sprint(int(kind), "\x00", key) }

// storable reports whether s can be a stored key or text: UTF-8 without
// NUL (what every write validates), which PostgreSQL also needs of a
// bound text.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// keyExpr is how a query reads one key of a run.
type keyExpr struct {
	expr     clause.Expr // the value, to compare
	sort     clause.Expr // what orders as the value does (expr when unset)
	text     bool        // text, else a number
	nullable bool        // a run may lack it
	ok       bool        // a stored run may have the key
}

// value returns how to read a key.
func (b *runQueryBuilder) value(kind RunKeyKind, key string) (keyExpr, error) {
	switch kind {
	case RunMetric, RunTag, RunParam:
		k := keyExpr{text: kind != RunMetric, nullable: true, ok: keyRE.MatchString(key)}
		switch {
		case !k.ok:
		case kind == RunMetric:
			k.expr = clause.Expr{SQL: b.join(kind, key) + ".last_value"}
		case kind == RunTag:
			k.expr = clause.Expr{SQL: b.join(kind, key) + ".tag_value"}
		case b.pg:
			k.expr = clause.Expr{SQL: "(CAST(runs.params AS jsonb) ->> CAST(? AS text))", Vars: []any{key}}
		default:
			// keyRE admits no quote or backslash: the key quotes as is.
			k.expr = clause.Expr{SQL: "json_extract(runs.params, ?)", Vars: []any{`$."` + key + `"`}}
		}
		return k, nil
	case RunAttribute:
		col := map[string]string{AttrRunID: "runs.id", AttrRunName: "runs.name", AttrStatus: "runs.status", AttrUserID: "runs.user_id"}[key]
		if col != "" {
			return keyExpr{expr: clause.Expr{SQL: col}, text: true, ok: true}, nil
		}
		switch key {
		case AttrStartTime:
			return keyExpr{expr: b.millis("runs.started_at"), sort: b.millisOrder("runs.started_at"), ok: true}, nil
		case AttrEndTime:
			return keyExpr{expr: b.millis("runs.ended_at"), sort: b.millisOrder("runs.ended_at"), nullable: true, ok: true}, nil
		}
	}
	return keyExpr{}, invalid("filter", "cannot search runs by %q", key)
}

// millis is the expression of a time column's whole milliseconds since
// the epoch, rounded down (NULL for NULL). SQLite keeps times as text in
// the driver's layout "2006-01-02 15:04:05.999999999-07:00", UTC: whole
// seconds from the first 19 characters, milliseconds from the first three
// digits of the fraction (its own date functions round to the nearest
// millisecond instead).
func (b *runQueryBuilder) millis(col string) clause.Expr {
	if b.pg {
		return clause.Expr{SQL: "floor(extract(epoch FROM " + col + ") * 1000)"}
	}
	return clause.Expr{SQL: "(CAST(strftime('%s', substr(" + col + ", 1, 19)) AS INTEGER) * 1000 + CAST(" + sqliteMillisPart(col) + " AS INTEGER))"}
}

// sqliteMillisPart is the first three digits of a SQLite time's fraction
// of a second, "000" without one.
func sqliteMillisPart(col string) string {
	return "CASE WHEN substr(" + col + ", 20, 1) = '.' THEN substr(substr(" + col + ", 21, instr(" + col + ", '+') - 21) || '000', 1, 3) ELSE '000' END"
}

// millisOrder orders a time column as millis does, more cheaply: the time
// truncated to the millisecond (on SQLite, its text so truncated, which
// orders as the time: fixed width, UTC).
func (b *runQueryBuilder) millisOrder(col string) clause.Expr {
	switch {
	case b.pg:
		return clause.Expr{SQL: "date_trunc('milliseconds', " + col + ")"}
	case b.wholeMillis[col]:
		return clause.Expr{SQL: col}
	}
	return clause.Expr{SQL: "(substr(" + col + ", 1, 19) || " + sqliteMillisPart(col) + ")"}
}

// conditions renders the conditions, one expression each.
func (b *runQueryBuilder) conditions(cs []RunCondition) ([]clause.Expression, error) {
	out := make([]clause.Expression, 0, len(cs))
	for _, c := range cs {
		k, err := b.value(c.Kind, c.Key)
		if err != nil {
			return nil, err
		}
		if !k.ok {
			out = append(out, falseExpr) // no run has the key
			continue
		}
		e := k.expr
		b.present[keyID(c.Kind, c.Key)] = true
		switch {
		case c.Op == OpIn || c.Op == OpNotIn:
			if c.Kind != RunAttribute || c.Key != AttrRunID {
				return nil, invalid("filter", "IN takes the run id only")
			}
			list := make([]string, 0, len(c.List))
			for _, s := range c.List {
				if storable(s) {
					list = append(list, s)
				}
			}
			switch {
			case len(list) == 0 && c.Op == OpIn:
				out = append(out, falseExpr)
			case len(list) > 0:
				not := ""
				if c.Op == OpNotIn {
					not = "NOT "
				}
				out = append(out, clause.Expr{SQL: e.SQL + " " + not + "IN ?", Vars: append(append([]any{}, e.Vars...), list)})
			}
		case k.text:
			if c.Op != OpEqual && c.Op != OpNotEqual {
				return nil, invalid("filter", "text compares with = or != only")
			}
			if !storable(c.Text) {
				// No stored text equals it: = holds for no run, != for
				// every run that has the key.
				if c.Op == OpEqual {
					out = append(out, falseExpr)
				} else {
					out = append(out, clause.Expr{SQL: e.SQL + " IS NOT NULL", Vars: e.Vars})
				}
				continue
			}
			op := "="
			if c.Op == OpNotEqual {
				op = "<>"
			}
			out = append(out, clause.Expr{SQL: e.SQL + " " + op + " ?", Vars: append(append([]any{}, e.Vars...), c.Text)})
		default:
			if !finite(c.Number) {
				return nil, invalid("filter", "must compare with a finite number")
			}
			op := c.Op
			switch op {
			case OpEqual, OpLess, OpLessEqual, OpGreater, OpGreaterEqual:
			case OpNotEqual:
				op = "<>"
			default:
				return nil, invalid("filter", "unknown operator %q", c.Op)
			}
			// Stored metrics are finite (LogMetrics refuses others), so
			// SQL's comparison is the tracking API's.
			out = append(out, clause.Expr{SQL: e.SQL + " " + op + " ?", Vars: append(append([]any{}, e.Vars...), c.Number)})
		}
	}
	return out, nil
}

// orders renders the sort keys as one ORDER BY expression: per key,
// "missing last" and then the value, and last the run id.
func (b *runQueryBuilder) orders(keys []RunSortKey) (clause.Expr, error) {
	var (
		parts []string
		vars  []any
	)
	collate := func(sql string) string {
		if b.pg {
			return "(" + sql + `) COLLATE "C"`
		}
		return sql
	}
	for _, k := range keys {
		ke, err := b.value(k.Kind, k.Key)
		if err != nil {
			return clause.Expr{}, err
		}
		if !ke.ok {
			continue // no run has the key: every run ties
		}
		e := ke.expr
		if ke.nullable && !b.present[keyID(k.Kind, k.Key)] {
			parts = append(parts, "("+e.SQL+") IS NULL")
			vars = append(vars, e.Vars...)
		}
		if ke.sort.SQL != "" {
			e = ke.sort
		}
		v := e.SQL
		if k.Kind == RunAttribute && k.Key == AttrRunID {
			v = b.runIDOrder()
		}
		if ke.text {
			v = collate(v)
		}
		if k.Desc {
			v += " DESC"
		}
		parts = append(parts, v)
		vars = append(vars, e.Vars...)
		if k.Kind == RunAttribute && k.Key == AttrRunID {
			// Run ids are unique: no key after one orders anything.
			return clause.Expr{SQL: strings.Join(parts, ", "), Vars: vars}, nil
		}
	}
	parts = append(parts, collate(b.runIDOrder()))
	return clause.Expr{SQL: strings.Join(parts, ", "), Vars: vars}, nil
}

// runIDOrder is the run id as a sort key. On SQLite it is "+runs.id",
// which no index can deliver: ordered by the id alone, SQLite, planning
// without statistics, would otherwise walk every run of the tenant by its
// primary key and stop at the page's end, instead of reading the searched
// experiments' runs and sorting them, so a search would cost as much as
// the tenant's runs, not its own.
func (b *runQueryBuilder) runIDOrder() string {
	if b.pg {
		return "runs.id"
	}
	return "+runs.id"
}

// fixJoinOrder makes the joins of keys a condition requires CROSS JOINs
// on SQLite. SQLite turns a LEFT JOIN whose row a WHERE term requires
// into an inner join, which, planning without statistics, it may order
// with the metric's (or tag's) table outside: walking every series (or
// tag) of the tenant and looking each run up, instead of walking the
// searched experiments' runs and looking their series up, so a search
// would cost as much as the tenant's data, not as its own runs
// (MaxTrackingScan). A CROSS JOIN is the same inner join, which SQLite
// never reorders. The joins of keys only ordered on stay LEFT JOINs.
// TestQueryTrackedRunsPlanBoundedByRuns checks the plans.
func (b *runQueryBuilder) fixJoinOrder() {
	if b.pg {
		return
	}
	for id, alias := range b.joins {
		if !b.present[id] {
			continue
		}
		for i := range b.from {
			if b.from[i].Table.Alias == alias {
				b.from[i].Type = clause.JoinType("CROSS")
			}
		}
	}
}

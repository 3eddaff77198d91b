package mlflowapi

import (
	"context"

	"github.com/maestro-ml/maestro/registry"
)

// A run search is answered by the database when it can be: the clauses
// and order_by terms that registry.RunQuery expresses with the same
// meaning as matches and sortEntities are pushed down, and only the page's
// runs are read. The rest stay here.

// wireStatuses maps MLflow's run status names to the registry's.
var wireStatuses = func() map[string]registry.RunStatus {
	m := make(map[string]registry.RunStatus, len(statusNames))
	for st, name := range statusNames {
		m[name] = st
	}
	return m
}()

// pushAttrs are the run attributes the registry filters and sorts on
// under the same names (artifact_uri, derived here, is not one).
var pushAttrs = map[string]bool{
	registry.AttrRunID: true, registry.AttrRunName: true, registry.AttrStatus: true,
	registry.AttrUserID: true, registry.AttrStartTime: true, registry.AttrEndTime: true,
}

var registryKinds = map[int]registry.RunKeyKind{
	kindAttr: registry.RunAttribute, kindMetric: registry.RunMetric,
	kindParam: registry.RunParam, kindTag: registry.RunTag,
}

// pushCondition returns the registry condition that means what c means
// for runs, or false when there is none (LIKE, ILIKE, artifact_uri, a
// status MLflow does not name).
func pushCondition(c clause) (registry.RunCondition, bool) {
	rc := registry.RunCondition{Kind: registryKinds[c.kind], Key: c.key, Op: c.op, Number: c.num, Text: c.str, List: c.list}
	switch c.kind {
	case kindMetric:
		return rc, true
	case kindParam, kindTag:
		return rc, c.op == "=" || c.op == "!="
	}
	if !pushAttrs[c.key] {
		return rc, false
	}
	if c.key == registry.AttrStatus {
		st, ok := wireStatuses[c.str]
		rc.Text = string(st)
		return rc, ok && (c.op == "=" || c.op == "!=")
	}
	return rc, c.op != "LIKE" && c.op != "ILIKE"
}

// pushOrder returns the registry sort key of o, or false when there is
// none.
func pushOrder(o order) (registry.RunSortKey, bool) {
	return registry.RunSortKey{Kind: registryKinds[o.kind], Key: o.key, Desc: o.desc}, o.kind != kindAttr || pushAttrs[o.key]
}

// runQuery is a search split into what the database answers and the
// clauses left to evaluate here.
type runQuery struct {
	q        registry.RunQuery
	residual []clause
}

// planRunSearch splits a run search (orders with their tie-breakers); it
// reports false when the database cannot order it, or would need too
// many joins.
func planRunSearch(ids []string, stages []registry.Lifecycle, clauses []clause, orders []order) (runQuery, bool) {
	p := runQuery{q: registry.RunQuery{ExperimentIDs: ids, Stages: stages}}
	keys := map[[2]any]bool{}
	for _, o := range orders {
		k, ok := pushOrder(o)
		if !ok {
			return p, false
		}
		if o.kind == kindMetric || o.kind == kindTag {
			keys[[2]any{o.kind, o.key}] = true
		}
		p.q.OrderBy = append(p.q.OrderBy, k)
	}
	for _, c := range clauses {
		rc, ok := pushCondition(c)
		if !ok {
			p.residual = append(p.residual, c)
			continue
		}
		if c.kind == kindMetric || c.kind == kindTag {
			keys[[2]any{c.kind, c.key}] = true
		}
		p.q.Where = append(p.q.Where, rc)
	}
	return p, len(keys) <= registry.MaxRunQueryKeys
}

// queryRuns answers a planned search: the page at offset of limit runs
// and whether more follow. With residual clauses the database narrows
// and orders the runs, and the clauses and the page are applied here.
func queryRuns(ctx context.Context, reg *registry.Registry, p runQuery, offset, limit int) ([]wireRun, bool, error) {
	if len(p.residual) == 0 {
		p.q.Offset, p.q.Limit = offset, limit
	}
	page, err := reg.QueryTrackedRuns(ctx, p.q)
	if err != nil {
		return nil, false, err
	}
	out := make([]wireRun, 0, min(len(page.Runs), limit))
	if len(p.residual) == 0 {
		for i := range page.Runs {
			out = append(out, toWireRun(&page.Runs[i], nil))
		}
		return out, page.More, nil
	}
	skipped := 0
	for i := range page.Runs {
		e := runEntity(&page.Runs[i])
		if !matches(e, p.residual) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, e.wire.(wireRun))
	}
	return out, false, nil
}

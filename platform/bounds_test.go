package platform

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
)

// countingEmbedder counts the texts the server asks it to embed.
type countingEmbedder struct {
	similarity.Embedder
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// lines returns n distinct items of at least size bytes, prefixed by what.
func lines(what string, n, size int) []string {
	out := make([]string, n)
	for i := range out {
		s := fmt.Sprintf("%s %d about report %d", what, i, i%13)
		if len(s) < size {
			s += strings.Repeat("x", size-len(s))
		}
		out[i] = s
	}
	return out
}

// boundCase is one request beyond a bound: the status and the field the
// problem must name ("" when the bound is a query parameter answered 400).
type boundCase struct {
	name           string
	method, path   string
	body           any
	status         int
	field          string
	contentLimited bool // the artifact content limit is lowered to 1 KiB
}

// TestBoundedWork is the table of every input whose work grows with its
// size (security review finding 8): each request just beyond its bound is
// refused with 413 or 422 naming the field (400 for a query's limit)
// before any work — the embedder is not called once, and nothing is
// stored — while the same request at the bound is served.
func TestBoundedWork(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, err := similarity.NewHashingEmbedder(64)
			if err != nil {
				t.Fatal(err)
			}
			emb := &countingEmbedder{Embedder: h}
			e := newRegEnv(t, open(t), testServerOptions{opts: []Option{WithEmbedder(emb)}})
			testBoundedWork(t, e, emb)
		})
	}
}

func testBoundedWork(t *testing.T, e *regEnv, emb *countingEmbedder) {
	const maxSection, maxItem = registry.MaxSpecSectionItems, registry.MaxSpecItemBytes
	// A project with 500 stories and a requirement: a new spec of 500
	// stories and a requirement is one pair beyond similarity.MaxOverlapPairs.
	big := map[string]any{"name": "Big", "problem_class": "classification", "complexity_score": 5, "team_size": 3,
		"spec": map[string]any{"user_stories": lines("stored story", maxSection, 0),
			"functional_requirements": []string{"stored requirement"}}}
	pid := e.create(t, "/api/v1/projects", e.member, big)
	eid := e.create(t, "/api/v1/projects/"+pid+"/experiments", e.member, map[string]any{"name": "exp"})
	rid := e.create(t, "/api/v1/experiments/"+eid+"/runs", e.member, map[string]any{"name": "run"})
	aid := e.create(t, "/api/v1/artifacts", e.member, map[string]any{"name": "a", "type": "dataset", "version": "1"})
	expect(t, e.do("POST", "/api/v1/runs/"+rid+"/metrics", e.member, []map[string]any{{"key": "loss", "value": 1, "step": 0}}), 204)
	// Index everything pending, then count from zero.
	expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer, map[string]any{"text": "report"}), 200)
	emb.texts.Store(0)

	spec := func(section string, items any) map[string]any { return map[string]any{section: items} }
	points := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"key": "loss", "value": 1, "step": i + 1}
		}
		return out
	}
	procs := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"metric_type": "commits_per_week", "value": 1}
		}
		return out
	}
	adHoc := func(extra map[string]any) map[string]any {
		b := map[string]any{"problem_class": "classification", "complexity_score": 5, "team_size": 3}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	newProject := func(s map[string]any) map[string]any {
		return map[string]any{"name": "New", "problem_class": "classification", "complexity_score": 5, "team_size": 3, "spec": s}
	}
	metricsMap := func(n int) map[string]float64 {
		m := map[string]float64{}
		for i := range n {
			m[fmt.Sprintf("metric_%d", i)] = 1
		}
		return m
	}
	project := "/api/v1/projects/" + pid
	cases := []boundCase{
		{"project: stories per section", "POST", "/api/v1/projects", newProject(spec("user_stories", lines("s", maxSection+1, 0))), 422, "spec.user_stories", false},
		{"project: endpoints per section", "POST", "/api/v1/projects", newProject(spec("api_endpoints", func() []map[string]string {
			out := make([]map[string]string, maxSection+1)
			for i := range out {
				out[i] = map[string]string{"method": "GET", "path": fmt.Sprintf("/r/%d", i)}
			}
			return out
		}())), 422, "spec.api_endpoints", false},
		{"project: item bytes", "POST", "/api/v1/projects", newProject(spec("functional_requirements", []string{"ok", strings.Repeat("r", maxItem+1)})), 422, "spec.functional_requirements[1]", false},
		{"project: items in all", "POST", "/api/v1/projects", newProject(map[string]any{"user_stories": lines("s", maxSection, 0),
			"functional_requirements": lines("f", maxSection, 0), "non_functional_requirements": []string{"one more"}}), 422, "spec", false},
		{"project: fields per data model", "POST", "/api/v1/projects", newProject(spec("data_models", []map[string]any{{"entity": "E", "fields": lines("f", registry.MaxDataModelFields+1, 0)}})), 422, "spec.data_models[0].fields", false},
		{"project update: spec", "PATCH", project, map[string]any{"spec": spec("non_functional_requirements", lines("n", maxSection+1, 0))}, 422, "spec.non_functional_requirements", false},
		{"similar: spec", "POST", "/api/v1/specs/similar", map[string]any{"spec": spec("user_stories", lines("s", maxSection+1, 0))}, 422, "spec.user_stories", false},
		{"similar: text", "POST", "/api/v1/specs/similar", map[string]any{"text": strings.Repeat("t", MaxSimilarTextBytes+1)}, 422, "text", false},
		{"similar: limit", "POST", "/api/v1/specs/similar", map[string]any{"text": "t", "limit": similarity.MaxResults + 1}, 422, "limit", false},
		{"similar of a project: limit", "GET", project + "/similar?limit=1001", nil, 400, "", false},
		{"overlap: spec", "POST", "/api/v1/specs/overlap", map[string]any{"project_id": pid, "spec": spec("user_stories", lines("s", maxSection+1, 0))}, 422, "spec.user_stories", false},
		{"overlap: item bytes", "POST", "/api/v1/specs/overlap", map[string]any{"project_id": pid, "spec": spec("user_stories", []string{strings.Repeat("s", maxItem+1)})}, 422, "spec.user_stories[0]", false},
		{"overlap: pairs", "POST", "/api/v1/specs/overlap", map[string]any{"project_id": pid, "spec": map[string]any{
			"user_stories": lines("s", maxSection, 0), "functional_requirements": []string{"one requirement"}}}, 413, "spec", false},
		{"recommendation: spec", "POST", "/api/v1/recommendations", adHoc(map[string]any{"spec": spec("user_stories", lines("s", maxSection+1, 0))}), 422, "spec.user_stories", false},
		{"recommendation: description", "POST", "/api/v1/recommendations", adHoc(map[string]any{"description": strings.Repeat("d", MaxSimilarTextBytes+1)}), 422, "description", false},
		{"recommendation: team", "POST", "/api/v1/recommendations", adHoc(map[string]any{"team": make([]map[string]string, MaxRecommendTeam+1)}), 422, "team", false},
		{"recommendation: team member role", "POST", "/api/v1/recommendations", adHoc(map[string]any{"team": []map[string]string{{"role": strings.Repeat("r", MaxRecommendFieldBytes+1)}}}), 422, "team[0]", false},
		{"recommendation: artifacts", "POST", "/api/v1/recommendations", adHoc(map[string]any{"artifact_ids": lines("a", MaxRecommendArtifacts+1, 0)}), 422, "artifact_ids", false},
		{"recommendation: process metrics", "POST", "/api/v1/recommendations", adHoc(map[string]any{"process_metrics": metricsMap(MaxRecommendProcessMetrics + 1)}), 422, "process_metrics", false},
		{"recommendation: process metric key", "POST", "/api/v1/recommendations", adHoc(map[string]any{"process_metrics": map[string]float64{strings.Repeat("k", MaxRecommendFieldBytes+1): 1}}), 422, "process_metrics", false},
		{"metric batch", "POST", "/api/v1/runs/" + rid + "/metrics", points(registry.MaxMetricBatch + 1), 413, "(body)", false},
		{"process metric batch", "POST", project + "/process-metrics", procs(registry.MaxProcessMetricBatch + 1), 413, "(body)", false},
		{"metric history: max_points", "GET", "/api/v1/runs/" + rid + "/metrics/loss?max_points=" + fmt.Sprint(registry.MaxHistoryPoints+1), nil, 400, "max_points", false},
		{"list: limit", "GET", "/api/v1/projects?limit=" + fmt.Sprint(registry.MaxLimit+1), nil, 400, "", false},
		{"artifact content", "PUT", "/api/v1/artifacts/" + aid + "/content", bytes.Repeat([]byte("c"), 1025), 413, "", true},
	}
	unchanged := []string{"/api/v1/projects?limit=1000", project, project + "/process-metrics", "/api/v1/runs/" + rid + "/metrics",
		"/api/v1/artifacts/" + aid}
	before := make([]string, len(unchanged))
	for i, p := range unchanged {
		before[i] = e.snapshot(t, p)
	}
	for _, c := range cases {
		if c.contentLimited {
			e.s.reg.contentLimit.Store(1024)
		}
		r := e.do(c.method, c.path, e.member, c.body)
		e.s.reg.contentLimit.Store(maxArtifactContent)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d; body %.300s", c.name, r.status, c.status, r.body)
			continue
		}
		p := r.problem(t)
		if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
			t.Errorf("%s: problem %+v does not name %q first", c.name, p, c.field)
		}
		if n := emb.texts.Load(); n != 0 {
			t.Fatalf("%s: the refused request embedded %d texts", c.name, n)
		}
	}
	for i, p := range unchanged {
		if after := e.snapshot(t, p); after != before[i] {
			t.Errorf("refused requests changed %s:\nbefore %s\nafter  %s", p, before[i], after)
		}
	}

	// At the bounds the same requests are served (the batches at their
	// bound are the registry's tests).
	expect(t, e.do("POST", "/api/v1/specs/overlap", e.viewer, map[string]any{"project_id": pid,
		"spec": spec("user_stories", lines("s", maxSection, 0))}), http.StatusOK)
	expect(t, e.do("POST", "/api/v1/specs/overlap", e.viewer, map[string]any{"project_id": pid,
		"spec": spec("functional_requirements", []string{strings.Repeat("r", maxItem)})}), http.StatusOK)
	expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer, map[string]any{"text": strings.Repeat("t ", MaxSimilarTextBytes/2),
		"spec": spec("user_stories", lines("s", maxSection, 0))}), http.StatusOK)
	e.create(t, "/api/v1/projects", e.member, newProject(map[string]any{"user_stories": lines("s", maxSection, 0),
		"functional_requirements": lines("f", maxSection, 0)}))
}

// blockingOverlapEmbedder embeds at once, except a batch of at least
// blockAt texts (an overlap of the big spec), which waits for its context
// and records that it saw it end.
type blockingOverlapEmbedder struct {
	similarity.Embedder
	blockAt  int
	started  chan struct{}
	stopped  chan struct{}
	afterEnd atomic.Int64 // texts asked for after the blocked call ended
	ended    atomic.Bool
}

func (b *blockingOverlapEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if b.ended.Load() {
		b.afterEnd.Add(int64(len(texts)))
	}
	if len(texts) < b.blockAt {
		return b.Embedder.Embed(ctx, texts)
	}
	b.started <- struct{}{}
	<-ctx.Done()
	b.ended.Store(true)
	close(b.stopped)
	return nil, ctx.Err()
}

// TestOverlapStopsWhenTheClientGivesUp: a client that gives up on an
// overlap report ends the server's work on it — the embedding call sees
// its context end, and nothing more of the request is embedded (the
// comparisons after the embedding check the context too: see
// similarity's TestOverlapStopsWhenCancelled, which counts them).
func TestOverlapStopsWhenTheClientGivesUp(t *testing.T) {
	t.Parallel()
	h, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	emb := &blockingOverlapEmbedder{Embedder: h, blockAt: 2 * registry.MaxSpecSectionItems,
		started: make(chan struct{}, 1), stopped: make(chan struct{})}
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithEmbedder(emb)}})
	pid := e.create(t, "/api/v1/projects", e.member, map[string]any{"name": "Big", "problem_class": "classification",
		"complexity_score": 5, "team_size": 3, "spec": map[string]any{"user_stories": lines("stored story", registry.MaxSpecSectionItems, 0)}})
	expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer, map[string]any{"text": "report"}), 200)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := fmt.Sprintf(`{"project_id":%q,"spec":{"user_stories":[%s]}}`, pid,
		`"`+strings.Join(lines("story", registry.MaxSpecSectionItems, 0), `","`)+`"`)
	req, err := http.NewRequestWithContext(ctx, "POST", e.url+"/api/v1/specs/overlap", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.viewer)
	done := make(chan error, 1)
	go func() {
		res, err := e.client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	select {
	case <-emb.started:
	case <-time.After(20 * time.Second):
		t.Fatal("the overlap request never reached the embedder")
	}
	cancel() // the client gives up
	select {
	case <-emb.stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the server's work went on after the client gave up")
	}
	<-done
	// The server is free again, and the request asked for nothing more.
	expect(t, e.do("GET", "/api/v1/auth/me", e.viewer, nil), http.StatusOK)
	if n := emb.afterEnd.Load(); n != 0 {
		t.Fatalf("%d texts embedded for the request after its context ended", n)
	}
}

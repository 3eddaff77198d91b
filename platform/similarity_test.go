package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/similarity/minilm"
	"github.com/maestro-ml/maestro/similarity/staticembed"
	"gorm.io/gorm"
)

// matchJSON is one similarity result.
type matchJSON struct {
	ProjectID  string  `json:"project_id"`
	Name       string  `json:"name"`
	Similarity float64 `json:"similarity"`
}

// specProject is a project creation body with a spec.
func specProject(name, description string, stories, reqs []string) map[string]any {
	return map[string]any{"name": name, "problem_class": "classification", "complexity_score": 5, "team_size": 3,
		"description": description, "spec": map[string]any{"user_stories": stories, "functional_requirements": reqs}}
}

var (
	fraudA = specProject("Card fraud detection", "Detect fraudulent credit card transactions in real time",
		[]string{"As a risk analyst I review transactions flagged as fraudulent", "As a customer I am notified of a blocked card payment"},
		[]string{"Score every card transaction for fraud risk within 50 ms", "Store flagged transactions for analyst review"})
	fraudB = specProject("Payment fraud scoring", "Score payment transactions for fraud risk",
		[]string{"As a fraud analyst I see the riskiest payment transactions first"},
		[]string{"Score payment transactions for fraud risk", "Flag transactions above a risk threshold"})
	plants = specProject("Plant species recognition", "Classify photos of plants by species",
		[]string{"As a gardener I photograph a leaf and learn the plant species"},
		[]string{"Classify leaf images into 300 plant species", "Return the top three species with confidence"})
)

// similarOf returns the similar projects of id.
func similarOf(t *testing.T, e *regEnv, id string) []matchJSON {
	t.Helper()
	return items[matchJSON](t, e.do("GET", "/api/v1/projects/"+id+"/similar?limit=5", e.viewer, nil))
}

func ids(ms []matchJSON) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ProjectID
	}
	return out
}

func testSimilarity(t *testing.T, e *regEnv) {
	a := e.create(t, "/api/v1/projects", e.member, fraudA)
	b := e.create(t, "/api/v1/projects", e.member, fraudB)
	c := e.create(t, "/api/v1/projects", e.member, plants)

	ms := similarOf(t, e, a)
	if len(ms) == 0 || ms[0].ProjectID != b {
		t.Fatalf("similar to card fraud: %+v, want %s first", ms, b)
	}
	for i, m := range ms {
		if m.ProjectID == a {
			t.Fatalf("a project is similar to itself: %+v", ms)
		}
		if i > 0 && m.Similarity > ms[i-1].Similarity {
			t.Fatalf("not best first: %+v", ms)
		}
	}
	// A project created just now is found at once.
	d := e.create(t, "/api/v1/projects", e.member, specProject("Insurance claim fraud", "Detect fraudulent insurance claims",
		[]string{"As a claims analyst I review claims flagged as fraudulent transactions"},
		[]string{"Score every claim for fraud risk", "Store flagged claims for analyst review"}))
	if got := ids(similarOf(t, e, a)); !contains(got[:2], d) {
		t.Fatalf("a just-created fraud project is not among the top two similar: %v (d=%s)", got, d)
	}
	// An update moves it: rewritten as a plant project it ranks first for plants.
	expect(t, e.do("PATCH", "/api/v1/projects/"+d, e.member, map[string]any{"name": "Leaf species recognition",
		"description": "Classify leaf photos of plants by species",
		"spec":        map[string]any{"user_stories": []string{"As a gardener I photograph a plant leaf to learn its species"}}}), 200)
	if got := similarOf(t, e, c); got[0].ProjectID != d {
		t.Fatalf("after the update, similar to plants: %+v, want %s first", got, d)
	}
	// A deleted project is gone at once.
	expect(t, e.do("DELETE", "/api/v1/projects/"+b, e.member, nil), 204)
	if got := ids(similarOf(t, e, a)); contains(got, b) {
		t.Fatalf("a deleted project is still similar: %v", got)
	}
	if got := items[matchJSON](t, e.do("GET", "/api/v1/projects/"+a+"/similar?limit=1", e.viewer, nil)); len(got) != 1 {
		t.Fatalf("limit=1 gave %d", len(got))
	}
	for _, q := range []string{"limit=0", "limit=abc", "limit=1001"} {
		expect(t, e.do("GET", "/api/v1/projects/"+a+"/similar?"+q, e.viewer, nil), 400).problem(t)
	}
	expect(t, e.do("GET", "/api/v1/projects/00000000-0000-0000-0000-000000000000/similar", e.viewer, nil), 404).problem(t)

	// Free text and specs.
	var res struct {
		Items      []matchJSON `json:"items"`
		NextCursor *string     `json:"next_cursor"`
	}
	expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer, map[string]any{"text": "fraudulent card transactions", "limit": 2}), 200).json(t, &res)
	if len(res.Items) != 2 || res.Items[0].ProjectID != a {
		t.Fatalf("text search: %+v", res.Items)
	}
	expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer, map[string]any{"spec": map[string]any{
		"functional_requirements": []string{"Classify plant images by species"}}}), 200).json(t, &res)
	if len(res.Items) == 0 || (res.Items[0].ProjectID != c && res.Items[0].ProjectID != d) {
		t.Fatalf("spec search: %+v", res.Items)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "spec"},
		{map[string]any{"spec": map[string]any{}}, "spec"},
		{map[string]any{"text": "x", "limit": 0}, "limit"},
		{map[string]any{"text": "x", "limit": 5000}, "limit"},
		{map[string]any{"text": strings.Repeat("x", MaxSimilarTextBytes+1)}, "text"},
		{map[string]any{"text": "x", "spec": map[string]any{"stories": []string{"x"}}}, "stories"},
	} {
		p := expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer, c.body), 422).problem(t)
		if len(p.Errors) == 0 || !strings.HasSuffix(p.Errors[0].Field, c.field) {
			t.Fatalf("%v: %+v", c.body, p)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// overlapJSON is the body of an overlap report.
type overlapJSON struct {
	Overall  float64 `json:"overall"`
	Sections map[string]struct {
		Overlap  float64 `json:"overlap"`
		Reused   int     `json:"reused"`
		Modified int     `json:"modified"`
		New      int     `json:"new"`
		Items    []struct {
			Text   string `json:"text"`
			Status string `json:"status"`
		} `json:"items"`
	} `json:"sections"`
	ReuseStrategy        string  `json:"reuse_strategy"`
	EstimatedEffortHours float64 `json:"estimated_effort_hours"`
}

func testOverlap(t *testing.T, e *regEnv) {
	a := e.create(t, "/api/v1/projects", e.member, fraudA)
	spec := map[string]any{
		"user_stories": []string{"As a risk analyst I review transactions flagged as fraudulent",
			"As an auditor I export a monthly report of chargebacks"},
		"functional_requirements": []string{"Score every card transaction for fraud risk within 50 ms"},
		"api_endpoints":           []map[string]string{{"method": "POST", "path": "/score", "purpose": "score a transaction"}},
	}
	var rep overlapJSON
	expect(t, e.do("POST", "/api/v1/specs/overlap", e.viewer, map[string]any{"spec": spec, "project_id": a}), 200).json(t, &rep)
	stories, ok := rep.Sections["user_stories"]
	if !ok || len(stories.Items) != 2 || stories.Items[0].Status != "reused" || stories.Reused < 1 ||
		stories.Reused+stories.Modified+stories.New != 2 {
		t.Fatalf("user stories section %+v", stories)
	}
	if fr := rep.Sections["functional_requirements"]; fr.Reused != 1 {
		t.Fatalf("functional requirements %+v", fr)
	}
	if _, ok := rep.Sections["api_endpoints"]; !ok {
		t.Fatalf("sections %v", rep.Sections)
	}
	if rep.Overall <= 0 || rep.Overall > 1 || rep.EstimatedEffortHours <= 0 ||
		!contains([]string{"clone_and_customize", "clone_with_changes", "hybrid", "build_from_scratch"}, rep.ReuseStrategy) {
		t.Fatalf("overlap report %+v", rep)
	}
	for _, c := range []struct {
		body   any
		status int
	}{
		{map[string]any{"project_id": a}, 422},
		{map[string]any{"project_id": a, "spec": map[string]any{}}, 422},
		{map[string]any{"spec": spec}, 422},
		{map[string]any{"spec": spec, "project_id": "00000000-0000-0000-0000-000000000000"}, 404},
	} {
		expect(t, e.do("POST", "/api/v1/specs/overlap", e.viewer, c.body), c.status).problem(t)
	}
}

// fakeEmbeddings is an OpenAI-compatible /v1/embeddings server backed by
// the built-in embedder, which a test can take down and bring back.
type fakeEmbeddings struct {
	srv  *httptest.Server
	down atomic.Bool
	hits atomic.Int64
}

func newFakeEmbeddings(t *testing.T) *fakeEmbeddings {
	t.Helper()
	emb, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEmbeddings{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.down.Load() || r.URL.Path != "/v1/embeddings" {
			http.Error(w, `{"error":{"message":"unavailable"}}`, http.StatusServiceUnavailable)
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		vecs, err := emb.Embed(r.Context(), req.Input)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type datum struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		out := struct {
			Object string         `json:"object"`
			Data   []datum        `json:"data"`
			Model  string         `json:"model"`
			Usage  map[string]int `json:"usage"`
		}{Object: "list", Model: req.Model, Usage: map[string]int{"prompt_tokens": 1, "total_tokens": 1}}
		for i, v := range vecs {
			out.Data = append(out.Data, datum{Object: "embedding", Index: i, Embedding: v})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// TestSimilarityWithEmbeddingsServiceDown serves the platform with an
// OpenAI-compatible embeddings service that goes down: similarity answers
// 503 while everything else keeps working, and once the service is back
// the projects written meanwhile are found.
func TestSimilarityWithEmbeddingsServiceDown(t *testing.T) {
	t.Parallel()
	f := newFakeEmbeddings(t)
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{cfg: func(c *Config) {
		c.EmbeddingsURL = f.srv.URL + "/v1"
		c.EmbeddingsModel = "fake-hashing-64"
		c.EmbeddingsAPIKey = "test-key-not-secret"
	}})
	if _, ok := e.s.learn.emb.(*similarity.OpenAIEmbedder); !ok {
		t.Fatalf("MAESTRO_EMBEDDINGS_URL did not select the OpenAI-compatible embedder: %T", e.s.learn.emb)
	}
	a := e.create(t, "/api/v1/projects", e.member, fraudA)
	e.create(t, "/api/v1/projects", e.member, plants)
	if got := similarOf(t, e, a); len(got) != 1 || got[0].Name != "Plant species recognition" {
		t.Fatalf("similar with the service up: %+v", got)
	}
	if f.hits.Load() == 0 {
		t.Fatal("the embeddings service was not called")
	}

	seedHistory(t, e, e.member, 20)
	trainModel(t, e.testServer, e.member)

	f.down.Store(true)
	// Searching by a stored project needs no embedding: it still answers.
	var rec recommendationJSON
	expect(t, e.do("POST", "/api/v1/projects/"+a+"/recommendations", e.member, nil), 200).json(t, &rec)
	if rec.PredictionID == "" || len(rec.SimilarProjects) == 0 || len(rec.Warnings) != 0 {
		t.Fatalf("recommendation for a project with the embeddings service down: %+v", rec)
	}
	// A description must be embedded: the recommendation answers without
	// similar projects, and says so.
	rec = recommendationJSON{}
	expect(t, e.do("POST", "/api/v1/recommendations", e.viewer, map[string]any{"problem_class": "classification",
		"complexity_score": 4, "team_size": 3, "description": "card fraud"}), 200).json(t, &rec)
	if len(rec.SimilarProjects) != 0 || len(rec.Warnings) != 1 || rec.PredictedSuccessScore == 0 {
		t.Fatalf("ad-hoc recommendation with the embeddings service down: %+v", rec)
	}
	// Writes still work; the index catches up later.
	b := e.create(t, "/api/v1/projects", e.member, fraudB)
	expect(t, e.do("PATCH", "/api/v1/projects/"+a, e.member, map[string]any{"description": "Detect fraudulent card payments"}), 200)
	expect(t, e.do("GET", "/api/v1/projects/"+b, e.viewer, nil), 200)
	for _, c := range []statusCase{
		{"GET", "/api/v1/projects/" + a + "/similar", nil, 503},
		{"POST", "/api/v1/specs/similar", map[string]any{"text": "fraud"}, 503},
		{"POST", "/api/v1/specs/overlap", map[string]any{"project_id": a, "spec": map[string]any{"user_stories": []string{"x"}}}, 503},
	} {
		r := expect(t, e.do(c.method, c.path, e.viewer, c.body), c.status)
		if p := r.problem(t); p.Code != "embeddings_unavailable" || strings.Contains(string(r.body), "test-key") {
			t.Fatalf("%s: %+v", c, p)
		}
	}
	expect(t, e.do("GET", "/api/v1/projects?limit=10", e.viewer, nil), 200)
	expect(t, e.do("GET", "/health/live", "", nil), 200)

	// A project created and deleted during the outage leaves nothing behind.
	gone := e.create(t, "/api/v1/projects", e.member, specProject("Short-lived fraud idea", "fraud", nil, nil))
	expect(t, e.do("DELETE", "/api/v1/projects/"+gone, e.member, nil), 204)

	f.down.Store(false)
	got := similarOf(t, e, a)
	if len(got) == 0 || got[0].ProjectID != b || contains(ids(got), gone) {
		t.Fatalf("after the outage, similar to card fraud: %+v, want %s first", got, b)
	}

	// A project whose indexing failed and whose pending row is gone (it
	// was written around the index, or the row was lost) is indexed when
	// it is asked about.
	f.down.Store(true)
	late := e.create(t, "/api/v1/projects", e.member, fraudB)
	clearPending(t, e)
	f.down.Store(false)
	if got := similarOf(t, e, late); len(got) == 0 || got[0].ProjectID != b {
		t.Fatalf("similar to a project indexed on demand: %+v", got)
	}
	f.down.Store(true)
	late2 := e.create(t, "/api/v1/projects", e.member, fraudB)
	clearPending(t, e)
	f.down.Store(false)
	var rep overlapJSON
	expect(t, e.do("POST", "/api/v1/specs/overlap", e.viewer, map[string]any{"project_id": late2,
		"spec": map[string]any{"user_stories": []string{"As a fraud analyst I see the riskiest payment transactions first"}}}), 200).json(t, &rep)
	if rep.Sections["user_stories"].Reused != 1 {
		t.Fatalf("overlap with a project indexed on demand: %+v", rep)
	}
}

// clearPending deletes every pending row of the similarity index, across
// tenants (the test's database is SQLite), and fails unless there was one.
func clearPending(t *testing.T, e *regEnv) {
	t.Helper()
	res := e.s.db.Exec("DELETE FROM " + similarity.PendingTableName)
	if res.Error != nil || res.RowsAffected == 0 {
		t.Fatalf("clear pending rows: %d deleted, %v", res.RowsAffected, res.Error)
	}
}

// TestEmbedderConfiguration checks the choice of embedder.
func TestEmbedderConfiguration(t *testing.T) {
	t.Parallel()
	emb, err := newEmbedder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := emb.(*minilm.Embedder); !ok || emb.Model() != "all-MiniLM-L6-v2" {
		t.Fatalf("default embedder %T (%s), want the built-in all-MiniLM-L6-v2", emb, emb.Model())
	}
	if emb, err := newEmbedder(Config{Embedder: EmbedderStatic}); err != nil || emb.Model() != staticembed.ModelName {
		t.Fatalf("static embedder: %v, %v", emb, err)
	}
	home := t.TempDir()
	for v, want := range map[string]string{"": "", "minilm": EmbedderMiniLM, "static": EmbedderStatic} {
		cfg, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home, envEmbedder: v}))
		if err != nil || cfg.Embedder != want {
			t.Errorf("%s=%q: %q, %v", envEmbedder, v, cfg.Embedder, err)
		}
	}
	if _, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home, envEmbedder: "bert"})); err == nil {
		t.Errorf("%s=bert accepted", envEmbedder)
	}
	for _, bad := range []string{"MiniLM", "openai", "none"} {
		c := Config{Embedder: bad}
		if err := c.check(); err == nil || !strings.Contains(err.Error(), envEmbedder) {
			t.Errorf("embedder %q: %v", bad, err)
		}
	}
	if _, err := newEmbedder(Config{EmbeddingsURL: "http://127.0.0.1:1/v1"}); err == nil ||
		!strings.Contains(err.Error(), envEmbeddingsModel) {
		t.Fatalf("URL without model: %v", err)
	}
	if _, err := newEmbedder(Config{EmbeddingsURL: "ftp://x", EmbeddingsModel: "m"}); err == nil {
		t.Fatal("an ftp URL was accepted")
	}
}

// TestDefaultEmbedderServes serves the platform on its default embedder,
// all-MiniLM-L6-v2 in the process: a project that solves the same problem
// in other words ranks first, and scores are on the calibrated scale.
func TestDefaultEmbedderServes(t *testing.T) {
	t.Parallel()
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{cfg: func(c *Config) { c.Embedder = "" }})
	a := e.create(t, "/api/v1/projects", e.member, fraudA)
	b := e.create(t, "/api/v1/projects", e.member, fraudB)
	e.create(t, "/api/v1/projects", e.member, plants)
	got := similarOf(t, e, a)
	if len(got) != 2 || got[0].ProjectID != b || got[0].Similarity < 0.5 || got[1].Similarity > got[0].Similarity-0.2 {
		t.Fatalf("similar to card fraud: %+v, want %s first, well ahead", got, b)
	}
}

// TestSimilarityWithNeuralEmbeddings serves the platform with the real
// sentence-embedding model of the test environment
// (MAESTRO_TEST_EMBEDDINGS_URL): projects that solve the same problem in
// other words rank first.
func TestSimilarityWithNeuralEmbeddings(t *testing.T) {
	t.Parallel()
	url, model := testenv.Embeddings(t)
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{cfg: func(c *Config) {
		c.EmbeddingsURL = url
		c.EmbeddingsModel = model
	}})
	a := e.create(t, "/api/v1/projects", e.member, fraudA)
	b := e.create(t, "/api/v1/projects", e.member, fraudB)
	e.create(t, "/api/v1/projects", e.member, plants)
	if got := similarOf(t, e, a); len(got) != 2 || got[0].ProjectID != b {
		t.Fatalf("similar to card fraud: %+v, want %s first", got, b)
	}
	var res struct {
		Items []matchJSON `json:"items"`
	}
	expect(t, e.do("POST", "/api/v1/specs/similar", e.viewer,
		map[string]any{"text": "identify which flower or tree is in a picture"}), 200).json(t, &res)
	if len(res.Items) == 0 || res.Items[0].Name != "Plant species recognition" {
		t.Fatalf("paraphrase search: %+v", res.Items)
	}
}

// TestConcurrentUpdatesLeaveTheLatestEmbedding patches one project from
// many goroutines at once: whatever order the writes and their index
// updates interleave in, the index ends up with the version the registry
// holds.
//
// It runs on PostgreSQL and on SQLite opened as the server opens it
// (openDatabase: immediate transactions, so concurrent writers wait for
// the lock instead of failing as on testenv's SQLite).
func TestConcurrentUpdatesLeaveTheLatestEmbedding(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db, _, err := openDatabase("sqlite:"+filepath.Join(t.TempDir(), "c.db"), t.TempDir(), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = closeDB(db)() })
		testConcurrentUpdates(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testConcurrentUpdates(t, testenv.Postgres(t))
	})
}

func testConcurrentUpdates(t *testing.T, db *gorm.DB) {
	e := newRegEnv(t, db, testServerOptions{})
	fraud := e.create(t, "/api/v1/projects", e.member, fraudA)
	plant := e.create(t, "/api/v1/projects", e.member, plants)
	x := e.create(t, "/api/v1/projects", e.member, projectBody("Undecided", 3))
	versions := []map[string]any{
		{"description": fraudB["description"], "spec": fraudB["spec"]},
		{"description": "Classify leaf photos of plants by species",
			"spec": map[string]any{"user_stories": []string{"As a gardener I photograph a leaf and learn the plant species"}}},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(versions[i%2])
			req, _ := http.NewRequest("PATCH", e.url+"/api/v1/projects/"+x, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.member)
			res, err := e.client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Errorf("PATCH: %d", res.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var p projectJSON
	e.getJSON(t, "/api/v1/projects/"+x, e.viewer, &p)
	want := fraud
	if strings.Contains(p.Description, "leaf") {
		want = plant
	}
	if got := similarOf(t, e, x); got[0].ProjectID != want {
		t.Fatalf("the project now reads %q, but its nearest neighbour is %+v (want %s)", p.Description, got, want)
	}
}

// TestSimilarityOverMemoryBudget serves a tenant whose index alone exceeds
// the similarity memory budget: its searches answer 503
// similarity_memory_exceeded, naming the setting to raise and without a
// Retry-After (retrying cannot help), its recommendations answer without
// similar projects and say why, and a smaller tenant on the same server
// still searches.
func TestSimilarityOverMemoryBudget(t *testing.T) {
	t.Parallel()
	h, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	// One project of 64 dimensions accounts for about 400 bytes, a tenant
	// for 256 more: the budget holds one project, not twenty.
	e := newRegEnv(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithEmbedder(h), WithSimilarityMemory(1 << 10)}})
	small := e.create(t, "/api/v1/projects", e.other, fraudA)
	if got := items[matchJSON](t, e.do("GET", "/api/v1/projects/"+small+"/similar", e.other, nil)); len(got) != 0 {
		t.Fatalf("similar in a tenant of one project: %+v", got)
	}
	seedHistory(t, e, e.member, 20)
	trainModel(t, e.testServer, e.member)
	a := e.create(t, "/api/v1/projects", e.member, fraudB)
	for _, c := range []statusCase{
		{"GET", "/api/v1/projects/" + a + "/similar", nil, 503},
		{"POST", "/api/v1/specs/similar", map[string]any{"text": "fraud"}, 503},
	} {
		r := expect(t, e.do(c.method, c.path, e.viewer, c.body), c.status)
		p := r.problem(t)
		if p.Code != "similarity_memory_exceeded" || !strings.Contains(p.Detail, envSimilarityMemory) ||
			!strings.Contains(p.Detail, "budget of 1024 bytes") || r.header.Get("Retry-After") != "" {
			t.Fatalf("%s: %s, Retry-After %q", c, r.body, r.header.Get("Retry-After"))
		}
	}
	var rec recommendationJSON
	expect(t, e.do("POST", "/api/v1/projects/"+a+"/recommendations", e.member, nil), 200).json(t, &rec)
	if len(rec.SimilarProjects) != 0 || len(rec.Warnings) != 1 || !strings.Contains(rec.Warnings[0], "memory budget") {
		t.Fatalf("recommendation of a tenant over the budget: %+v", rec)
	}
	expect(t, e.do("GET", "/api/v1/projects/"+small+"/similar", e.other, nil), 200)
}

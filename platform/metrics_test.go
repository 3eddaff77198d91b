package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// scrape returns the metrics text served by h.
func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("scrape %s: %d %v", url, res.StatusCode, err)
	}
	return string(body)
}

// TestMetrics checks that requests are counted by route pattern (not by
// path), logins by outcome, the principal cache's hits, training jobs and
// embedding calls, and that metrics are served on their own listener only
// when MetricsAddr is set — never on the API's.
func TestMetrics(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{cfg: func(c *Config) { c.MetricsAddr = "127.0.0.1:0" }})
	root := ts.adminToken()
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "wrong-password-123"}), 401)
	for i := 0; i < 3; i++ {
		expect(t, ts.do("GET", "/api/v1/projects", root, nil), 200)
	}
	id := ts.do("POST", "/api/v1/projects", root, map[string]any{"name": "metered", "problem_class": "nlp", "complexity_score": 3, "team_size": 2})
	var proj struct{ ID string }
	expect(t, id, 201).json(t, &proj)
	expect(t, ts.do("GET", "/api/v1/projects/"+proj.ID, root, nil), 200)
	expect(t, ts.do("GET", "/api/v1/nothing-here", root, nil), 404)
	expect(t, ts.do("POST", "/api/v1/meta-models/train", root, nil), 409)
	expect(t, ts.do("GET", "/metrics", "", nil), 404) // not on the API listener

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.s.cfg.MetricsAddr = ln.Addr().String()
	_ = ln.Close() // Serve opens it again
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.s.Serve(ctx, api) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	url := "http://" + ts.s.cfg.MetricsAddr + "/metrics"
	var text string
	waitFor(t, 10*time.Second, "the metrics listener", func() bool {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	})
	text = scrape(t, url)
	for _, want := range []string{
		`maestro_http_requests_total{route="GET /api/v1/projects",status="200"} 3`,
		`maestro_http_requests_total{route="GET /api/v1/projects/{id}",status="200"} 1`,
		`maestro_http_requests_total{route="unmatched",status="404"}`,
		`maestro_logins_total{outcome="admitted"} 1`,
		`maestro_logins_total{outcome="rejected"} 1`,
		`maestro_logins_total{outcome="throttled"} 0`,
		`maestro_http_request_duration_seconds_bucket{route="GET /api/v1/projects",le=`,
		`maestro_cache_events_total{cache="principals",event="hit"}`,
		`maestro_training_jobs_total{event="started"} 0`,
		`maestro_embedding_calls_total{outcome="ok"}`,
		`go_sql_max_open_connections{db_name="maestro"}`,
		`maestro_principal_cache_entries`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, proj.ID) {
		t.Error("a resource id reached a metric label")
	}
	if hits := metricValue(t, text, `maestro_cache_events_total{cache="principals",event="hit"}`); hits < 2 {
		t.Errorf("principal cache hits %v, want the repeated requests served from memory", hits)
	}
}

// metricValue returns the value of the sample line that starts with name.
func metricValue(t *testing.T, text, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no sample %s", name)
	return 0
}

func TestMetricsAddrConfig(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	for addr, ok := range map[string]bool{"127.0.0.1:9090": true, ":9090": true, "nonsense": false, "127.0.0.1:": false} {
		cfg, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home, envMetricsAddr: addr}))
		if (err == nil) != ok {
			t.Errorf("%s=%q: %v", envMetricsAddr, addr, err)
		}
		if ok && cfg.MetricsAddr != addr {
			t.Errorf("MetricsAddr %q, want %q", cfg.MetricsAddr, addr)
		}
	}
}

func TestCacheConfig(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	for v, want := range map[string]int64{"": 0, "1048576": 1 << 20, "64MiB": 64 << 20, "2 GiB": 2 << 30, "512M": 512 << 20,
		"1KiB": -1, "lots": -1, "-5MiB": -1, "2048GiB": -1, "1.5GiB": -1} {
		cfg, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home, envSimilarityMemory: v}))
		switch {
		case want < 0 && err == nil:
			t.Errorf("%s=%q accepted as %d", envSimilarityMemory, v, cfg.SimilarityMemory)
		case want >= 0 && (err != nil || cfg.SimilarityMemory != want):
			t.Errorf("%s=%q: %d, %v; want %d", envSimilarityMemory, v, cfg.SimilarityMemory, err, want)
		}
	}
	for v, off := range map[string]bool{"": false, "on": false, "off": true, "OFF": true} {
		cfg, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home, envPrincipalCache: v}))
		if err != nil || cfg.NoPrincipalCache != off {
			t.Errorf("%s=%q: %v, %v", envPrincipalCache, v, cfg.NoPrincipalCache, err)
		}
	}
	if _, err := ConfigFromEnv(context.Background(), envOf(map[string]string{envHome: home, envPrincipalCache: "maybe"})); err == nil {
		t.Errorf("%s=maybe accepted", envPrincipalCache)
	}
	if _, err := New(context.Background(), testConfig(t), WithSimilarityMemory(100)); !errors.Is(err, ErrInvalid) {
		t.Errorf("WithSimilarityMemory(100): %v, want ErrInvalid", err)
	}
	// Off: repeated requests all read the database.
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{cfg: func(c *Config) { c.NoPrincipalCache = true }})
	root := ts.adminToken()
	for range 3 {
		expect(t, ts.do("GET", "/api/v1/projects", root, nil), 200)
	}
	if h := ts.s.principals.hits.Load(); h != 0 || ts.s.principals.len() != 0 {
		t.Errorf("principal cache off: %d hits, %d entries", h, ts.s.principals.len())
	}
}

// TestCacheMetrics checks the similarity index's and the meta-model
// cache's series and the query counter: two tenants searched in turn
// within a budget for one evict each other, and every eviction, load and
// hit is counted; the gauges never show more than the budget.
func TestCacheMetrics(t *testing.T) {
	t.Parallel()
	h, err := similarity.NewHashingEmbedder(64)
	if err != nil {
		t.Fatal(err)
	}
	// A tenant of two projects of 64 dimensions accounts for about 1 KB.
	const budget = 1600
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{opts: []Option{WithEmbedder(h), WithSimilarityMemory(budget)}})
	root := ts.adminToken()
	other := ts.createTenant(root, "metered-b")
	ts.addMember(root, other, "bob", "Quiet-Harbor-Lamp-2024!", "admin")
	bob := ts.login("bob", "Quiet-Harbor-Lamp-2024!", "metered-b").AccessToken
	first := map[string]string{}
	for who, tok := range map[string]string{"root": root, "bob": bob} {
		for i, name := range []string{"churn model", "fraud model"} {
			var p struct{ ID string }
			expect(t, ts.do("POST", "/api/v1/projects", tok, map[string]any{"name": name, "description": name + " for " + who,
				"problem_class": "nlp", "complexity_score": 3, "team_size": 2}), 201).json(t, &p)
			if i == 0 {
				first[who] = p.ID
			}
		}
	}
	metrics := httptest.NewServer(ts.s.MetricsHandler())
	defer metrics.Close()
	value := func(name string) float64 { return metricValue(t, scrape(t, metrics.URL), name) }
	before := map[string]float64{}
	for _, ev := range []string{"hit", "miss", "eviction"} {
		before[ev] = value(`maestro_cache_events_total{cache="similarity",event="` + ev + `"}`)
	}
	for range 2 {
		for _, who := range []string{"root", "bob"} {
			tok := map[string]string{"root": root, "bob": bob}[who]
			expect(t, ts.do("GET", "/api/v1/projects/"+first[who]+"/similar", tok, nil), 200)
			if b := value("maestro_similarity_index_bytes"); b <= 0 || b > budget {
				t.Errorf("index bytes %v, want within (0, %d]", b, budget)
			}
		}
	}
	// The same tenant twice: a hit.
	expect(t, ts.do("GET", "/api/v1/projects/"+first["bob"]+"/similar", bob, nil), 200)
	text := scrape(t, metrics.URL)
	for ev, want := range map[string]float64{"miss": 4, "eviction": 3, "hit": 1} {
		name := `maestro_cache_events_total{cache="similarity",event="` + ev + `"}`
		if got := metricValue(t, text, name) - before[ev]; got != want {
			t.Errorf("%s rose by %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]float64{
		"maestro_similarity_index_budget_bytes": budget,
		"maestro_similarity_index_tenants":      1,
		"maestro_similarity_index_vectors":      2,
	} {
		if got := metricValue(t, text, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for _, want := range []string{
		`maestro_cache_events_total{cache="metamodels",event="hit"} 0`,
		`maestro_cache_events_total{cache="metamodels",event="miss"} 0`,
		`maestro_cache_events_total{cache="metamodels",event="eviction"} 0`,
		`maestro_cache_events_total{cache="similarity",event="invalidation"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	q := metricValue(t, text, `maestro_db_queries_total`)
	expect(t, ts.do("GET", "/api/v1/projects", bob, nil), 200)
	if after := value(`maestro_db_queries_total`); after <= q {
		t.Errorf("a listing ran no counted query: %v then %v", q, after)
	}
}

// TestCountingLoggerKeepsValuesOut: counting statements keeps the server
// logger's ParameterizedQueries: a logged statement (here a failing one)
// shows its SQL without the values bound to it.
func TestCountingLoggerKeepsValuesOut(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	inner := logger.NewSlogLogger(slog.New(slog.NewTextHandler(&buf, nil)), logger.Config{LogLevel: logger.Warn, ParameterizedQueries: true})
	n := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_queries_total"})
	db := testenv.SQLite(t).Session(&gorm.Session{Logger: countingLogger{Interface: inner, n: n}})
	if err := db.Exec("SELECT * FROM no_such_table WHERE x = ?", "secret-value-1234").Error; err == nil {
		t.Fatal("the failing statement passed")
	}
	if !strings.Contains(buf.String(), "no_such_table") || strings.Contains(buf.String(), "secret-value-1234") {
		t.Fatalf("logged: %s", buf.String())
	}
}

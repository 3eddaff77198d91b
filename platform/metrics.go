package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/similarity"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (no global state: two Servers in one process do not share counters).
// MetricsHandler serves them; Serve does so on Config.MetricsAddr.
type metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec   // route, status
	latency       *prometheus.HistogramVec // route
	cache         *prometheus.CounterVec   // cache, event
	logins        *prometheus.CounterVec   // outcome
	jobs          *prometheus.CounterVec   // event
	jobsRunning   prometheus.Gauge
	embedCalls    *prometheus.CounterVec // outcome
	embedLatency  prometheus.Histogram
	embedTexts    prometheus.Counter
	principalSize prometheus.GaugeFunc
	dbQueries     prometheus.Counter

	similarity func(similarity.CacheEvent) // counts the similarity index's events
}

// The cache label values of maestro_cache_events_total.
const (
	principalsCache = "principals"
	similarityCache = "similarity"
	metaModelCache  = "metamodels"
)

// routeUnmatched is the route label of a request no route matched.
const routeUnmatched = "unmatched"

func newMetrics(s *Server) (*metrics, error) {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maestro_http_requests_total", Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "maestro_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maestro_cache_events_total", Help: "Cache hits, misses and invalidations by cache.",
		}, []string{"cache", "event"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maestro_logins_total", Help: "Login attempts by outcome: admitted, rejected (bad credentials), throttled, invalid, error.",
		}, []string{"outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maestro_training_jobs_total", Help: "Training jobs this replica ran, by event: started, succeeded, failed.",
		}, []string{"event"}),
		jobsRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "maestro_training_jobs_running", Help: "Training jobs this replica is running now.",
		}),
		embedCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maestro_embedding_calls_total", Help: "Calls to the embedder by outcome: ok, error.",
		}, []string{"outcome"}),
		embedLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "maestro_embedding_call_duration_seconds", Help: "Latency of calls to the embedder.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		embedTexts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "maestro_embedded_texts_total", Help: "Texts sent to the embedder.",
		}),
	}
	m.dbQueries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "maestro_db_queries_total", Help: "SQL statements the server ran on its database (transaction begin and commit not included).",
	})
	simStats := func(f func(similarity.CacheStats) float64) func() float64 {
		return func() float64 {
			if s.learn == nil || s.learn.sim == nil {
				return 0
			}
			return f(s.learn.sim.CacheStats())
		}
	}
	simGauges := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "maestro_similarity_index_bytes", Help: "Bytes the in-memory similarity index accounts for, all tenants (at most the budget).",
		}, simStats(func(st similarity.CacheStats) float64 { return float64(st.Bytes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "maestro_similarity_index_budget_bytes", Help: "The memory budget of the in-memory similarity index (MAESTRO_SIMILARITY_MEMORY).",
		}, simStats(func(st similarity.CacheStats) float64 { return float64(st.Budget) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "maestro_similarity_index_tenants", Help: "Tenants whose similarity index is held in memory.",
		}, simStats(func(st similarity.CacheStats) float64 { return float64(st.Tenants) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "maestro_similarity_index_vectors", Help: "Vectors the in-memory similarity index holds, all tenants.",
		}, simStats(func(st similarity.CacheStats) float64 { return float64(st.Vectors) })),
	}
	m.principalSize = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "maestro_principal_cache_entries", Help: "Entries in the principal cache (bounded).",
	}, func() float64 {
		if s.principals == nil {
			return 0
		}
		return float64(s.principals.len())
	})
	cs := []prometheus.Collector{m.requests, m.latency, m.cache, m.logins, m.jobs, m.jobsRunning,
		m.embedCalls, m.embedLatency, m.embedTexts, m.principalSize, m.dbQueries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	cs = append(cs, simGauges...)
	if sqlDB, err := s.db.DB(); err == nil {
		cs = append(cs, collectors.NewDBStatsCollector(sqlDB, "maestro"))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
	}
	// Every label combination a dashboard expects exists from the start.
	for cache, evs := range map[string][]string{
		principalsCache: {"hit", "miss", "invalidation"},
		similarityCache: {"hit", "miss", "eviction", "invalidation"},
		metaModelCache:  {"hit", "miss", "eviction"},
	} {
		for _, ev := range evs {
			m.cache.WithLabelValues(cache, ev)
		}
	}
	sim := m.cacheEvent(similarityCache)
	m.similarity = func(ev similarity.CacheEvent) { sim(string(ev)) }
	for _, o := range []string{"admitted", "rejected", "throttled"} {
		m.logins.WithLabelValues(o)
	}
	for _, ev := range []string{"started", "succeeded", "failed"} {
		m.jobs.WithLabelValues(ev)
	}
	return m, nil
}

// observeRequest records a served request under its route pattern (never
// its path: ids would make the label set unbounded). A login is also
// counted by outcome, read from its status.
func (m *metrics) observeRequest(route string, status int, took time.Duration) {
	if route == "" {
		route = routeUnmatched
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
	if route == loginRoute {
		m.logins.WithLabelValues(loginOutcome(status)).Inc()
	}
}

// loginRoute is the login route's pattern.
const loginRoute = "POST /api/v1/auth/login"

func loginOutcome(status int) string {
	switch {
	case status == http.StatusOK:
		return "admitted"
	case status == http.StatusUnauthorized:
		return "rejected"
	case status == http.StatusTooManyRequests:
		return "throttled"
	case status < 500:
		return "invalid"
	}
	return "error"
}

// observeJob counts a state change of a training job of this replica.
func (m *metrics) observeJob(_ string, j metalearn.Job) {
	switch j.Status {
	case metalearn.JobRunning:
		if j.Progress == 0 {
			m.jobs.WithLabelValues("started").Inc()
			m.jobsRunning.Inc()
		}
	case metalearn.JobSucceeded:
		m.jobs.WithLabelValues("succeeded").Inc()
		m.jobsRunning.Dec()
	case metalearn.JobFailed:
		m.jobs.WithLabelValues("failed").Inc()
		if j.StartedAt != nil {
			m.jobsRunning.Dec()
		}
	}
}

// cacheEvent returns a function counting events of cache name: hit,
// miss, eviction, invalidation (others are ignored, so that the label set
// stays bounded).
func (m *metrics) cacheEvent(name string) func(string) {
	counters := map[string]prometheus.Counter{}
	for _, ev := range []string{"hit", "miss", "eviction", "invalidation"} {
		counters[ev] = m.cache.WithLabelValues(name, ev)
	}
	return func(ev string) {
		if c, ok := counters[ev]; ok {
			c.Inc()
		}
	}
}

// similarityEvent counts an event of the similarity index.
func (m *metrics) similarityEvent(ev similarity.CacheEvent) { m.similarity(ev) }

// countingLogger counts every statement GORM runs (GORM traces each one
// through its logger, whatever the log level) and delegates the logging.
type countingLogger struct {
	logger.Interface
	n prometheus.Counter
}

// LogMode implements logger.Interface.
func (l countingLogger) LogMode(level logger.LogLevel) logger.Interface {
	return countingLogger{Interface: l.Interface.LogMode(level), n: l.n}
}

// ParamsFilter implements gorm.ParamsFilter as the wrapped logger does:
// without it GORM would see no filter, format every statement with its
// values for the trace (costly on a statement of many values) and log the
// values even though the server's logger is configured to leave them out
// (logger.Config.ParameterizedQueries).
func (l countingLogger) ParamsFilter(ctx context.Context, sql string, params ...any) (string, []any) {
	if f, ok := l.Interface.(gorm.ParamsFilter); ok {
		return f.ParamsFilter(ctx, sql, params...)
	}
	return sql, params
}

// Trace implements logger.Interface.
func (l countingLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	l.n.Inc()
	l.Interface.Trace(ctx, begin, fc, err)
}

// countStatements returns a session of db whose statements are counted in
// maestro_db_queries_total. It changes nothing shared with other users of
// db (a host's handle, another Server): the session has its own logger.
func (m *metrics) countStatements(db *gorm.DB) *gorm.DB {
	return db.Session(&gorm.Session{Logger: countingLogger{Interface: db.Logger, n: m.dbQueries}})
}

// measuredEmbedder counts and times the calls of an embedder. It
// implements the similarity package's optional interfaces by delegation,
// answering as an embedder without them would (no token limit, invalid
// thresholds, which the Service ignores) when the inner one lacks them.
type measuredEmbedder struct {
	similarity.Embedder
	m *metrics
}

// Embed implements similarity.Embedder.
func (e measuredEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	began := time.Now()
	out, err := e.Embedder.Embed(ctx, texts)
	e.m.embedLatency.Observe(time.Since(began).Seconds())
	e.m.embedTexts.Add(float64(len(texts)))
	if err != nil {
		e.m.embedCalls.WithLabelValues("error").Inc()
	} else {
		e.m.embedCalls.WithLabelValues("ok").Inc()
	}
	return out, err
}

// MaxInputTokens implements similarity.TokenLimiter (0: unlimited).
func (e measuredEmbedder) MaxInputTokens() int {
	if tl, ok := e.Embedder.(similarity.TokenLimiter); ok {
		return tl.MaxInputTokens()
	}
	return 0
}

// OverlapThresholds implements similarity.Calibrated (the zero value,
// which the Service ignores, when the inner embedder is not calibrated).
func (e measuredEmbedder) OverlapThresholds() similarity.OverlapThresholds {
	if c, ok := e.Embedder.(similarity.Calibrated); ok {
		return c.OverlapThresholds()
	}
	return similarity.OverlapThresholds{}
}

// measure wraps emb so that its calls are counted and timed.
func (m *metrics) measure(emb similarity.Embedder) similarity.Embedder {
	return measuredEmbedder{Embedder: emb, m: m}
}

// MetricsHandler serves the server's metrics in the Prometheus exposition
// format. Serve serves it at /metrics on Config.MetricsAddr; a host may
// mount it on a listener of its own. Keep it off the public listener:
// route and tenant-independent as they are, metrics are for operators.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)})
}

// serveMetrics serves /metrics on addr until ctx ends. It returns once the
// listener is open; errc receives the serving error, if any.
func (s *Server) serveMetrics(ctx context.Context, addr string) (<-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes,
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	go func() {
		<-ctx.Done()
		// ctx is done: the shutdown needs a context of its own.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("serving metrics", slog.String("addr", "http://"+ln.Addr().String()+"/metrics"))
	return errc, nil
}

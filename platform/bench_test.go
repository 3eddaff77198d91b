package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// benchMe measures authenticated requests (GET /api/v1/auth/me: token
// verification, session check, principal check, two lookups) while
// `logins` goroutines log in continuously, and reports p50 and p99
// latency of the measured requests and the logins completed per second.
func benchMe(b *testing.B, logins, hashers int) {
	ts := newTestServer(b, testenv.PlatformSQLite(b), testServerOptions{hashers: hashers})
	token := ts.adminToken()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := 0; i < logins; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				r := ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "admin", "password": testAdminPassword})
				if r.status == 200 {
					mu.Lock()
					done++
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the burst start
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if r := ts.do("GET", "/api/v1/auth/me", token, nil); r.status != 200 {
			b.Fatalf("me: %d", r.status)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(done)/elapsed.Seconds(), "logins/s")
}

// The server's default leaves a core free for other requests
// (hashers = GOMAXPROCS-1); the AllCores variants let logins take every
// core, for comparison.
func BenchmarkMeIdle(b *testing.B)                       { benchMe(b, 0, 0) }
func BenchmarkMeDuringLoginBurst8(b *testing.B)          { benchMe(b, 8, 0) }
func BenchmarkMeDuringLoginBurst32(b *testing.B)         { benchMe(b, 32, 0) }
func BenchmarkMeDuringLoginBurst8AllCores(b *testing.B)  { benchMe(b, 8, runtime.GOMAXPROCS(0)) }
func BenchmarkMeDuringLoginBurst32AllCores(b *testing.B) { benchMe(b, 32, runtime.GOMAXPROCS(0)) }

// BenchmarkMLflowWrites measures MLflow's write calls through the
// platform's whole handler stack over HTTP (access log, request id,
// security headers, API key verification and principal check, the
// deadline, mlflowapi and the registry), with an API key as Bearer token,
// as bench/mlflow does: go test -bench MLflowWrites ./platform.
func BenchmarkMLflowWrites(b *testing.B) {
	ts, key, exp := mlflowBenchServer(b)
	createRun := func() string {
		var run mlflowRunAnswer
		expect(b, ts.do("POST", "/api/2.0/mlflow/runs/create", key, map[string]any{"experiment_id": exp, "start_time": 1700000000000, "run_name": "r"}), 200).json(b, &run)
		return run.Run.Info.RunID
	}
	run := createRun()
	// step numbers every logged point across b.Run's repeated calls (and
	// -count), so each write appends to its metric as bench/mlflow's do,
	// rather than re-numbering points already stored.
	step := 0
	b.Run("create-run", func(b *testing.B) {
		for range b.N {
			createRun()
		}
	})
	b.Run("log-metric", func(b *testing.B) {
		for range b.N {
			step++
			expect(b, ts.do("POST", "/api/2.0/mlflow/runs/log-metric", key, map[string]any{"run_id": run, "key": "m", "value": 0.5, "timestamp": 1700000000000 + step, "step": step}), 200)
		}
	})
	points := make([]map[string]any, 1000)
	b.Run("log-batch-1000", func(b *testing.B) {
		for range b.N {
			step++
			for j := range points {
				points[j] = map[string]any{"key": fmt.Sprintf("b%d", step), "value": float64(j), "timestamp": 1700000000000 + j, "step": j}
			}
			expect(b, ts.do("POST", "/api/2.0/mlflow/runs/log-batch", key, map[string]any{"run_id": run, "metrics": points}), 200)
		}
	})
}

// BenchmarkMLflowSearch measures bench/mlflow's run search through the
// platform's whole handler stack over HTTP, with an API key as Bearer
// token: 1,000 runs, a metric filter and a metric order, 100 results
// (go test -run '^$' -bench MLflowSearch ./platform).
func BenchmarkMLflowSearch(b *testing.B) {
	ts, key, exp := mlflowBenchServer(b)
	for i := range 1000 {
		var run mlflowRunAnswer
		expect(b, ts.do("POST", "/api/2.0/mlflow/runs/create", key, map[string]any{"experiment_id": exp, "start_time": 1700000000000}), 200).json(b, &run)
		expect(b, ts.do("POST", "/api/2.0/mlflow/runs/log-metric", key, map[string]any{"run_id": run.Run.Info.RunID, "key": "acc", "value": float64(i%997) / 997, "timestamp": 1700000000000, "step": 0}), 200)
	}
	body := map[string]any{"experiment_ids": []string{exp}, "filter": "metrics.acc > 0.5", "order_by": []string{"metrics.acc DESC"}, "max_results": 100}
	var page struct {
		Runs []json.RawMessage `json:"runs"`
	}
	if expect(b, ts.do("POST", "/api/2.0/mlflow/runs/search", key, body), 200).json(b, &page); len(page.Runs) != 100 {
		b.Fatalf("search: %d runs", len(page.Runs))
	}
	b.ResetTimer()
	for range b.N {
		expect(b, ts.do("POST", "/api/2.0/mlflow/runs/search", key, body), 200)
	}
}

// mlflowBenchServer starts a platform on SQLite with the MLflow API and
// returns it with an API key of its admin and an MLflow experiment's id.
func mlflowBenchServer(b *testing.B) (ts *testServer, key, experimentID string) {
	ts = newTestServer(b, testenv.PlatformSQLite(b), testServerOptions{opts: []Option{WithMLflow()}})
	var k struct {
		Key string `json:"key"`
	}
	expect(b, ts.do("POST", "/api/v1/auth/api-keys", ts.adminToken(), map[string]any{"current_password": testAdminPassword, "name": "bench"}), 201).json(b, &k)
	var exp struct {
		ID string `json:"experiment_id"`
	}
	expect(b, ts.do("POST", "/api/2.0/mlflow/experiments/create", k.Key, map[string]any{"name": "bench"}), 200).json(b, &exp)
	return ts, k.Key, exp.ID
}

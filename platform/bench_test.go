package platform

import (
	"context"
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

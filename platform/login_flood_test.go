package platform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// Security review, finding 9: the login caps counted only attempts that had
// already failed, so a burst of concurrent logins (all checked before any
// had failed) went past them, and reservations lapsed while attempts were
// still queued for the hasher. These tests drive the real login handler
// with such bursts, on the memory and the Redis throttler.

// loginResult is the answer to one concurrent login.
type loginResult struct {
	status     int
	retryAfter string
	code       string
	took       time.Duration
	err        error
}

// postLogin sends one login; it is safe to call from any goroutine (it
// never fails the test itself).
func (ts *testServer) postLogin(username, password string) loginResult {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	start := time.Now()
	res, err := ts.client.Post(ts.url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return loginResult{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	out := loginResult{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), took: time.Since(start), err: err}
	var p struct {
		Code string `json:"code"`
	}
	if res.StatusCode != http.StatusOK && json.Unmarshal(data, &p) == nil {
		out.code = p.Code
	}
	return out
}

// loginBurst sends the logins of names (with their passwords) at once and
// returns the answers in the same order.
func (ts *testServer) loginBurst(names, passwords []string) []loginResult {
	out := make([]loginResult, len(names))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range names {
		wg.Go(func() {
			<-start
			out[i] = ts.postLogin(names[i], passwords[i])
		})
	}
	close(start)
	wg.Wait()
	return out
}

// countStatuses fails the test on a transport error or a status outside
// allowed, and returns how many answers had each status.
func countStatuses(t *testing.T, rs []loginResult, allowed ...int) map[int]int {
	t.Helper()
	n := map[int]int{}
	for _, r := range rs {
		if r.err != nil {
			t.Fatalf("login: %v", r.err)
		}
		ok := false
		for _, s := range allowed {
			ok = ok || r.status == s
		}
		if !ok {
			t.Fatalf("login answered %d (code %q), want one of %v", r.status, r.code, allowed)
		}
		if r.status == http.StatusTooManyRequests && r.retryAfter == "" {
			t.Fatal("429 without Retry-After")
		}
		n[r.status]++
	}
	return n
}

// forThrottlers runs test on the memory throttler and, when Redis is
// available, on the Redis one.
func forThrottlers(t *testing.T, test func(t *testing.T, redis bool)) {
	t.Parallel()
	for name, redis := range map[string]bool{"memory": false, "redis": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, redis)
		})
	}
}

// TestLoginBurstFromOneAddressCapped: N concurrent logins from one address
// with one password against many accounts (a few of them real) try at most
// the address's IPFailures; before the fix all N were tried (400 × 401 and
// 3 × 200 of 403 in the review).
func TestLoginBurstFromOneAddressCapped(t *testing.T) {
	forThrottlers(t, func(t *testing.T, redis bool) {
		const ipFailures, n, real = 10, 60, 3
		ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{redis: redis, hashers: 2,
			throttle: auth.ThrottlePolicy{IPFailures: ipFailures, BaseLockout: time.Hour, MaxLockout: time.Hour},
			// No 503s here: every attempt admitted waits for the hasher.
			opts: []Option{WithHasherOptions(auth.WithHashQueueTimeout(time.Minute))}})
		admin := ts.adminToken()
		def := ts.me(admin).Tenant.ID
		names, passwords := make([]string, n), make([]string, n)
		for i := range n {
			names[i], passwords[i] = fmt.Sprintf("user%02d", i), memberPassword
			if i%(n/real) == 0 {
				ts.addMember(admin, def, names[i], memberPassword, "member")
			}
		}
		got := countStatuses(t, ts.loginBurst(names, passwords), 200, 401, 429)
		t.Logf("%d concurrent logins from one address: %v", n, got)
		if got[401] > ipFailures {
			t.Fatalf("%d wrong guesses tried from one address, cap %d (answers %v)", got[401], ipFailures, got)
		}
		// Each success frees its place without counting, so at most
		// ipFailures + successes were tried; all the others were refused.
		if got[429] < n-ipFailures-got[200] {
			t.Fatalf("only %d of %d refused (answers %v)", got[429], n, got)
		}
		if got[401]+got[200] == 0 {
			t.Fatal("no attempt was tried at all")
		}
	})
}

// TestConcurrentWrongPasswordsOneAccountCapped: concurrent wrong passwords
// against one account from one address try at most FreeFailures, even
// when they wait for the hasher longer than the old 15 s reservation (the
// clock jumps while they are queued); before the fix the reservations
// lapsed and the next wave was tried too (15 passwords where the policy
// allows 5).
func TestConcurrentWrongPasswordsOneAccountCapped(t *testing.T) {
	forThrottlers(t, func(t *testing.T, redis bool) {
		const free = 5
		clk := authtest.NewClock(time.Now())
		ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{redis: redis, hashers: 1,
			throttle: auth.ThrottlePolicy{FreeFailures: free, BaseLockout: time.Hour, MaxLockout: time.Hour, IPFailures: 1000},
			opts:     []Option{WithClock(clk.Now), WithHasherOptions(auth.WithHashQueueTimeout(time.Minute))}})
		admin := ts.adminToken()
		ts.addMember(admin, ts.me(admin).Tenant.ID, "alice", memberPassword, "member")

		// Unknown names from the same address fill the hasher's queue, so
		// the guesses against alice wait behind them.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var alice []loginResult
		for i := range 8 {
			wg.Go(func() { ts.postLogin(fmt.Sprintf("filler%02d", i), "not-the-password") })
		}
		time.Sleep(20 * time.Millisecond) // let them queue (not an assertion)
		wave := func() {
			for i := range 2 * free {
				wg.Go(func() {
					r := ts.postLogin("alice", fmt.Sprintf("wrong-guess-%d", i))
					mu.Lock()
					alice = append(alice, r)
					mu.Unlock()
				})
			}
		}
		wave()
		for range 3 {
			time.Sleep(20 * time.Millisecond)
			clk.Advance(20 * time.Second) // longer than the old 15 s hold
			wave()
		}
		wg.Wait()
		// A 503 (the route's deadline passed while queued, on a loaded
		// machine) is released uncounted: it changes nothing below.
		got := countStatuses(t, alice, 401, 429, 503)
		t.Logf("%d concurrent wrong passwords for one account: %v", len(alice), got)
		if got[401] > free {
			t.Fatalf("%d wrong passwords tried against one account, policy allows %d (answers %v)", got[401], free, got)
		}
		if got[401] == 0 {
			t.Fatal("no guess was tried at all")
		}
	})
}

// TestLoginHasherBusyAnswers503: a login that cannot get a hashing slot
// within the queue timeout answers 503 with Retry-After at once instead of
// waiting, and its reservation is released, not counted as a failure.
func TestLoginHasherBusyAnswers503(t *testing.T) {
	forThrottlers(t, func(t *testing.T, redis bool) {
		const n = 30
		ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{redis: redis, hashers: 1,
			// The burst exactly fills the address's allowance.
			throttle: auth.ThrottlePolicy{IPFailures: n, BaseLockout: time.Hour, MaxLockout: time.Hour},
			opts:     []Option{WithHasherOptions(auth.WithHashQueueTimeout(20 * time.Millisecond))}})
		admin := ts.adminToken()
		ts.addMember(admin, ts.me(admin).Tenant.ID, "bob", memberPassword, "member")
		names, passwords := make([]string, n), make([]string, n)
		for i := range n {
			names[i], passwords[i] = fmt.Sprintf("nobody%02d", i), "not-the-password"
		}
		rs := ts.loginBurst(names, passwords)
		got := countStatuses(t, rs, 401, 503)
		t.Logf("%d concurrent logins, one hasher, 20 ms queue: %v", n, got)
		if got[503] == 0 {
			t.Fatalf("no login was refused as busy (answers %v)", got)
		}
		for _, r := range rs {
			if r.status != http.StatusServiceUnavailable {
				continue
			}
			if r.code != "busy" {
				t.Fatalf("503 with code %q, want busy", r.code)
			}
			if s, err := strconv.Atoi(r.retryAfter); err != nil || s < 1 {
				t.Fatalf("503 with Retry-After %q", r.retryAfter)
			}
			// Generous: the point is that it did not wait behind the
			// whole queue (n hashes) or for a client timeout.
			if r.took > 10*time.Second {
				t.Fatalf("a busy login took %s", r.took)
			}
		}
		// The busy attempts were released uncounted: the address has
		// failures and places left, so a right password gets in.
		if r := ts.postLogin("bob", memberPassword); r.status != http.StatusOK {
			t.Fatalf("login after the burst: %d (%s), want 200: busy attempts were counted or kept", r.status, r.code)
		}
	})
}

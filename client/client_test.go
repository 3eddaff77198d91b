package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
)

// TestSessionRefreshesOnExpiry moves the server's clock past the access
// token's lifetime: many goroutines calling at once each get a 401, yet the
// client spends its refresh token exactly once (the server would end the
// session on a second spend), logs in no more, and every call succeeds.
func TestSessionRefreshesOnExpiry(t *testing.T) {
	t.Parallel()
	ts := newServer(t, nil)
	ct := newContract(t)
	c, err := client.New(ts.url, client.WithHTTPClient(ct.client()), client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	first := c.Tokens()
	ts.skew.Store(int64(20 * time.Minute)) // the access token (15 minutes) has expired
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Me(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("calls after expiry: %v", err)
	}
	if n := ct.count("POST /api/v1/auth/refresh"); n != 1 {
		t.Errorf("refreshed %d times, want exactly once", n)
	}
	if n := ct.count("POST /api/v1/auth/login"); n != 1 {
		t.Errorf("logged in %d times, want once", n)
	}
	if next := c.Tokens(); next.RefreshToken == first.RefreshToken || next.AccessToken == first.AccessToken {
		t.Error("the token pair was not replaced")
	}
	if n := ct.count("GET /api/v1/auth/me"); n < 17 || n > 33 {
		t.Errorf("%d calls of me, want 17 plus at most one repeat each", n)
	}
}

// TestSessionLogsInAgain: when the session ends (here another client
// spends the refresh token, and the server ends the session for reuse),
// the client signs in again with its credentials.
func TestSessionLogsInAgain(t *testing.T) {
	t.Parallel()
	ts := newServer(t, nil)
	ct := newContract(t)
	c, err := client.New(ts.url, client.WithHTTPClient(ct.client()), client.WithLogin("admin", adminPassword, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("me after logout: %v", err)
	}
	if n := ct.count("POST /api/v1/auth/login"); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
	// A stolen refresh token spent elsewhere ends the session on its
	// reuse; the client's next renewal then logs in again.
	thief, _ := client.New(ts.url)
	if _, err := thief.Refresh(ctx, c.Tokens().RefreshToken); err != nil {
		t.Fatal(err)
	}
	ts.skew.Store(int64(20 * time.Minute))
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("me after the refresh token was spent elsewhere: %v", err)
	}
	if n := ct.count("POST /api/v1/auth/login"); n != 3 {
		t.Errorf("%d logins, want 3", n)
	}
	// Wrong credentials fail with the server's 401, not a loop.
	bad, _ := client.New(ts.url, client.WithLogin("admin", "not the password", ""))
	if _, err := bad.Me(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("bad credentials: %v", err)
	}
}

// TestStaticToken: a static token is sent as is and never refreshed; an
// invalid one gives ErrUnauthorized with the problem's fields.
func TestStaticToken(t *testing.T) {
	t.Parallel()
	ts := newServer(t, nil)
	ctx := context.Background()
	plain, _ := client.New(ts.url)
	pair, err := plain.Login(ctx, "admin", adminPassword, "")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(ts.url, client.WithToken(pair.AccessToken), client.WithUserAgent("test/1"))
	if me, err := c.Me(ctx); err != nil || me.User.Username != "admin" {
		t.Fatalf("me %+v, %v", me, err)
	}
	bad, _ := client.New(ts.url, client.WithToken("mk_not_a_key"))
	_, err = bad.Me(ctx)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 401 || e.Code == "" || !strings.HasPrefix(e.Error(), "client: 401 ") || !strings.HasPrefix(e.Type, "urn:maestro:problem:") || !errors.Is(err, client.ErrUnauthorized) || errors.Is(err, client.ErrNotFound) {
		t.Fatalf("bad token: %#v", err)
	}
	if _, err := plain.Me(ctx); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("no credential: %v", err)
	}
}

// TestNewRefusesBadOptions: New names what is wrong with its input.
func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		base string
		opts []client.Option
	}{
		"no scheme":      {"127.0.0.1:8080", nil},
		"ftp":            {"ftp://example.com", nil},
		"query":          {"http://example.com/?x=1", nil},
		"empty token":    {"http://example.com", []client.Option{client.WithToken("")}},
		"empty login":    {"http://example.com", []client.Option{client.WithLogin("", "x", "")}},
		"token and user": {"http://example.com", []client.Option{client.WithToken("t"), client.WithCredentials("u", "p", "")}},
		"nil http":       {"http://example.com", []client.Option{client.WithHTTPClient(nil)}},
		"negative retry": {"http://example.com", []client.Option{client.WithRetry(-1, time.Second)}},
		"zero max bytes": {"http://example.com", []client.Option{client.WithMaxResponseBytes(0)}},
	} {
		if _, err := client.New(c.base, c.opts...); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// flaky answers the first n requests with status and Retry-After, then
// 200 with a live body; it counts requests.
type flaky struct {
	n          int32
	status     int
	retryAfter string
	code       string // the problem's code; "busy" when empty
	calls      atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.calls.Add(1) <= f.n {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(f.status)
		code := f.code
		if code == "" {
			code = "busy"
		}
		fmt.Fprintf(w, `{"type":"urn:maestro:problem:%s","code":"%s","title":"x","status":%d,"detail":"try later"}`, code, code, f.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"status":"ok"}`)
}

// TestRetry: idempotent requests are retried on 429 and 503 as long as
// Retry-After says (bounded by maxWait), others are not; without WithRetry
// nothing is.
func TestRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("honours Retry-After", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 2, status: 503, retryAfter: "1"}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(3, 2*time.Second))
		begin := time.Now()
		if _, err := c.Live(ctx); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(begin); took < 2*time.Second || f.calls.Load() != 3 {
			t.Fatalf("%d calls in %v, want 3 in at least 2s", f.calls.Load(), took)
		}
	})
	t.Run("gives up after attempts", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 10, status: 429}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(2, 50*time.Millisecond))
		_, err := c.Live(ctx)
		var e *client.Error
		if !errors.As(err, &e) || !errors.Is(err, client.ErrRateLimited) || e.Code != "busy" || f.calls.Load() != 3 {
			t.Fatalf("%d calls, %v", f.calls.Load(), err)
		}
	})
	t.Run("Retry-After beyond maxWait", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 1, status: 503, retryAfter: "3600"}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(5, time.Second))
		_, err := c.Live(ctx)
		var e *client.Error
		if !errors.As(err, &e) || e.RetryAfter != time.Hour || f.calls.Load() != 1 {
			t.Fatalf("%d calls, %#v", f.calls.Load(), err)
		}
	})
	t.Run("Retry-After as a date", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 1, status: 429, retryAfter: time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat)}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(1, time.Second))
		if _, err := c.Live(ctx); err != nil || f.calls.Load() != 2 {
			t.Fatalf("%d calls, %v", f.calls.Load(), err)
		}
	})
	t.Run("a tenant over the similarity memory budget is not retried", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 1, status: 503, code: "similarity_memory_exceeded"}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(5, time.Second))
		if _, err := c.Live(ctx); !errors.Is(err, client.ErrUnavailable) || f.calls.Load() != 1 {
			t.Fatalf("%d calls, %v", f.calls.Load(), err)
		}
	})
	t.Run("POST is not retried", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 1, status: 503}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(5, time.Second))
		if _, err := c.Login(ctx, "a", "b", ""); !errors.Is(err, client.ErrUnavailable) || f.calls.Load() != 1 {
			t.Fatalf("%d calls, %v", f.calls.Load(), err)
		}
	})
	t.Run("off by default", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 1, status: 503}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL)
		if _, err := c.Live(ctx); !errors.Is(err, client.ErrUnavailable) || f.calls.Load() != 1 {
			t.Fatalf("%d calls, %v", f.calls.Load(), err)
		}
	})
	t.Run("context ends the wait", func(t *testing.T) {
		t.Parallel()
		f := &flaky{n: 5, status: 503, retryAfter: "2"}
		hs := httptest.NewServer(f)
		defer hs.Close()
		c, _ := client.New(hs.URL, client.WithRetry(5, 5*time.Second))
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := c.Live(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%v", err)
		}
	})
}

// TestAnswersBounded: an answer over the limit fails instead of being
// read whole; an error answer that is no problem keeps a short excerpt.
func TestAnswersBounded(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health/live" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"status":"%s"}`, strings.Repeat("x", 4096))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>"+strings.Repeat("proxy error ", 1000)+"</html>")
	}))
	defer hs.Close()
	ctx := context.Background()
	c, _ := client.New(hs.URL, client.WithMaxResponseBytes(1024))
	if _, err := c.Live(ctx); err == nil || !strings.Contains(err.Error(), "larger than 1024") {
		t.Fatalf("big answer: %v", err)
	}
	_, err := c.Ready(ctx)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || len(e.Detail) > 300 || !strings.HasPrefix(e.Detail, "<html>proxy error") {
		t.Fatalf("proxy answer: %#v", err)
	}
}

// TestDo: the raw escape hatch sends what it is given and answers as the
// typed methods do.
func TestDo(t *testing.T) {
	t.Parallel()
	ts := newServer(t, nil)
	ct := newContract(t)
	ctx := context.Background()
	c, _ := client.New(ts.url, client.WithHTTPClient(ct.client()), client.WithLogin("admin", adminPassword, ""))
	var page client.Page[client.Tenant]
	if err := c.Do(ctx, http.MethodGet, "/api/v1/tenants?limit=1", nil, &page); err != nil || len(page.Items) != 1 {
		t.Fatalf("tenants %+v, %v", page, err)
	}
	var raw []byte
	if err := c.Do(ctx, http.MethodGet, "/api/v1/auth/me", nil, &raw); err != nil || !strings.Contains(string(raw), `"username":"admin"`) {
		t.Fatalf("me %s, %v", raw, err)
	}
	err := c.Do(badRequest(ctx), http.MethodPost, "/api/v1/projects", []byte(`{"name":`), nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("malformed body: %#v", err)
	}
	var created client.Project
	in := client.ProjectInput{Name: "via do", ProblemClass: "other", ComplexityScore: 1, TeamSize: 1}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/projects", in, &created); err != nil || created.Name != "via do" {
		t.Fatalf("created %+v, %v", created, err)
	}
	art, err := c.CreateArtifact(ctx, client.ArtifactInput{Name: "blob", Type: "other", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, http.MethodPut, "/api/v1/artifacts/"+art.ID+"/content", strings.NewReader("raw"), nil); err != nil {
		t.Fatalf("raw upload: %v", err)
	}
	if got, err := c.GetArtifact(ctx, art.ID); err != nil || got.SizeBytes != 3 {
		t.Fatalf("artifact %+v, %v", got, err)
	}
	if err := c.Do(ctx, http.MethodGet, "api/v1/auth/me", nil, nil); err == nil {
		t.Fatal("a path without a leading slash was sent")
	}
}

// TestSessionRefreshesBeforeExpiry: an access token about to expire (here
// one the server says lives 1 second) is renewed with the refresh token
// before the call, not after a 401; the rotated refresh token replaces the
// spent one.
func TestSessionRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	var logins, refreshes atomic.Int32
	var mu sync.Mutex
	valid := map[string]bool{}         // access tokens the fake server accepts
	spent := map[string]bool{"": true} // refresh tokens already used
	issue := func(w http.ResponseWriter, n int32) {
		mu.Lock()
		valid[fmt.Sprint("at-", n)] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","refresh_token":"rt-%d","expires_in":1,"token_type":"bearer"}`, n, n)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/auth/login":
			issue(w, 100+logins.Add(1))
		case "/api/v1/auth/refresh":
			var in struct {
				RefreshToken string `json:"refresh_token"`
			}
			_ = json.NewDecoder(r.Body).Decode(&in)
			mu.Lock()
			reused := spent[in.RefreshToken]
			spent[in.RefreshToken] = true
			mu.Unlock()
			if reused {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			issue(w, refreshes.Add(1))
		default:
			mu.Lock()
			ok := valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"user":{"id":"u","username":"ada","email":"","is_superadmin":false},"tenant":null,"role":null}`)
		}
	}))
	defer hs.Close()
	c, _ := client.New(hs.URL, client.WithLogin("ada", "pw", ""))
	ctx := context.Background()
	for range 3 {
		if _, err := c.Me(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if logins.Load() != 1 || refreshes.Load() != 2 {
		t.Fatalf("%d logins, %d refreshes; want 1 and 2", logins.Load(), refreshes.Load())
	}
	if got := c.Tokens(); got.AccessToken != "at-2" || got.RefreshToken != "rt-2" {
		t.Fatalf("pair %+v", got)
	}
}

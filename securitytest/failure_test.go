package securitytest

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// fakeEmbeddings is an OpenAI-compatible /v1/embeddings server with a
// deterministic bag-of-words model, which can be switched off.
type fakeEmbeddings struct {
	srv  *httptest.Server
	down atomic.Bool
	hits atomic.Int64
	key  string
}

func newFakeEmbeddings(t *testing.T) *fakeEmbeddings {
	f := &fakeEmbeddings{key: "sk-test-" + randHex(16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.down.Load() {
			http.Error(w, `{"error":{"message":"upstream overloaded"}}`, http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+f.key {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return
		}
		var in struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
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
			Model  string         `json:"model"`
			Data   []datum        `json:"data"`
			Usage  map[string]int `json:"usage"`
		}{Object: "list", Model: in.Model, Usage: map[string]int{"prompt_tokens": 1, "total_tokens": 1}}
		for i, text := range in.Input {
			out.Data = append(out.Data, datum{Object: "embedding", Index: i, Embedding: bagOfWords(text, 64)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// bagOfWords hashes the words of text into a normalised vector.
func bagOfWords(text string, dims int) []float32 {
	v := make([]float32, dims)
	for _, word := range strings.Fields(strings.ToLower(text)) {
		h := fnv.New32a()
		_, _ = h.Write([]byte(word))
		v[int(h.Sum32()%64)%dims]++
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		v[0], n = 1, 1
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

// TestEmbeddingsServiceDown: with the embeddings service down, the
// similarity endpoints answer 503 (without the provider's message or API
// key) and everything else keeps working; once it is back, similarity
// answers again without a restart.
func TestEmbeddingsServiceDown(t *testing.T) {
	t.Parallel()
	f := newFakeEmbeddings(t)
	p := startPlatform(t, "sqlite+embeddings", options{env: []string{
		"MAESTRO_EMBEDDINGS_URL=" + f.srv.URL + "/v1", "MAESTRO_EMBEDDINGS_MODEL=fake-bow-64",
		"MAESTRO_EMBEDDINGS_API_KEY=" + f.key,
	}})
	p.scan.forbidValue("the embeddings API key", f.key)
	access, _ := p.login(t, "admin", p.adminPassword, "")
	do := func(method, path string, body any, allow503 bool) response {
		return p.do(t, req{method: method, path: path, token: access, body: body, allow503: allow503})
	}
	project := func(name string) string {
		r := do("POST", "/api/v1/projects", map[string]any{"name": name, "problem_class": "nlp", "complexity_score": 3,
			"team_size": 2, "description": name}, false)
		mustStatus(t, r, http.StatusCreated, "create project")
		return r.str(t, "id")
	}
	first := project("customer support ticket triage")
	project("ticket triage for support queues")
	mustStatus(t, do("GET", "/api/v1/projects/"+first+"/similar", nil, false), http.StatusOK, "similar, service up")
	if f.hits.Load() == 0 {
		t.Fatal("the platform did not call the embeddings service")
	}

	f.down.Store(true)
	// A stored project's neighbours need no new embedding: 200 from the
	// stored vectors, or 503; never a 500.
	r := do("GET", "/api/v1/projects/"+first+"/similar", nil, true)
	if r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
		t.Errorf("similar of a stored project with the embeddings service down: %d", r.status)
	}
	start := time.Now()
	r = do("POST", "/api/v1/specs/similar", map[string]any{"text": "support tickets"}, true)
	want(t, r, http.StatusServiceUnavailable, "specs/similar with the embeddings service down")
	t.Logf("specs/similar answered 503 after %v (retries included)", time.Since(start).Round(time.Millisecond))
	// Everything else works.
	third := project("support ticket routing during an outage")
	mustStatus(t, do("GET", "/api/v1/projects/"+third, nil, false), http.StatusOK, "read during outage")
	mustStatus(t, do("GET", "/api/v1/projects", nil, false), http.StatusOK, "list during outage")
	mustStatus(t, do("GET", "/api/v1/auth/me", nil, false), http.StatusOK, "me during outage")
	mustStatus(t, do("GET", "/health/ready", nil, false), http.StatusOK, "ready during outage")
	p.login(t, "admin", p.adminPassword, "")
	// With a project written during the outage the index is stale: a
	// similarity answer would silently miss it, so it is 503 instead.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/projects/" + first + "/similar", nil},
		{"POST", "/api/v1/specs/similar", map[string]any{"text": "support tickets"}},
	} {
		r := do(c.method, c.path, c.body, true)
		want(t, r, http.StatusServiceUnavailable, c.method+" "+c.path+" with a stale index and the service down")
		if r.code() != "embeddings_unavailable" {
			t.Errorf("%s: problem code %q, want embeddings_unavailable", c.path, r.code())
		}
		if strings.Contains(string(r.body), "overloaded") {
			t.Errorf("%s: the provider's message reaches the client: %s", c.path, r.body)
		}
	}

	f.down.Store(false)
	r = do("GET", "/api/v1/projects/"+first+"/similar", nil, false)
	mustStatus(t, r, http.StatusOK, "similar after the outage")
	if !strings.Contains(string(r.body), third) {
		t.Errorf("the project written during the outage is not found afterwards: %s", r.body)
	}
	p.scan.checkLog(t, p.log.String())
}

// redisServer is a private redis-server process, so that the test can stop
// it without disturbing anyone else's Redis.
type redisServer struct {
	bin, addr string
	cmd       *exec.Cmd
}

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	host, port, _ := strings.Cut(r.addr, ":")
	cmd := exec.Command(r.bin, "--bind", host, "--port", port, "--save", "", "--appendonly", "no") // #nosec G204 -- redis-server from PATH, loopback address chosen by the test
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	t.Cleanup(r.stop)
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
}

func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// TestRedisDown: with MAESTRO_REDIS_URL the token store and the login
// throttle live in Redis. When Redis goes down, token authentication and
// logins fail closed (503, never a pass), readiness reports it, API keys
// (kept in the database) keep working; when Redis is back the platform
// recovers without a restart, and sessions lost with a non-persistent
// Redis must log in again (401), never pass unchecked.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if testenv.Required() {
			t.Fatal("redis-server not installed (.ci/services installs it)")
		}
		t.Skip("redis-server not installed; run .ci/services")
	}
	rs := &redisServer{bin: bin, addr: freeAddr(t)}
	rs.start(t)
	p := startPlatform(t, "sqlite+private-redis", options{env: []string{"MAESTRO_REDIS_URL=redis://" + rs.addr + "/0"}})
	access, _ := p.login(t, "admin", p.adminPassword, "")
	created, err := p.api(t, access, "").CreateAPIKey(context.Background(), client.APIKeyInput{Name: "outage", CurrentPassword: p.adminPassword})
	if err != nil {
		t.Fatalf("API key: %v", err)
	}
	key := created.Key
	p.scan.forbidValue("an API key", key)
	me := func(tok string) response {
		return p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok, allow503: true})
	}
	mustStatus(t, me(access), http.StatusOK, "me with Redis up")

	rs.stop()
	want(t, me(access), http.StatusServiceUnavailable, "access token with Redis down (fail closed)")
	r := p.do(t, req{method: "POST", path: "/api/v1/auth/login", allow503: true,
		body: map[string]any{"username": "admin", "password": p.adminPassword}})
	want(t, r, http.StatusServiceUnavailable, "login with Redis down")
	r = p.do(t, req{method: "POST", path: "/api/v1/auth/login", allow503: true,
		body: map[string]any{"username": "admin", "password": "wrong-password"}})
	if r.status == http.StatusOK {
		t.Errorf("a wrong password logs in with Redis down")
	}
	want(t, p.do(t, req{method: "GET", path: "/health/ready", allow503: true}), http.StatusServiceUnavailable, "ready with Redis down")
	want(t, p.do(t, req{method: "GET", path: "/health/live"}), http.StatusOK, "live with Redis down")
	want(t, me(key), http.StatusOK, "API key (state in the database) with Redis down")

	rs.start(t)
	start := time.Now()
	var got int
	for time.Since(start) < 10*time.Second {
		if got = p.do(t, req{method: "GET", path: "/health/ready", allow503: true}).status; got == http.StatusOK {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != http.StatusOK {
		t.Fatalf("not ready 10 s after Redis came back: %d", got)
	}
	t.Logf("ready again %v after Redis restarted", time.Since(start).Round(10*time.Millisecond))
	want(t, me(access), http.StatusUnauthorized, "session lost with Redis's data: log in again")
	fresh, _ := p.login(t, "admin", p.adminPassword, "")
	want(t, me(fresh), http.StatusOK, "new session after recovery")
	p.scan.checkLog(t, p.log.String())
}

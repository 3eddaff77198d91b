package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/internal/testenv"
)

// syncBuffer is a goroutine-safe log sink whose contents tests inspect.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log records whose attribute key equals value.
func (b *syncBuffer) records(key, value string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(b.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if v, _ := m[key].(string); v == value {
			out = append(out, m)
		}
	}
	return out
}

// testServer is the platform served on a loopback listener.
type testServer struct {
	t      testing.TB
	s      *Server
	url    string
	logs   *syncBuffer
	client *http.Client
}

// testServerOptions tune newTestServer.
type testServerOptions struct {
	cfg      func(*Config)
	redis    bool
	throttle auth.ThrottlePolicy
	hashers  int
	opts     []Option // more options for New
}

// testConfig returns a development configuration with a fresh home.
func testConfig(t testing.TB) Config {
	home := filepath.Join(t.TempDir(), "home")
	// The static embedder keeps the suite's hundreds of project writes
	// cheap under -race; TestDefaultEmbedderServes serves the default.
	return Config{Home: home, JWTSecret: []byte(strongSecret), AdminPassword: testAdminPassword,
		DatabaseURL: "sqlite:" + filepath.Join(home, "t.db"), Embedder: EmbedderStatic}
}

// testAdminPassword is the bootstrap password of admin in tests.
const testAdminPassword = "Bootstrap-Root-Pass-2024!"

// newTestServer builds the platform on db with New (which prepares the
// schema and bootstraps) and serves its Handler with httptest.NewServer,
// until the test ends. Its client validates every response against the
// OpenAPI document (contractTransport), failing the test on a mismatch.
func newTestServer(t testing.TB, db *gorm.DB, o testServerOptions) *testServer {
	t.Helper()
	cfg := testConfig(t)
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := []Option{WithDatabase(db), WithLogger(log), WithLoginThrottle(o.throttle)}
	if o.hashers > 0 {
		opts = append(opts, WithHasherOptions(auth.WithMaxConcurrentHashes(o.hashers)))
	}
	if o.redis {
		rdb, prefix := testenv.Redis(t)
		opts = append(opts, WithRedis(rdb), WithRedisPrefix(prefix))
	}
	opts = append(opts, o.opts...)
	s, err := New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{t: t, s: s, url: hs.URL, logs: logs,
		client: &http.Client{Timeout: 30 * time.Second, Transport: newContractTransport(t)}}
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test on error.
func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes a problem+json body.
func (r response) problem(t testing.TB) problemDetail {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, content type %q, body %s: want a problem", r.status, ct, r.body)
	}
	var p problemDetail
	r.json(t, &p)
	if p.Status != r.status || p.Code == "" || p.Title == "" || !strings.HasPrefix(p.Type, problemTypePrefix) {
		t.Fatalf("malformed problem %s for status %d", r.body, r.status)
	}
	return p
}

// do sends a request with an optional bearer token and JSON body (a string
// is sent as is, anything else is encoded).
func (ts *testServer) do(method, path, token string, body any, hdr ...string) response {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// expect fails the test unless r has the given status.
func expect(t testing.TB, r response, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

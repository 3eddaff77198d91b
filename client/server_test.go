package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/platform"
)

// adminPassword is the bootstrap password of the user admin of the
// servers the tests and Examples start.
const adminPassword = "Client-Test-Bootstrap-2026!"

// testServer is a platform served in-process on a real loopback listener.
type testServer struct {
	url   string        // http://127.0.0.1:port
	skew  *atomic.Int64 // nanoseconds the server's clock runs ahead
	close func()
}

// startServer builds a platform with opts (on SQLite in a fresh
// directory unless opts name a database) and serves it on 127.0.0.1:0
// until close. The server's clock is the real one moved ahead by skew.
func startServer(opts ...platform.Option) (*testServer, error) {
	home, err := os.MkdirTemp("", "maestro-client-")
	if err != nil {
		return nil, err
	}
	skew := &atomic.Int64{}
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := platform.Config{Home: home, JWTSecret: []byte("client-test-jwt-secret-0123456789abcdef"), AdminPassword: adminPassword,
		DatabaseURL: "sqlite:" + filepath.Join(home, "maestro.db")}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := platform.New(ctx, cfg, append([]platform.Option{platform.WithLogger(quiet), platform.WithClock(clock)}, opts...)...)
	if err != nil {
		cancel()
		_ = os.RemoveAll(home)
		return nil, fmt.Errorf("platform.New: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		_ = srv.Close()
		_ = os.RemoveAll(home)
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	return &testServer{url: "http://" + ln.Addr().String(), skew: skew, close: func() {
		cancel()
		<-done
		_ = srv.Close()
		_ = os.RemoveAll(home)
	}}, nil
}

// newServer is startServer for a test, on db when it is not nil; the
// server stops when the test ends.
func newServer(t testing.TB, db *gorm.DB) *testServer {
	t.Helper()
	var opts []platform.Option
	if db != nil {
		opts = append(opts, platform.WithDatabase(db))
	}
	ts, err := startServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.close)
	return ts
}

// contract is an http.RoundTripper that validates every request and its
// answer against the platform's OpenAPI document, records which route
// each request reached, and counts requests per route.
type contract struct {
	t    testing.TB
	base http.RoundTripper
	doc  *openapi3.T
	mux  *http.ServeMux // matches a request to its route's pattern

	mu   sync.Mutex
	hits map[string]int // route pattern → requests
}

// loadDocument parses the platform's OpenAPI document once.
var loadDocument = sync.OnceValues(func() (*openapi3.T, error) {
	b, err := os.ReadFile(filepath.Join("..", "platform", "openapi.json"))
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

// newContract returns a validating transport for t.
func newContract(t testing.TB) *contract {
	t.Helper()
	doc, err := loadDocument()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	mux := http.NewServeMux()
	for _, rt := range platform.Routes() {
		mux.Handle(rt.Pattern, http.NotFoundHandler())
	}
	return &contract{t: t, base: http.DefaultTransport, doc: doc, mux: mux, hits: map[string]int{}}
}

// client returns an http.Client sending through c.
func (c *contract) client() *http.Client { return &http.Client{Transport: c, Timeout: time.Minute} }

// count returns how many requests reached pattern.
func (c *contract) count(pattern string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[pattern]
}

// RoundTrip implements http.RoundTripper.
func (c *contract) RoundTrip(req *http.Request) (*http.Response, error) {
	_, pattern := c.mux.Handler(req)
	if pattern == "" || !strings.HasPrefix(pattern, req.Method+" ") {
		c.t.Errorf("the client sent %s %s, which is no route of the platform", req.Method, req.URL.Path)
		return c.base.RoundTrip(req)
	}
	c.mu.Lock()
	c.hits[pattern]++
	c.mu.Unlock()
	_, path, _ := strings.Cut(pattern, " ")
	oaPath := strings.ReplaceAll(path, "...}", "}")
	item := c.doc.Paths.Find(oaPath)
	if item == nil || item.GetOperation(req.Method) == nil {
		c.t.Errorf("the client sent %s %s: %s is not in openapi.json", req.Method, req.URL.Path, pattern)
		return c.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	params := map[string]string{}
	segs, got := strings.Split(path, "/"), strings.Split(req.URL.EscapedPath(), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && i < len(got) {
			name := strings.Trim(s, "{}.")
			if strings.HasSuffix(s, "...}") {
				params[name] = strings.Join(got[i:], "/")
			} else {
				params[name] = got[i]
			}
		}
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	in := &openapi3filter.RequestValidationInput{
		Request: req.Clone(req.Context()), PathParams: params, Options: opts,
		Route: &routers.Route{Spec: c.doc, Path: oaPath, PathItem: item, Method: req.Method, Operation: item.GetOperation(req.Method)},
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	// A request a test makes bad on purpose: only the answer is checked.
	if req.Context().Value(invalidOnPurpose{}) == nil {
		if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
			c.t.Errorf("request breaks the OpenAPI document: %s %s: %v\nbody: %.1000s", req.Method, req.URL, err, reqBody)
		}
	}
	if req.Body != nil {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.Header.Get("Content-Type") == "application/octet-stream" {
		return res, nil // a download: streamed to the caller, not validated
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	rin.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), rin); err != nil {
		c.t.Errorf("response breaks the OpenAPI document: %s %s → %d: %v\nbody: %.1000s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	return res, nil
}

// invalidOnPurpose marks the context of a request a test makes invalid
// on purpose, so that the contract does not fail it.
type invalidOnPurpose struct{}

// badRequest returns ctx marked as sending an invalid request on purpose.
func badRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, invalidOnPurpose{}, true)
}

// errorsAs is errors.As for the tests' one error type.
func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

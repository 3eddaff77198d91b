package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// loadOpenAPI parses and validates the embedded document once.
var loadOpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

// TestOpenAPIValid checks that the document is valid OpenAPI 3.1, its
// examples included.
func TestOpenAPIValid(t *testing.T) {
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi is %q, want 3.1", doc.OpenAPI)
	}
}

// documentedRoutes returns the routes the embedded document names, as
// "METHOD /path" with ServeMux's path templates ({key} for {key...}).
func documentedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	var raw struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for path, item := range raw.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				out[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	return out
}

// TestOpenAPICoversRoutes fails when a route of Routes is missing from
// openapi.json, or the document names an operation that is no route.
func TestOpenAPICoversRoutes(t *testing.T) {
	documented := documentedRoutes(t)
	var missing, extra []string
	routes := map[string]bool{}
	for _, rt := range Routes() {
		key := openAPIPathOf(rt.Pattern)
		routes[key] = true
		if !documented[key] {
			missing = append(missing, rt.Pattern)
		}
	}
	for key := range documented {
		if !routes[key] {
			extra = append(extra, key)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, p := range missing {
		t.Errorf("route %q is missing from platform/openapi.json: add its row to apiOps in platform/openapi_ops_test.go, then run go test ./platform -run TestOpenAPIDocument -update-openapi", p)
	}
	for _, p := range extra {
		t.Errorf("platform/openapi.json documents %q, which is no route of Routes: remove its row from apiOps in platform/openapi_ops_test.go, then run go test ./platform -run TestOpenAPIDocument -update-openapi", p)
	}
}

// TestOpenAPIServed checks that GET /api/v1/openapi.json serves the
// embedded document without a credential.
func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	res := expect(t, ts.do("GET", "/api/v1/openapi.json", "", nil), http.StatusOK)
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	if !bytes.Equal(res.body, OpenAPI()) {
		t.Error("the served document differs from OpenAPI()")
	}
}

// docsRouteRE finds the routes in the tables of docs/platform-registry.md:
// `METHOD /api/v1/...`, with METHOD possibly several joined by slashes.
var docsRouteRE = regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/[^`?]*)")

// TestDocsRegistryRoutesDocumented fails when a route in the tables of
// docs/platform-registry.md is not in openapi.json.
func TestDocsRegistryRoutesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "platform-registry.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := documentedRoutes(t)
	n := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		for _, m := range docsRouteRE.FindAllStringSubmatch(line, -1) {
			path := strings.TrimSpace(m[2])
			for _, method := range strings.Split(m[1], "/") {
				n++
				if !documented[method+" "+path] {
					t.Errorf("docs/platform-registry.md names `%s %s`, which platform/openapi.json does not document", method, path)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d routes in the tables of docs/platform-registry.md; has the table format changed?", n)
	}
}

// contractTransport validates every response the platform's tests receive
// against openapi.json: the status must be one the operation documents,
// and the body must match its schema for the content type. A response of
// a path and method that no route serves (404, 405) is not checked.
type contractTransport struct {
	t    testing.TB
	base http.RoundTripper
	doc  *openapi3.T
	mux  *http.ServeMux // matches a request to its route's pattern
}

// newContractTransport returns the validating transport of a test client.
func newContractTransport(t testing.TB) *contractTransport {
	doc, err := loadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range Routes() {
		mux.Handle(rt.Pattern, http.NotFoundHandler())
	}
	return &contractTransport{t: t, base: http.DefaultTransport, doc: doc, mux: mux}
}

// RoundTrip implements http.RoundTripper.
func (c *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // the test reading the body sees the same failure
	}
	if msg := c.check(req, res, body); msg != "" {
		c.t.Errorf("response breaks the OpenAPI contract: %s %s → %d: %s\nbody: %.2000s", req.Method, req.URL.Path, res.StatusCode, msg, body)
	}
	return res, nil
}

// check returns what is wrong with res to req, or "".
func (c *contractTransport) check(req *http.Request, res *http.Response, body []byte) string {
	_, pattern := c.mux.Handler(req)
	if pattern == "" {
		return ""
	}
	method, path, _ := strings.Cut(pattern, " ")
	if method != req.Method {
		return "" // a GET route answering HEAD
	}
	oaPath := openAPIPathOf(path)
	item := c.doc.Paths.Find(oaPath)
	if item == nil || item.GetOperation(method) == nil {
		return fmt.Sprintf("the route %q is not in openapi.json", pattern)
	}
	params := map[string]string{}
	segs, got := strings.Split(path, "/"), strings.Split(req.URL.Path, "/")
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
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route: &routers.Route{Spec: c.doc, Path: oaPath, PathItem: item, Method: method,
				Operation: item.GetOperation(method)},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: res.StatusCode,
		Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return err.Error()
	}
	return timePrecision(item.GetOperation(method), res, body)
}

// apiTimeRE is the one form of every time the API answers: RFC 3339 in
// UTC, at most microseconds (the precision PostgreSQL stores).
var apiTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$`)

// timePrecision returns what is wrong with the date-time strings of a
// JSON response body (those whose schema has format date-time), or "".
func timePrecision(op *openapi3.Operation, res *http.Response, body []byte) string {
	ct, _, _ := strings.Cut(res.Header.Get("Content-Type"), ";")
	ref := op.Responses.Status(res.StatusCode)
	if ref == nil || ref.Value == nil || !strings.HasSuffix(ct, "json") {
		return ""
	}
	mt := ref.Value.Content.Get(ct)
	var v any
	if mt == nil || mt.Schema == nil || json.Unmarshal(body, &v) != nil {
		return ""
	}
	var bad []string
	walkDateTimes(mt.Schema, v, "", &bad)
	if len(bad) > 0 {
		return "times not RFC 3339 UTC with at most microseconds: " + strings.Join(bad, ", ")
	}
	return ""
}

// walkDateTimes appends to bad the path and value of every string of v
// whose schema (ref) has format date-time and does not match apiTimeRE.
func walkDateTimes(ref *openapi3.SchemaRef, v any, path string, bad *[]string) {
	if ref == nil || ref.Value == nil {
		return
	}
	s := ref.Value
	for _, sub := range slices.Concat(s.AnyOf, s.OneOf, s.AllOf) {
		walkDateTimes(sub, v, path, bad)
	}
	switch x := v.(type) {
	case string:
		if s.Format == "date-time" && !apiTimeRE.MatchString(x) {
			*bad = append(*bad, path+"="+x)
		}
	case []any:
		for i, item := range x {
			walkDateTimes(s.Items, item, fmt.Sprintf("%s[%d]", path, i), bad)
		}
	case map[string]any:
		for k, item := range x {
			if p, ok := s.Properties[k]; ok {
				walkDateTimes(p, item, path+"."+k, bad)
			} else {
				walkDateTimes(s.AdditionalProperties.Schema, item, path+"."+k, bad)
			}
		}
	}
}

// TestContractTransportCatchesMismatches checks that the validating
// transport refuses what breaks the document: an undocumented status, a
// body that lacks a required field or has a field of the wrong type, and
// the wrong content type; and accepts a conforming answer.
func TestContractTransportCatchesMismatches(t *testing.T) {
	c := newContractTransport(t)
	req, err := http.NewRequest("GET", "http://127.0.0.1/api/v1/tenants/0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a", nil)
	if err != nil {
		t.Fatal(err)
	}
	good := `{"id":"0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a","name":"Acme","slug":"acme","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`
	for _, tc := range []struct {
		name, ct, body string
		status         int
		ok             bool
	}{
		{"conforming", "application/json", good, 200, true},
		{"problem", "application/problem+json", `{"type":"urn:maestro:problem:not_found","title":"Not Found","status":404,"code":"not_found"}`, 404, true},
		{"undocumented status", "application/json", good, 418, false},
		{"missing field", "application/json", `{"id":"0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a","name":"Acme"}`, 200, false},
		{"wrong type", "application/json", strings.Replace(good, `"name":"Acme"`, `"name":7`, 1), 200, false},
		{"extra field", "application/json", strings.Replace(good, `"name":"Acme"`, `"name":"Acme","tenant_id":"x"`, 1), 200, false},
		{"wrong content type", "text/plain", good, 200, false},
		{"microseconds", "application/json", strings.Replace(good, `05Z"`, `05.123456Z"`, 1), 200, true},
		{"nanoseconds", "application/json", strings.Replace(good, `05Z"`, `05.123456789Z"`, 1), 200, false},
		{"not UTC", "application/json", strings.Replace(good, `05Z"`, `05+02:00"`, 1), 200, false},
	} {
		res := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.ct}}}
		if msg := c.check(req, res, []byte(tc.body)); (msg == "") != tc.ok {
			t.Errorf("%s: check says %q, want ok=%v", tc.name, msg, tc.ok)
		}
	}
}

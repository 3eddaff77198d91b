package securitytest

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// scanner checks every response the suite receives, whatever the test
// was about: security headers, no secret or hash in the body, error bodies
// that leak no internals, no 500, and no data of a tenant other than the
// caller's. It is safe for concurrent use.
type scanner struct {
	mu        sync.Mutex
	values    []secretValue
	tenants   map[string][]string // tenant name -> strings (ids, markers) only it may see
	responses int
	errors    int
}

type secretValue struct{ what, value string }

func newScanner() *scanner { return &scanner{tenants: map[string][]string{}} }

// forbidValue records a secret that must never appear in a response body
// or in the server's log.
func (s *scanner) forbidValue(what, value string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values = append(s.values, secretValue{what, value})
}

// counts returns how many responses were checked and how many of them
// were errors.
func (s *scanner) counts() (responses, errors int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.responses, s.errors
}

// own records that data (an id, a unique marker) belongs to tenant: a
// response to another tenant's credential must not contain it.
func (s *scanner) own(tenant string, data ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range data {
		if d != "" {
			s.tenants[tenant] = append(s.tenants[tenant], d)
		}
	}
}

// disown removes data from every tenant's owned strings: for data that
// becomes shared on purpose (a user attached to a second tenant).
func (s *scanner) disown(data ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tenant, owned := range s.tenants {
		kept := owned[:0:0]
		for _, o := range owned {
			drop := false
			for _, d := range data {
				drop = drop || o == d
			}
			if !drop {
				kept = append(kept, o)
			}
		}
		s.tenants[tenant] = kept
	}
}

// secretValues returns a copy of the recorded secrets.
func (s *scanner) secretValues() []secretValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]secretValue(nil), s.values...)
}

// Substrings that betray a stored hash or key material in any body.
var hashMarkers = []string{"$argon2id$", "$argon2i$", "$2a$", "$2b$", "$2y$", "-----BEGIN", "PRIVATE KEY"}

// Substrings that an error body must not contain: stack traces, SQL,
// driver messages, file system paths, internal addresses.
var leakMarkers = []string{
	"goroutine ", "panic", ".go:", "runtime error", "stack trace",
	"sqlstate", "sql:", "gorm", "pq:", "pgx", "sqlite", "select ", "insert into", "update ", "delete from",
	"syntax error", "violates", "duplicate key", "unique constraint", "foreign key",
	"redis:", "dial tcp", "connection refused", "i/o timeout",
	"/work/", "/tmp/", "/home/", "/usr/", "/root/", "/var/",
}

// Keys that must never appear in a JSON body (lower-cased comparison).
func forbiddenKey(key string) bool {
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "password"), strings.Contains(k, "secret"),
		k == "hash", strings.HasSuffix(k, "_hash"), strings.HasPrefix(k, "hash_"), strings.Contains(k, "passwd"),
		k == "private_key", k == "jwt_secret", k == "api_key_hash":
		return true
	}
	return false
}

func (s *scanner) check(t testing.TB, rq req, sent []byte, r response) {
	t.Helper()
	s.mu.Lock()
	s.responses++
	if r.status >= 400 {
		s.errors++
	}
	values := append([]secretValue(nil), s.values...)
	tenants := make(map[string][]string, len(s.tenants))
	for k, v := range s.tenants {
		tenants[k] = v
	}
	s.mu.Unlock()

	what := rq.method + " " + rq.path
	// API8: headers on every response.
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", what, got)
	}
	if hsts := r.header.Get("Strict-Transport-Security"); !hstsOK(hsts) {
		t.Errorf("%s: Strict-Transport-Security %q, want max-age of at least one year over HTTPS", what, hsts)
	}
	if acao := r.header.Get("Access-Control-Allow-Origin"); acao == "*" ||
		(acao != "" && strings.EqualFold(r.header.Get("Access-Control-Allow-Credentials"), "true")) {
		t.Errorf("%s: permissive CORS: Allow-Origin %q, Allow-Credentials %q", what, acao,
			r.header.Get("Access-Control-Allow-Credentials"))
	}
	if sv := r.header.Get("Server"); sv != "" {
		t.Errorf("%s: Server header %q reveals the implementation", what, sv)
	}
	if r.status == http.StatusInternalServerError || (r.status >= 500 && !rq.allow503) {
		t.Errorf("%s: server error %d: %.300s", what, r.status, r.body)
	}
	if r.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 without WWW-Authenticate: Bearer", what)
	}
	if r.status == http.StatusTooManyRequests {
		if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: 429 with Retry-After %q", what, r.header.Get("Retry-After"))
		}
	}

	// API3: no secret, hash or token in any body.
	for _, v := range values {
		if bytes.Contains(r.body, []byte(v.value)) {
			t.Errorf("%s: response body contains %s", what, v.what)
		}
	}
	lower := bytes.ToLower(r.body)
	for _, m := range hashMarkers {
		if bytes.Contains(lower, []byte(strings.ToLower(m))) {
			t.Errorf("%s: response body contains %q (hash or key material)", what, m)
		}
	}
	ct, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if ct == "application/json" || ct == "application/problem+json" {
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s: %s body is not JSON: %v", what, ct, err)
		} else {
			walkKeys(v, func(k string) {
				if forbiddenKey(k) {
					t.Errorf("%s: response has a field %q", what, k)
				}
				if (k == "access_token" || k == "refresh_token") &&
					rq.path != "/api/v1/auth/login" && rq.path != "/api/v1/auth/refresh" {
					t.Errorf("%s: response carries %q outside login/refresh", what, k)
				}
			})
			created := rq.method == "POST" && rq.path == "/api/v1/auth/api-keys" && r.status == http.StatusCreated
			walkStrings(v, func(s string) {
				if apiKeyLike.MatchString(s) && !created {
					t.Errorf("%s: response carries an API key outside its creation", what)
				}
			})
		}
	}

	// API8: error bodies are problem+json (the web dashboard's pages,
	// outside /api and /health, answer errors as pages) and leak nothing.
	if r.status >= 400 {
		page := !strings.HasPrefix(rq.path, "/api/") && !strings.HasPrefix(rq.path, "/health") && ct == "text/html"
		if ct != "application/problem+json" && !page {
			t.Errorf("%s: error %d with Content-Type %q, want application/problem+json", what, r.status, ct)
		}
		echo := strings.ToLower(what)
		if u, err := url.QueryUnescape(rq.path); err == nil {
			echo += " " + strings.ToLower(u)
		}
		echo += " " + strings.ToLower(string(sent))
		for _, m := range leakMarkers {
			if bytes.Contains(lower, []byte(m)) && !strings.Contains(echo, m) {
				t.Errorf("%s: error body leaks %q: %.300s", what, m, r.body)
			}
		}
	}

	// API1: a tenant's credential never sees another tenant's data (unless
	// the caller sent that string itself, e.g. an id in the path).
	if rq.owner != "" {
		for tenant, data := range tenants {
			if tenant == rq.owner {
				continue
			}
			for _, d := range data {
				if bytes.Contains(r.body, []byte(d)) && !strings.Contains(rq.path, d) && !bytes.Contains(sent, []byte(d)) {
					t.Errorf("%s by tenant %s: response holds tenant %s's data %q: %.300s", what, rq.owner, tenant, d, r.body)
				}
			}
		}
	}
}

// hstsOK reports whether an HSTS header has max-age of at least a year.
func hstsOK(h string) bool {
	for _, part := range strings.Split(h, ";") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(strings.ToLower(part), "max-age="); ok {
			n, err := strconv.Atoi(strings.Trim(v, `"`))
			return err == nil && n >= 31536000
		}
	}
	return false
}

// apiKeyLike matches a whole API key (its 12-character prefix is public).
var apiKeyLike = regexp.MustCompile(`^mst_[A-Za-z0-9]{20,}`)

// walkStrings calls f with every string value in v, recursively.
func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case map[string]any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	}
}

// walkKeys calls f with every object key in v, recursively.
func walkKeys(v any, f func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f(k)
			walkKeys(e, f)
		}
	case []any:
		for _, e := range x {
			walkKeys(e, f)
		}
	}
}

// checkLog fails when the server's log holds a recorded secret or hash.
func (s *scanner) checkLog(t testing.TB, log string) {
	t.Helper()
	for _, v := range s.secretValues() {
		if strings.Contains(log, v.value) {
			t.Errorf("the server log contains %s", v.what)
		}
	}
	for _, m := range hashMarkers {
		if strings.Contains(log, m) {
			t.Errorf("the server log contains %q (hash or key material)", m)
		}
	}
}

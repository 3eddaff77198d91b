package securitytest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
)

func testMisconfiguration(t *testing.T, w *world) {
	p, a := w.p, w.a
	t.Run("CORS", func(t *testing.T) {
		evil := "https://evil.example"
		for _, rq := range []req{
			{method: "GET", path: "/api/v1/auth/me", token: a.viewer.access, owner: a.slug, header: map[string]string{"Origin": evil}},
			{method: "OPTIONS", path: "/api/v1/projects", header: map[string]string{"Origin": evil,
				"Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "authorization"}},
			{method: "POST", path: "/api/v1/auth/login", header: map[string]string{"Origin": "null"},
				body: map[string]any{"username": "cors" + randHex(4), "password": "y"}, client: p.newClient(randomLoopback())},
		} {
			r := p.do(t, rq)
			if acao := r.header.Get("Access-Control-Allow-Origin"); acao != "" {
				t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q", rq.method, rq.path, rq.header["Origin"], acao)
			}
			if r.status >= 200 && r.status < 300 && rq.method == "OPTIONS" {
				t.Errorf("CORS preflight answered %d", r.status)
			}
		}
	})
	t.Run("headers", func(t *testing.T) {
		r := p.do(t, req{method: "GET", path: "/api/v1/projects", token: a.viewer.access, owner: a.slug})
		for h, wantV := range map[string]string{
			"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		} {
			if got := r.header.Get(h); got != wantV {
				t.Errorf("%s: %q, want %q", h, got, wantV)
			}
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
	})
	t.Run("error bodies", func(t *testing.T) {
		// Every error path the suite can reach cheaply; the scanner checks
		// each body for stacks, SQL, driver messages and paths.
		cases := []req{
			{method: "GET", path: "/api/v1/nope"},
			{method: "TRACE", path: "/api/v1/projects"},
			{method: "DELETE", path: "/health/live"},
			{method: "GET", path: "/api/v1/projects/not-a-uuid", token: a.viewer.access},
			{method: "GET", path: "/api/v1/projects/" + strings.Repeat("9", 2000), token: a.viewer.access},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: "{"},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: `{"name":1}`},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: `{} {}`},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: `{"name":"x"}`, contentType: "text/plain"},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: `{"name":"x","problem_class":"other","complexity_score":1e400,"team_size":1}`},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: `{"name":"x","problem_class":"other","complexity_score":11,"team_size":1}`},
			{method: "POST", path: "/api/v1/projects", token: a.member.access, body: `{"name":"x","problem_class":"other","complexity_score":1,"team_size":1,"spec":{"user_stories":"notalist"}}`},
			{method: "POST", path: "/api/v1/runs/" + a.run + "/metrics", token: a.member.access, body: `[{"key":"k","value":"NaN"}]`},
			{method: "POST", path: "/api/v1/runs/" + a.run + "/metrics", token: a.member.access, body: `[]`},
			{method: "POST", path: "/api/v1/models", token: a.member.access, body: `{"name":"` + a.model + `"}`},
			{method: "PUT", path: "/api/v1/models/" + a.model + "/aliases/x", token: a.member.access, body: `{"version":999}`},
			{method: "POST", path: "/api/v1/tenants", token: w.superadmin.access, body: `{"name":"dup","slug":"` + a.slug + `"}`},
			{method: "POST", path: "/api/v1/auth/login", body: `{"username":"","password":""}`},
		}
		for _, rq := range cases {
			if rq.owner == "" && rq.token != "" {
				rq.owner = a.slug
			}
			if rq.path == "/api/v1/auth/login" {
				rq.client = p.newClient(randomLoopback())
			}
			r := p.do(t, rq)
			if r.status < 400 {
				t.Errorf("%s %s %.60v: %d, want an error", rq.method, rq.path, rq.body, r.status)
			}
		}
	})
	t.Run("stored content is never rendered", func(t *testing.T) {
		// Artifact content is arbitrary bytes from a member: served back,
		// it must not be interpreted by a browser as a page.
		art, err := a.member.api.CreateArtifact(context.Background(), client.ArtifactInput{Name: "page " + randHex(3), Type: "other", Version: "1"})
		if err != nil {
			t.Fatalf("artifact: %v", err)
		}
		id := art.ID
		rq := as(a.member)
		rq.method, rq.path, rq.contentType = "PUT", "/api/v1/artifacts/"+id+"/content", "text/html"
		rq.body = []byte("<html><script>alert(document.cookie)</script></html>")
		mustStatus(t, p.do(t, rq), http.StatusOK, "upload HTML")
		r := w.do(t, a.viewer, "GET", "/api/v1/artifacts/"+id+"/content", nil)
		mustStatus(t, r, http.StatusOK, "download")
		if ct := r.header.Get("Content-Type"); strings.Contains(ct, "html") || strings.Contains(ct, "javascript") {
			t.Errorf("uploaded HTML is served as %q", ct)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("artifact content without a restrictive CSP: %q", csp)
		}
	})
	t.Run("MAESTRO_HOME is private", func(t *testing.T) {
		home := filepath.Join(p.home, "maestro")
		fi, err := os.Stat(home)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("MAESTRO_HOME has mode %o, want no access for group and others", perm)
		}
		entries, _ := os.ReadDir(home)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && !e.IsDir() && strings.Contains(e.Name(), "secret") && info.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s has mode %o", e.Name(), info.Mode().Perm())
			}
		}
	})
	t.Run("no open redirect", func(t *testing.T) {
		// The router redirects unclean paths; the target must stay a path
		// on this server, never "//host" (protocol-relative) or absolute.
		for _, path := range []string{"//evil.example/", "//evil.example/%2e%2e", "/api//v1/projects", "/api/v1/../../x"} {
			r := p.do(t, req{method: "GET", path: path})
			loc := r.header.Get("Location")
			if loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "evil.example/%2e")) {
				t.Errorf("GET %s redirects to %q", path, loc)
			}
		}
	})
	t.Run("readiness leaks nothing", func(t *testing.T) {
		r := p.do(t, req{method: "GET", path: "/health/ready"})
		want(t, r, http.StatusOK, "ready")
		for _, s := range []string{"postgres", "redis://", "sqlite", "version", "maestro.db", "127.0.0.1"} {
			if strings.Contains(strings.ToLower(string(r.body)), s) {
				t.Errorf("/health/ready reveals %q: %s", s, r.body)
			}
		}
	})
	t.Run("TLS versions and suites", func(t *testing.T) { testTLS(t, p) })
	t.Run("plain HTTP on the HTTPS port", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", a.viewer.access)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		if strings.Contains(line, " 200 ") {
			t.Errorf("plain HTTP served on the HTTPS port: %q", line)
		}
	})
}

// testTLS checks protocol versions and cipher suites: TLS 1.0 and 1.1 and
// CBC or non-forward-secret suites refused, TLS 1.2 with an ECDHE AEAD
// suite and TLS 1.3 accepted.
func testTLS(t *testing.T, p *proc) {
	dial := func(cfg *tls.Config) (*tls.ConnectionState, error) {
		cfg.RootCAs, cfg.ServerName = p.roots, "127.0.0.1"
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", p.addr, cfg)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		st := c.ConnectionState()
		return &st, nil
	}
	for _, c := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		// Deliberately weak clients (gosec G402 on these lines): the
		// server must refuse them.
		{"TLS 1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, false}, // #nosec G402 -- a TLS 1.0/1.1 client the server must refuse
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}, false}, // #nosec G402 -- a TLS 1.0/1.1 client the server must refuse
		{"TLS 1.2 ECDHE-ECDSA-AES128-GCM", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, // #nosec G402 -- pinned to TLS 1.2 to check its suites
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.2 ECDHE-ECDSA-CHACHA20", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, // #nosec G402 -- pinned to TLS 1.2 to check its suites
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, true},
		{"TLS 1.2 CBC (ECDHE-ECDSA-AES128-SHA)", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, false}, // #nosec G402 -- must be refused
		{"TLS 1.2 CBC-SHA256", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}, false}, // #nosec G402 -- must be refused
		{"TLS 1.2 static RSA", &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}}, false}, // #nosec G402 -- must be refused
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
	} {
		st, err := dial(c.cfg)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s refused: %v", c.name, err)
		case !c.ok && err == nil:
			t.Errorf("%s accepted (negotiated %s)", c.name, tls.CipherSuiteName(st.CipherSuite))
		case c.ok:
			t.Logf("%s: %s", c.name, tls.CipherSuiteName(st.CipherSuite))
		}
	}
}

package secrets_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

func helloFor(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }

func TestHSTS(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name    string
		opts    []secrets.HSTSOption
		tls     bool
		want    string
		wantErr bool
	}{
		{name: "default", tls: true, want: "max-age=63072000"},
		{name: "not over plain HTTP", tls: false, want: ""},
		{name: "behind proxy", opts: []secrets.HSTSOption{secrets.HSTSBehindProxy()}, want: "max-age=63072000"},
		{name: "one year with subdomains", opts: []secrets.HSTSOption{secrets.HSTSMaxAge(365 * 24 * time.Hour), secrets.HSTSIncludeSubDomains()}, tls: true, want: "max-age=31536000; includeSubDomains"},
		{name: "preload", opts: []secrets.HSTSOption{secrets.HSTSIncludeSubDomains(), secrets.HSTSPreload()}, tls: true, want: "max-age=63072000; includeSubDomains; preload"},
		{name: "too short", opts: []secrets.HSTSOption{secrets.HSTSMaxAge(24 * time.Hour)}, wantErr: true},
		{name: "preload without subdomains", opts: []secrets.HSTSOption{secrets.HSTSPreload()}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mw, err := secrets.HSTS(tc.opts...)
			if tc.wantErr {
				if err == nil {
					t.Fatal("HSTS accepted invalid options")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
			if !tc.tls {
				req.TLS = nil
			}
			rec := httptest.NewRecorder()
			mw(ok).ServeHTTP(rec, req)
			if got := rec.Header().Get("Strict-Transport-Security"); got != tc.want {
				t.Fatalf("header = %q, want %q", got, tc.want)
			}
			if rec.Code != http.StatusNoContent {
				t.Fatalf("next handler not called: %d", rec.Code)
			}
		})
	}
}

func TestRedirectHTTPS(t *testing.T) {
	t.Parallel()
	h, err := secrets.RedirectHTTPS([]string{"Example.com", "127.0.0.1", "[::1]"})
	if err != nil {
		t.Fatal(err)
	}
	h8443, err := secrets.RedirectHTTPS([]string{"example.com", "::1"}, secrets.RedirectPort(8443))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		handler http.Handler
		method  string
		target  string
		host    string
		code    int
		loc     string
	}{
		{"get", h, "GET", "/a/b?x=1", "example.com", 301, "https://example.com/a/b?x=1"},
		{"case, port and dot", h, "HEAD", "/", "EXAMPLE.com.:80", 301, "https://example.com/"},
		{"post keeps method", h, "POST", "/login", "example.com", 308, "https://example.com/login"},
		{"ip", h, "GET", "/", "127.0.0.1:80", 301, "https://127.0.0.1/"},
		{"ipv6", h, "GET", "/", "[::1]:80", 301, "https://[::1]/"},
		{"port", h8443, "GET", "/p", "example.com", 301, "https://example.com:8443/p"},
		{"ipv6 port", h8443, "GET", "/p", "[::1]", 301, "https://[::1]:8443/p"},
		{"escaped path", h, "GET", "/a%2Fb%20c", "example.com", 301, "https://example.com/a%2Fb%20c"},
		{"double slash stays on host", h, "GET", "//evil.test/x", "example.com", 301, "https://example.com//evil.test/x"},
		{"unknown host", h, "GET", "/", "evil.test", 400, ""},
		{"subdomain of allowed host", h, "GET", "/", "a.example.com", 400, ""},
		{"empty host", h, "GET", "/", "", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tc.method, "http://placeholder"+tc.target, nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			if rec.Code != tc.code || rec.Header().Get("Location") != tc.loc {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), tc.code, tc.loc)
			}
			if tc.code == 400 && strings.Contains(rec.Body.String(), tc.host) && tc.host != "" {
				t.Fatal("error page reflects the Host header")
			}
		})
	}
}

func TestRedirectHTTPSConfigErrors(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		hosts []string
		opts  []secrets.RedirectOption
	}{
		"no hosts":  {nil, nil},
		"bad host":  {[]string{"exa mple.com"}, nil},
		"wildcard":  {[]string{"*.example.com"}, nil},
		"port zero": {[]string{"example.com"}, []secrets.RedirectOption{secrets.RedirectPort(0)}},
		"port high": {[]string{"example.com"}, []secrets.RedirectOption{secrets.RedirectPort(70000)}},
	} {
		if _, err := secrets.RedirectHTTPS(c.hosts, c.opts...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

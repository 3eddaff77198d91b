package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/secrets"
)

const testToken = "hvs.CAESIJtesttokendonotleak"

// fakeVault is an httptest server speaking enough of Vault's KV version 2
// API: GET /v1/<mount>/data/<path> with token and namespace checks, and
// switches for the failure modes.
type fakeVault struct {
	mu        sync.Mutex
	mount     string
	secrets   map[string]map[string]any // path -> data
	deleted   map[string]bool           // path -> latest version soft-deleted
	destroyed map[string]bool
	sealed    bool
	namespace string // required X-Vault-Namespace, if set
	raw       map[string]string
	lastPath  string
	echoToken bool
}

func newFakeVault() *fakeVault {
	return &fakeVault{
		mount:     "secret",
		secrets:   map[string]map[string]any{},
		deleted:   map[string]bool{},
		destroyed: map[string]bool{},
		raw:       map[string]string{},
	}
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastPath = r.URL.Path
	w.Header().Set("Content-Type", "application/json")
	writeErr := func(code int, msgs ...string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": msgs})
	}
	if f.sealed {
		writeErr(http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	if r.Header.Get("X-Vault-Token") != testToken || r.Header.Get("X-Vault-Request") != "true" {
		if f.echoToken {
			writeErr(http.StatusForbidden, "permission denied for token "+r.Header.Get("X-Vault-Token"))
			return
		}
		writeErr(http.StatusForbidden, "permission denied")
		return
	}
	if f.namespace != "" && r.Header.Get("X-Vault-Namespace") != f.namespace {
		writeErr(http.StatusForbidden, "permission denied")
		return
	}
	prefix := "/v1/" + f.mount + "/data/"
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix) {
		writeErr(http.StatusNotFound)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, prefix)
	if body, ok := f.raw[path]; ok {
		_, _ = w.Write([]byte(body))
		return
	}
	data, ok := f.secrets[path]
	if !ok {
		writeErr(http.StatusNotFound)
		return
	}
	md := map[string]any{"created_time": "2026-11-27T09:00:00Z", "deletion_time": "", "destroyed": false, "version": 3}
	if f.deleted[path] || f.destroyed[path] {
		// Vault answers 404 with the metadata for a deleted version.
		md["deletion_time"] = "2026-11-27T10:00:00Z"
		md["destroyed"] = f.destroyed[path]
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": nil, "metadata": md}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "r", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{"data": data, "metadata": md},
	})
}

func newVault(t *testing.T, f *fakeVault, opts ...secrets.VaultOption) *secrets.VaultProvider {
	t.Helper()
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	base := []secrets.VaultOption{secrets.VaultHTTPClient(srv.Client()), secrets.VaultToken(testToken), secrets.VaultPath("maestro/prod")}
	v, err := secrets.Vault(srv.URL, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVault(t *testing.T) {
	t.Parallel()
	f := newFakeVault()
	f.secrets["maestro/prod"] = map[string]any{"JWT": "jwt-value", "EMPTY": "", "NUM": 42, "NULL": nil}
	f.secrets["maestro/prod/db"] = map[string]any{"password": "db-value"}
	f.secrets["maestro/prod/gone"] = map[string]any{"x": "y"}
	f.deleted["maestro/prod/gone"] = true
	f.secrets["maestro/prod/shredded"] = map[string]any{"x": "y"}
	f.destroyed["maestro/prod/shredded"] = true
	f.raw["maestro/prod/badjson"] = `{"data": {"data": {"x": "y"`
	f.raw["maestro/prod/nodata"] = `{"warnings": null}`
	f.raw["maestro/prod/nulldata"] = `{"data": {"data": null, "metadata": {"version": 2, "deletion_time": "", "destroyed": true}}}`
	v := newVault(t, f)

	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{name: "JWT", want: "jwt-value"},
		{name: "EMPTY", want: ""},
		{name: "db#password", want: "db-value"},
		{name: "ABSENT", wantErr: secrets.ErrNotFound},
		{name: "nope#x", wantErr: secrets.ErrNotFound},
		{name: "gone#x", wantErr: secrets.ErrNotFound},
		{name: "shredded#x", wantErr: secrets.ErrNotFound},
		{name: "nulldata#x", wantErr: secrets.ErrNotFound},
		{name: "NUM", wantErr: secrets.ErrMalformed},
		{name: "NULL", wantErr: secrets.ErrMalformed},
		{name: "badjson#x", wantErr: secrets.ErrMalformed},
		{name: "nodata#x", wantErr: secrets.ErrMalformed},
		{name: "", wantErr: secrets.ErrInvalidName},
		{name: "../sys#x", wantErr: secrets.ErrInvalidName},
		{name: "a//b#x", wantErr: secrets.ErrInvalidName},
		{name: "#x", wantErr: secrets.ErrInvalidName},
		{name: "db#", wantErr: secrets.ErrInvalidName},
		{name: "a?b#x", wantErr: secrets.ErrInvalidName},
		{name: "key\nwith newline", wantErr: secrets.ErrInvalidName},
		{name: "bad\xffutf8", wantErr: secrets.ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.Get(context.Background(), tc.name)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get = %q, %v; want %v", got, err, tc.wantErr)
				}
				if tc.wantErr != secrets.ErrNotFound && errors.Is(err, secrets.ErrNotFound) {
					t.Fatalf("%v must not match ErrNotFound", err)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("Get = %q, %v; want %q", got, err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func TestVaultRequestPath(t *testing.T) {
	t.Parallel()
	f := newFakeVault()
	f.mount = "team/kv"
	f.secrets["maestro/prod"] = map[string]any{"K": "v"}
	f.namespace = "ns1"
	v := newVault(t, f, secrets.VaultMount("/team/kv/"), secrets.VaultNamespace("ns1"))
	if got, err := v.Get(context.Background(), "K"); err != nil || got != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	f.mu.Lock()
	if f.lastPath != "/v1/team/kv/data/maestro/prod" {
		t.Errorf("path = %q", f.lastPath)
	}
	f.namespace = "other"
	f.mu.Unlock()
	if _, err := v.Get(context.Background(), "K"); !errors.Is(err, secrets.ErrPermission) {
		t.Fatalf("wrong namespace: %v", err)
	}
}

func TestVaultErrors(t *testing.T) {
	t.Parallel()
	t.Run("forbidden", func(t *testing.T) {
		t.Parallel()
		f := newFakeVault()
		v := newVault(t, f, secrets.VaultToken("hvs.wrong-token-value"))
		_, err := v.Get(context.Background(), "K")
		var verr *secrets.VaultError
		if !errors.Is(err, secrets.ErrPermission) || !errors.As(err, &verr) || verr.StatusCode != 403 {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "wrong-token-value") {
			t.Fatalf("token leaked: %v", err)
		}
	})
	t.Run("forbidden echoing the token", func(t *testing.T) {
		t.Parallel()
		f := newFakeVault()
		f.echoToken = true
		v := newVault(t, f, secrets.VaultToken("hvs.echoed-token-value"))
		_, err := v.Get(context.Background(), "K")
		if !errors.Is(err, secrets.ErrPermission) || strings.Contains(err.Error(), "echoed-token-value") || !strings.Contains(err.Error(), "[redacted]") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sealed", func(t *testing.T) {
		t.Parallel()
		f := newFakeVault()
		f.sealed = true
		_, err := newVault(t, f).Get(context.Background(), "K")
		if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "sealed") || errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "<html>oops</html>", http.StatusInternalServerError)
		}))
		defer srv.Close()
		v, _ := secrets.Vault(srv.URL, secrets.VaultHTTPClient(srv.Client()), secrets.VaultToken(testToken), secrets.VaultPath("p"))
		_, err := v.Get(context.Background(), "K")
		var verr *secrets.VaultError
		if !errors.As(err, &verr) || verr.StatusCode != 500 || errors.Is(err, secrets.ErrNotFound) || errors.Is(err, secrets.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("redirect is not followed", func(t *testing.T) {
		t.Parallel()
		var leaked bool
		thief := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			leaked = r.Header.Get("X-Vault-Token") != ""
		}))
		defer thief.Close()
		srv := httptest.NewTLSServer(http.RedirectHandler(thief.URL, http.StatusTemporaryRedirect))
		defer srv.Close()
		v, _ := secrets.Vault(srv.URL, secrets.VaultHTTPClient(srv.Client()), secrets.VaultToken(testToken), secrets.VaultPath("p"))
		_, err := v.Get(context.Background(), "K")
		var verr *secrets.VaultError
		if !errors.As(err, &verr) || verr.StatusCode != http.StatusTemporaryRedirect || leaked {
			t.Fatalf("err = %v, leaked = %v", err, leaked)
		}
	})
	t.Run("huge response", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"data":{"data":{"K":"` + strings.Repeat("a", 2<<20) + `"}}}`))
		}))
		defer srv.Close()
		v, _ := secrets.Vault(srv.URL, secrets.VaultHTTPClient(srv.Client()), secrets.VaultToken(testToken), secrets.VaultPath("p"))
		if _, err := v.Get(context.Background(), "K"); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		block := make(chan struct{})
		srv := httptest.NewTLSServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(block)
		v, _ := secrets.Vault(srv.URL, secrets.VaultHTTPClient(srv.Client()), secrets.VaultToken(testToken), secrets.VaultPath("p"), secrets.VaultTimeout(50*time.Millisecond))
		_, err := v.Get(context.Background(), "K")
		if !errors.Is(err, secrets.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewTLSServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		v, _ := secrets.Vault(url, secrets.VaultToken(testToken), secrets.VaultPath("p"))
		_, err := v.Get(context.Background(), "K")
		if !errors.Is(err, secrets.ErrUnavailable) || strings.Contains(err.Error(), testToken) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no path", func(t *testing.T) {
		t.Parallel()
		v, err := secrets.Vault("https://vault.example:8200", secrets.VaultToken(testToken))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Get(context.Background(), "K"); !errors.Is(err, secrets.ErrInvalidName) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestVaultTokenFrom(t *testing.T) {
	t.Parallel()
	f := newFakeVault()
	f.secrets["maestro/prod"] = map[string]any{"K": "v"}
	env := map[string]string{}
	var mu sync.Mutex
	tokens := secrets.ProviderFunc(func(_ context.Context, name string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		v, ok := env[name]
		if !ok {
			return "", secrets.ErrNotFound
		}
		return v, nil
	})
	v := newVault(t, f, secrets.VaultTokenFrom(tokens, "VAULT_TOKEN"))
	ctx := context.Background()

	_, err := v.Get(ctx, "K")
	if err == nil || errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("absent token must not read as an absent secret: %v", err)
	}
	mu.Lock()
	env["VAULT_TOKEN"] = ""
	mu.Unlock()
	if _, err := v.Get(ctx, "K"); !errors.Is(err, secrets.ErrPermission) {
		t.Fatalf("empty token: %v", err)
	}
	mu.Lock()
	env["VAULT_TOKEN"] = testToken
	mu.Unlock()
	if got, err := v.Get(ctx, "K"); err != nil || got != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestVaultConstructor(t *testing.T) {
	t.Parallel()
	tok := secrets.VaultToken("t")
	tests := []struct {
		name string
		addr string
		opts []secrets.VaultOption
		ok   bool
	}{
		{"https", "https://vault:8200", []secrets.VaultOption{tok}, true},
		{"https with base path", "https://proxy/vault/", []secrets.VaultOption{tok}, true},
		{"http refused", "http://vault:8200", []secrets.VaultOption{tok}, false},
		{"http allowed", "http://127.0.0.1:8200", []secrets.VaultOption{tok, secrets.VaultAllowHTTP()}, true},
		{"other scheme", "ftp://vault", []secrets.VaultOption{tok, secrets.VaultAllowHTTP()}, false},
		{"no host", "https://", []secrets.VaultOption{tok}, false},
		{"userinfo", "https://u:p@vault", []secrets.VaultOption{tok}, false},
		{"query", "https://vault?x=1", []secrets.VaultOption{tok}, false},
		{"unparsable", "https://vault:port\x7f", []secrets.VaultOption{tok}, false},
		{"no token", "https://vault", nil, false},
		{"nil token provider", "https://vault", []secrets.VaultOption{secrets.VaultTokenFrom(nil, "x")}, false},
		{"bad mount", "https://vault", []secrets.VaultOption{tok, secrets.VaultMount("a/../b")}, false},
		{"empty mount", "https://vault", []secrets.VaultOption{tok, secrets.VaultMount("/")}, false},
		{"bad path", "https://vault", []secrets.VaultOption{tok, secrets.VaultPath("a b")}, false},
		{"options", "https://vault", []secrets.VaultOption{tok, secrets.VaultTimeout(time.Second), secrets.VaultNamespace("ns")}, true},
		{"zero timeout", "https://vault", []secrets.VaultOption{tok, secrets.VaultTimeout(0)}, false},
		{"negative timeout", "https://vault", []secrets.VaultOption{tok, secrets.VaultTimeout(-1)}, false},
		{"nil client", "https://vault", []secrets.VaultOption{tok, secrets.VaultHTTPClient(nil)}, false},
		{"empty token", "https://vault", []secrets.VaultOption{secrets.VaultToken("")}, false},
		{"empty token name", "https://vault", []secrets.VaultOption{secrets.VaultTokenFrom(secrets.Env(), "")}, false},
		{"nil option", "https://vault", []secrets.VaultOption{tok, nil}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := secrets.Vault(tc.addr, tc.opts...)
			if (err == nil) != tc.ok {
				t.Fatalf("Vault(%q) err = %v, want ok=%v", tc.addr, err, tc.ok)
			}
			if err != nil && !errors.Is(err, secrets.ErrInvalid) {
				t.Fatalf("Vault(%q) err = %v, want ErrInvalid", tc.addr, err)
			}
		})
	}
}

func TestVaultErrorMessagesBounded(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		msgs := make([]string, 20)
		for i := range msgs {
			msgs[i] = "forged\nlog line " + strings.Repeat("m", 1000)
		}
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": msgs})
	}))
	defer srv.Close()
	v, _ := secrets.Vault(srv.URL, secrets.VaultHTTPClient(srv.Client()), secrets.VaultToken(testToken), secrets.VaultPath("p"))
	_, err := v.Get(context.Background(), "K")
	var verr *secrets.VaultError
	if !errors.As(err, &verr) || len(verr.Messages) != 5 || len(verr.Messages[0]) > 210 || len(err.Error()) > 2000 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("messages not bounded: %d messages, %d bytes", len(verr.Messages), len(err.Error()))
	}
}

func TestVaultKeyWithHash(t *testing.T) {
	t.Parallel()
	f := newFakeVault()
	f.secrets["maestro/prod/db"] = map[string]any{"pass#word": "v"}
	v := newVault(t, f)
	if got, err := v.Get(context.Background(), "db#pass#word"); err != nil || got != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

package secrets_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/secrets"
)

// FuzzDirName feeds arbitrary names to a DirProvider whose directory sits
// next to a file it must never reveal.
func FuzzDirName(f *testing.F) {
	for _, seed := range []string{
		"db-password", "../outside", "..", ".", "..data", "a/b", "/etc/passwd", `..\outside`,
		"", ".hidden", "x\x00y", "%2e%2e", "outside", strings.Repeat("a", 300), "link",
	} {
		f.Add(seed)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "secrets")
	mustMkdir(f, dir)
	mustWrite(f, filepath.Join(parent, "outside"), "OUTSIDE")
	mustWrite(f, filepath.Join(dir, "db-password"), "inside")
	mustSymlink(f, filepath.Join(parent, "outside"), filepath.Join(dir, "link"))
	p := secrets.Dir(dir)

	f.Fuzz(func(t *testing.T, name string) {
		v, err := p.Get(context.Background(), name)
		valid := secrets.ValidFileName(name) == nil
		if err == nil {
			if !valid {
				t.Fatalf("Get(%q) succeeded for an invalid name", name)
			}
			if v != "inside" {
				t.Fatalf("Get(%q) = %q: read something other than the one secret", name, v)
			}
		}
		if valid && (strings.ContainsAny(name, `/\`+"\x00") || name == "." || strings.HasPrefix(name, "..")) {
			t.Fatalf("ValidFileName accepted %q", name)
		}
		if !valid && !errors.Is(err, secrets.ErrInvalidName) {
			t.Fatalf("invalid name %q: err = %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "OUTSIDE") {
			t.Fatalf("error reveals the outside file: %v", err)
		}
	})
}

// FuzzEnvName feeds arbitrary names and NAME_FILE contents to an
// EnvProvider.
func FuzzEnvName(f *testing.F) {
	for _, seed := range []struct{ name, content string }{
		{"A", "v\n"}, {"A_B", "v\r\n\r\n"}, {"1A", ""}, {"A=B", "x"}, {"", ""}, {"a b", "x"}, {"Ä", "x"},
	} {
		f.Add(seed.name, seed.content)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, name, content string) {
		path := filepath.Join(dir, "f")
		mustWrite(t, path, content)
		p := secrets.Env(secrets.EnvLookup(func(k string) (string, bool) {
			if k == name+"_FILE" {
				return path, true
			}
			return "", false
		}))
		v, err := p.Get(context.Background(), name)
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidName) && !errors.Is(err, secrets.ErrTooLarge) {
				t.Fatalf("Get(%q): %v", name, err)
			}
			return
		}
		if v != strings.TrimRight(content, "\r\n") {
			t.Fatalf("Get(%q) = %q from file %q", name, v, content)
		}
	})
}

// FuzzVaultResponse feeds arbitrary answers to the Vault provider.
func FuzzVaultResponse(f *testing.F) {
	for _, seed := range []struct {
		code int
		body string
	}{
		{200, `{"data":{"data":{"K":"v"},"metadata":{"version":1}}}`},
		{200, `{"data":{"data":null,"metadata":{"destroyed":true}}}`},
		{200, `{"data":{"data":{"K":1}}}`},
		{200, `{"data":`},
		{404, `{"errors":[]}`},
		{403, `{"errors":["permission denied ` + testToken + `"]}`},
		{503, `{"errors":["Vault is sealed"]}`},
		{500, `<html>`},
	} {
		f.Add(seed.code, seed.body, "K")
	}
	f.Fuzz(func(t *testing.T, code int, body, name string) {
		if code < 100 || code > 599 {
			return
		}
		rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}}, nil
		})
		v, err := secrets.Vault("https://vault.test", secrets.VaultHTTPClient(&http.Client{Transport: rt}), secrets.VaultToken(testToken), secrets.VaultPath("p"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Get(context.Background(), name)
		if err == nil && code != 200 {
			t.Fatalf("status %d accepted", code)
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Fatalf("error leaks the token: %v", err)
		}
	})
}

// FuzzCheckStrength checks that the strength check never panics and that
// its messages do not depend on the secret.
func FuzzCheckStrength(f *testing.F) {
	for _, seed := range []string{"", "changeme", "P@ssw0rd", strings.Repeat("ab", 30), "hL3mJ0o1yq3b2z5QvJmWq0w2gq5m6D4y1oQy7yq5l9E", "\xff\xfe\x00"} {
		f.Add(seed)
	}
	messages := map[string]bool{}
	for _, s := range []string{"x", "changeme-changeme-changeme-changeme", strings.Repeat("a", 40), "0123456789abcdef0123456789abcdef"} {
		messages[secrets.CheckStrength(s).Error()] = true
	}
	if len(messages) != 4 {
		f.Fatalf("expected four distinct messages, got %v", messages)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := secrets.CheckStrength(s)
		if err != nil && !messages[err.Error()] {
			t.Fatalf("unexpected message %q", err)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fataler interface {
	Helper()
	Fatal(args ...any)
}

func mustWrite(t fataler, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t fataler, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t fataler, oldname, newname string) {
	t.Helper()
	if err := os.Symlink(oldname, newname); err != nil {
		t.Fatal(err)
	}
}

package secrets_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/secrets"
)

// mapEnv is an environment for EnvLookup.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	withNewline := writeFile(t, dir, "nl", "from-file\n")
	withCRLF := writeFile(t, dir, "crlf", "  spaced value \r\n\r\n")
	empty := writeFile(t, dir, "empty", "")
	big := writeFile(t, dir, "big", strings.Repeat("x", 100))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		env     map[string]string
		opts    []secrets.EnvOption
		get     string
		want    string
		wantErr error // matched with errors.Is; nil means success
		anyErr  bool  // an error that matches none of the sentinels
	}{
		{name: "direct", env: map[string]string{"A": "v"}, get: "A", want: "v"},
		{name: "empty value is a value", env: map[string]string{"A": ""}, get: "A", want: ""},
		{name: "absent", env: map[string]string{}, get: "A", wantErr: secrets.ErrNotFound},
		{name: "file", env: map[string]string{"A_FILE": withNewline}, get: "A", want: "from-file"},
		{name: "file keeps spaces, drops CRLF", env: map[string]string{"A_FILE": withCRLF}, get: "A", want: "  spaced value "},
		{name: "empty file is a value", env: map[string]string{"A_FILE": empty}, get: "A", want: ""},
		{name: "both set", env: map[string]string{"A": "v", "A_FILE": withNewline}, get: "A", wantErr: secrets.ErrConflict},
		{name: "both set, direct empty", env: map[string]string{"A": "", "A_FILE": withNewline}, get: "A", wantErr: secrets.ErrConflict},
		{name: "file missing is not absence", env: map[string]string{"A_FILE": filepath.Join(dir, "nope")}, get: "A", wantErr: fs.ErrNotExist},
		{name: "file path empty", env: map[string]string{"A_FILE": ""}, get: "A", anyErr: true},
		{name: "file is a directory", env: map[string]string{"A_FILE": filepath.Join(dir, "sub")}, get: "A", anyErr: true},
		{name: "file too large", env: map[string]string{"A_FILE": big}, opts: []secrets.EnvOption{secrets.EnvMaxFileSize(10)}, get: "A", wantErr: secrets.ErrTooLarge},
		{name: "prefix", env: map[string]string{"MAESTRO_A": "p"}, opts: []secrets.EnvOption{secrets.EnvPrefix("MAESTRO_")}, get: "A", want: "p"},
		{name: "prefix file", env: map[string]string{"MAESTRO_A_FILE": withNewline}, opts: []secrets.EnvOption{secrets.EnvPrefix("MAESTRO_")}, get: "A", want: "from-file"},
		{name: "prefix hides unprefixed", env: map[string]string{"A": "p"}, opts: []secrets.EnvOption{secrets.EnvPrefix("MAESTRO_")}, get: "A", wantErr: secrets.ErrNotFound},
		{name: "without files ignores NAME_FILE", env: map[string]string{"A_FILE": withNewline}, opts: []secrets.EnvOption{secrets.EnvWithoutFiles()}, get: "A", wantErr: secrets.ErrNotFound},
		{name: "without files, no conflict", env: map[string]string{"A": "v", "A_FILE": withNewline}, opts: []secrets.EnvOption{secrets.EnvWithoutFiles()}, get: "A", want: "v"},
		{name: "invalid name", env: map[string]string{}, get: "A=B", wantErr: secrets.ErrInvalidName},
		{name: "empty name", env: map[string]string{}, get: "", wantErr: secrets.ErrInvalidName},
		{name: "leading digit", env: map[string]string{}, get: "1A", wantErr: secrets.ErrInvalidName},
		{name: "digits later", env: map[string]string{"A1_B": "ok"}, get: "A1_B", want: "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := secrets.Env(append([]secrets.EnvOption{secrets.EnvLookup(mapEnv(tc.env))}, tc.opts...)...)
			got, err := p.Get(context.Background(), tc.get)
			switch {
			case tc.anyErr:
				if err == nil || errors.Is(err, secrets.ErrNotFound) {
					t.Fatalf("Get = %q, %v; want an error other than ErrNotFound", got, err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get = %q, %v; want %v", got, err, tc.wantErr)
				}
				if tc.wantErr != secrets.ErrNotFound && errors.Is(err, secrets.ErrNotFound) {
					t.Fatalf("error %v must not match ErrNotFound", err)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("Get = %q, %v; want %q", got, err, tc.want)
				}
			}
			var le *secrets.LookupError
			if err != nil && (!errors.As(err, &le) || le.Provider != "env") {
				t.Fatalf("error %v is not a *LookupError from env", err)
			}
		})
	}
}

func TestEnvConflictDoesNotLeakValue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := writeFile(t, dir, "s", "file-secret-value")
	p := secrets.Env(secrets.EnvLookup(mapEnv(map[string]string{"A": "direct-secret-value", "A_FILE": f})))
	_, err := p.Get(context.Background(), "A")
	if err == nil || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("error %v: want a conflict without values", err)
	}
}

func TestEnvProcessEnvironment(t *testing.T) {
	// t.Setenv forbids t.Parallel.
	t.Setenv("MAESTRO_SECRETS_TEST_VAR", "from-process")
	got, err := secrets.Env().Get(context.Background(), "MAESTRO_SECRETS_TEST_VAR")
	if err != nil || got != "from-process" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestEnvCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := secrets.Env(secrets.EnvLookup(mapEnv(map[string]string{"A": "v"}))).Get(ctx, "A")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestLookupErrorQuotesName(t *testing.T) {
	t.Parallel()
	_, err := secrets.Env(secrets.EnvLookup(mapEnv(nil))).Get(context.Background(), "bad\nname\"")
	if err == nil || strings.ContainsAny(err.Error(), "\n") || !strings.Contains(err.Error(), `bad\x0aname\"`) {
		t.Fatalf("err = %v; want the name escaped", err)
	}
	long := strings.Repeat("N", 300)
	_, err = secrets.Env(secrets.EnvLookup(mapEnv(nil))).Get(context.Background(), long)
	if err == nil || strings.Contains(err.Error(), long) || !strings.Contains(err.Error(), "...") {
		t.Fatalf("err = %v; want the name truncated", err)
	}
}

package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/maestro-ml/maestro/secrets"
)

// recorder is a provider that records calls and answers from a map; a name
// mapped to an error returns that error.
type recorder struct {
	label  string
	values map[string]any
	calls  *[]string
}

func (r recorder) Get(_ context.Context, name string) (string, error) {
	*r.calls = append(*r.calls, r.label)
	switch v := r.values[name].(type) {
	case string:
		return v, nil
	case error:
		return "", v
	}
	return "", fmt.Errorf("%s: %w", r.label, secrets.ErrNotFound)
}

func TestChain(t *testing.T) {
	t.Parallel()
	boom := errors.New("backend down")
	tests := []struct {
		name      string
		providers func(calls *[]string) []secrets.Provider
		want      string
		wantErr   error
		wantCalls []string
	}{
		{
			name: "first wins",
			providers: func(c *[]string) []secrets.Provider {
				return []secrets.Provider{recorder{"a", map[string]any{"k": "A"}, c}, recorder{"b", map[string]any{"k": "B"}, c}}
			},
			want: "A", wantCalls: []string{"a"},
		},
		{
			name: "not found falls through",
			providers: func(c *[]string) []secrets.Provider {
				return []secrets.Provider{recorder{"a", nil, c}, recorder{"b", map[string]any{"k": "B"}, c}}
			},
			want: "B", wantCalls: []string{"a", "b"},
		},
		{
			name: "empty value stops the search",
			providers: func(c *[]string) []secrets.Provider {
				return []secrets.Provider{recorder{"a", map[string]any{"k": ""}, c}, recorder{"b", map[string]any{"k": "B"}, c}}
			},
			want: "", wantCalls: []string{"a"},
		},
		{
			name: "other errors stop the search",
			providers: func(c *[]string) []secrets.Provider {
				return []secrets.Provider{recorder{"a", map[string]any{"k": boom}, c}, recorder{"b", map[string]any{"k": "B"}, c}}
			},
			wantErr: boom, wantCalls: []string{"a"},
		},
		{
			name: "none has it",
			providers: func(c *[]string) []secrets.Provider {
				return []secrets.Provider{recorder{"a", nil, c}, nil, recorder{"b", nil, c}}
			},
			wantErr: secrets.ErrNotFound, wantCalls: []string{"a", "b"},
		},
		{
			name:      "empty chain",
			providers: func(*[]string) []secrets.Provider { return nil },
			wantErr:   secrets.ErrNotFound,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls []string
			got, err := secrets.Chain(tc.providers(&calls)...).Get(context.Background(), "k")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get = %q, %v; want %v", got, err, tc.wantErr)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("Get = %q, %v; want %q", got, err, tc.want)
			}
			if fmt.Sprint(calls) != fmt.Sprint(tc.wantCalls) {
				t.Fatalf("calls = %v, want %v", calls, tc.wantCalls)
			}
		})
	}
}

func TestChainCopiesProviders(t *testing.T) {
	t.Parallel()
	ps := []secrets.Provider{secrets.ProviderFunc(func(context.Context, string) (string, error) { return "orig", nil })}
	c := secrets.Chain(ps...)
	ps[0] = secrets.ProviderFunc(func(context.Context, string) (string, error) { return "changed", nil })
	if v, _ := c.Get(context.Background(), "k"); v != "orig" {
		t.Fatalf("Get = %q; the chain must copy its providers", v)
	}
}

func TestChainStopsOnCanceledContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	p := secrets.Chain(secrets.ProviderFunc(func(context.Context, string) (string, error) {
		called = true
		return "v", nil
	}))
	if _, err := p.Get(ctx, "k"); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("err = %v, called = %v", err, called)
	}
}

func TestChainEnvThenDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "DB_URL", "from-dir")
	writeFile(t, dir, "API_KEY", "dir-key")
	p := secrets.Chain(
		secrets.Env(secrets.EnvLookup(mapEnv(map[string]string{"API_KEY": "env-key"}))),
		secrets.Dir(dir),
	)
	for name, want := range map[string]string{"DB_URL": "from-dir", "API_KEY": "env-key"} {
		if got, err := p.Get(context.Background(), name); err != nil || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
}

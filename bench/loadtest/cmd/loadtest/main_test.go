package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/bench/loadtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlags(t *testing.T) {
	t.Parallel()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withPW := env(map[string]string{"MAESTRO_ADMIN_PASSWORD": "from-env"})
	tests := []struct {
		name    string
		args    []string
		getenv  func(string) string
		check   func(*testing.T, loadtest.Config, outputs)
		wantErr string
	}{
		{"defaults", nil, withPW, func(t *testing.T, c loadtest.Config, o outputs) {
			if c.Target != "http://127.0.0.1:8080" || c.Admin.Password != "from-env" || c.Users != 50 ||
				c.Profile != loadtest.ProfileBaseline || c.Spike.Peak != 500 || o != (outputs{}) {
				t.Errorf("config %+v outputs %+v", c, o)
			}
		}, ""},
		{"everything", []string{"-profile", "stress", "-scenario", "login", "-users", "7", "-duration", "2m",
			"-think", "250ms", "-stress-max", "300", "-admin-password-file", pwFile, "-json", "r.json", "-md", "r.md",
			"-server-pid", "42", "-target", "http://localhost:9000"}, withPW,
			func(t *testing.T, c loadtest.Config, o outputs) {
				if c.Profile != loadtest.ProfileStress || c.Scenario != loadtest.ScenarioLogin || c.Users != 7 ||
					c.Duration != 2*time.Minute || c.ThinkTime != 250*time.Millisecond || c.Stress.Max != 300 ||
					c.Admin.Password != "from-file" || c.ServerPID != 42 || o.json != "r.json" || o.md != "r.md" {
					t.Errorf("config %+v outputs %+v", c, o)
				}
			}, ""},
		{"no password", nil, env(nil), nil, "no admin password"},
		{"missing password file", []string{"-admin-password-file", "/nonexistent/pw"}, withPW, nil, "admin password"},
		{"remote target", []string{"-target", "http://192.0.2.1:80"}, withPW, nil, "not a loopback"},
		{"remote target allowed", []string{"-target", "http://192.0.2.1:80", "-allow-non-loopback"}, withPW,
			func(t *testing.T, c loadtest.Config, _ outputs) {
				if !c.AllowNonLoopback {
					t.Error("override not set")
				}
			}, ""},
		{"stray argument", []string{"extra"}, withPW, nil, "unexpected arguments"},
		{"bad flag", []string{"-users", "many"}, withPW, nil, "invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c, o, err := parseFlags(tt.args, tt.getenv, &stderr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c, o)
		})
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, env(nil), &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	if !strings.Contains(stderr.String(), "-stress-max") {
		t.Errorf("usage lacks the flags:\n%s", stderr.String())
	}
	// Port 1 on loopback: nothing listens, so setup fails fast.
	err := run(context.Background(), []string{"-target", "http://127.0.0.1:1", "-timeout", "2s"},
		env(map[string]string{"MAESTRO_ADMIN_PASSWORD": "x"}), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "setup") {
		t.Errorf("unreachable target: %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.md")
	if err := writeFile(path, func(w io.Writer) error { _, err := w.Write([]byte("ok")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ok" {
		t.Errorf("wrote %q", b)
	}
	boom := errors.New("boom")
	if err := writeFile(path, func(io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
	if err := writeFile(filepath.Join(dir, "missing", "x"), func(io.Writer) error { return nil }); err == nil {
		t.Error("wrote into a missing directory")
	}
}

func TestReanalyze(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	report := filepath.Join(dir, "r.json")
	logf := filepath.Join(dir, "server.log")
	md := filepath.Join(dir, "r.md")
	if err := os.WriteFile(report, []byte(`{"profile":"baseline","started":"2026-11-27T10:00:00Z","duration_s":10}`), 0o600); err != nil {
		t.Fatal(err)
	}
	line := `{"time":"2026-11-27T10:00:01Z","msg":"request","method":"GET","path":"/api/v1/projects","status":200,"duration":3000000}`
	if err := os.WriteFile(logf, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-reanalyze", report, "-server-log", logf, "-md", md, "-json", filepath.Join(dir, "out.json")}, env(nil), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "| `GET /projects` | 1 | 0 | 3.00 |") {
		t.Errorf("markdown:\n%s", b)
	}
	for _, args := range [][]string{
		{"-reanalyze", report},
		{"-reanalyze", filepath.Join(dir, "missing.json"), "-server-log", logf},
		{"-reanalyze", md, "-server-log", logf}, // Markdown is no JSON report
		{"-reanalyze", report, "-server-log", filepath.Join(dir, "missing.log")},
	} {
		if err := run(context.Background(), args, env(nil), &stdout, &stderr); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
	if err := run(context.Background(), []string{"-reanalyze", report, "-server-log", logf}, env(nil), &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "### baseline") {
		t.Errorf("stdout report: %v\n%s", err, stdout.String())
	}
}

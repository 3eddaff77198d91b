package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"loaded: database from APP_DATABASE_URL_FILE (37 bytes), redis from APP_REDIS_URL, JWT key from the directory (43 characters, strong)",
		"weak key refused: true",
		"missing key stops start-up: true",
		"NAME and NAME_FILE both set refused: true",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"s3cret", "changeme"} {
		if strings.Contains(got, secret) {
			t.Errorf("output shows a secret value %q:\n%s", secret, got)
		}
	}
}

// TestMainProgram runs the program as "go run" would: a child process
// (this test binary, re-executed to run main) that must exit 0 and print
// what run prints.
func TestMainProgram(t *testing.T) {
	t.Parallel()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("quickstart-secrets: %v\nstderr:\n%s", err, stderr.String())
	}
	if want := "loaded: database from APP_DATABASE_URL_FILE (37 bytes), redis from APP_REDIS_URL, JWT key from the directory (43 characters, strong)"; !strings.Contains(stdout.String(), want) {
		t.Fatalf("stdout lacks %q:\n%s", want, stdout.String())
	}
}

// runMainEnv makes the test binary run main instead of the tests.
const runMainEnv = "QUICKSTART_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRunCancelled checks that the program stops with an error, not a
// panic or a partial success, when its context is already cancelled.
func TestRunCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := run(ctx, io.Discard); err == nil {
		t.Error("run succeeded on a cancelled context")
	}
}

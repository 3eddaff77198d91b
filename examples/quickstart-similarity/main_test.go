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
		"embedder: maestro-hashing-v1-",
		`like "p-sales": Energy demand forecasting`,
		"closest to the fraud idea: Card fraud screening",
		"reused:  Forecast daily unit sales per store and product",
		"Email the forecasts to suppliers every morning",
		"overall overlap ",
		"matches for tenant globex: 0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, `like "p-sales": Store sales forecasting`) {
		t.Errorf("a project was reported as similar to itself:\n%s", got)
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
		t.Fatalf("quickstart-similarity: %v\nstderr:\n%s", err, stderr.String())
	}
	if want := "embedder: maestro-hashing-v1-"; !strings.Contains(stdout.String(), want) {
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

package main

import (
	"bytes"
	"context"
	"io"
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

// TestMainProgram runs the program as "go run" would, printing to stdout.
func TestMainProgram(t *testing.T) {
	main()
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

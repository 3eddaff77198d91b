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
	for _, want := range []string{
		"policy refuses a weak password:",
		"password verifies: true, a wrong one: false",
		"access token for u-alice in t-acme as member, valid 900 s",
		"refreshed, same session: true",
		"replayed refresh token detected: true",
		"session revoked, newest access token refused: true",
		"GET /projects as anonymous: 401",
		"GET /projects as viewer: 200",
		"POST /projects as viewer: 403",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
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

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

package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
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
		"trained on 60 projects; success model beats the mean baseline: true",
		"interval [",
		"holds it: true",
		"top factor: ",
		"decoded model predicts the same: true (format version ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	// The rule behind the history puts the best team at complexity+1 = 7.
	m := regexp.MustCompile(`recommended team size (\d+)`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no team size in:\n%s", got)
	}
	if n, _ := strconv.Atoi(m[1]); n < 5 || n > 9 {
		t.Errorf("recommended team size %d, want about 7:\n%s", n, got)
	}
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

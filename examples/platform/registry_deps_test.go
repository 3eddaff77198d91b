package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/maestro-ml/maestro/registry"
)

func TestRegistryError(t *testing.T) {
	t.Parallel()
	other := errors.New("disk on fire")
	for _, c := range []struct {
		err    error
		status int
		code   string
		fields int
	}{
		{registry.ValidationErrors{{Field: "name", Message: "required"}, {Field: "type", Message: "unknown"}}, 422, "validation_failed", 2},
		{fmt.Errorf("wrapped: %w", registry.ValidationErrors{}), 422, "validation_failed", 1},
		{&registry.TooLargeError{What: "metric batch", Limit: 10000, Got: 10001}, 413, "too_large", 0},
		{fmt.Errorf("x: %w", registry.ErrNotFound), 404, "not_found", 0},
		{fmt.Errorf("x: %w", registry.ErrConflict), 409, "conflict", 0},
		{fmt.Errorf("x: %w", registry.ErrInvalid), 422, "validation_failed", 0},
	} {
		var e *apiError
		if !errors.As(registryError(c.err), &e) || e.status != c.status || e.code != c.code || len(e.fields) != c.fields {
			t.Errorf("registryError(%v) = %+v, want %d %s with %d fields", c.err, e, c.status, c.code, c.fields)
		}
	}
	if registryError(nil) != nil {
		t.Error("registryError(nil) != nil")
	}
	if got := registryError(other); got != other {
		t.Errorf("an unknown error was changed: %v", got)
	}
}

func TestSliceCursor(t *testing.T) {
	t.Parallel()
	list := []int{0, 1, 2, 3, 4}
	for _, c := range []struct {
		limit  int
		cursor string
		want   []int
		next   string
		bad    bool
	}{
		{limit: 2, want: []int{0, 1}, next: "2"},
		{limit: 2, cursor: "2", want: []int{2, 3}, next: "4"},
		{limit: 2, cursor: "4", want: []int{4}},
		{limit: 5, want: []int{0, 1, 2, 3, 4}},
		{limit: 9, cursor: "9", want: []int{}},
		{limit: 2, cursor: "-1", bad: true},
		{limit: 2, cursor: "01", bad: true},
		{limit: 2, cursor: "x", bad: true},
		{limit: 2, cursor: "+1", bad: true},
	} {
		got, next, err := sliceCursor(list, pageRequest{Limit: c.limit, Cursor: c.cursor})
		if c.bad {
			var e *apiError
			if !errors.As(err, &e) || e.status != http.StatusBadRequest {
				t.Errorf("cursor %q: err %v, want 400", c.cursor, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) || next != c.next {
			t.Errorf("limit %d cursor %q: %v %q %v, want %v %q", c.limit, c.cursor, got, next, err, c.want, c.next)
		}
	}
}

// FuzzSliceCursor checks that no cursor a client sends can make paging
// panic or return items outside the list.
func FuzzSliceCursor(f *testing.F) {
	for _, s := range []string{"", "0", "3", "999999999999999999999", "-1", "1e3", " 1"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, cursor string, limit int) {
		if limit < 1 || limit > maxPageSize {
			return
		}
		list := []int{0, 1, 2, 3, 4, 5, 6}
		got, next, err := sliceCursor(list, pageRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			return
		}
		if len(got) > limit {
			t.Fatalf("page of %d items for limit %d", len(got), limit)
		}
		if next != "" {
			n, err := strconv.Atoi(next)
			if err != nil || n <= 0 || n >= len(list) {
				t.Fatalf("next cursor %q", next)
			}
		}
	})
}

func TestCheckBatchSizeAndTimes(t *testing.T) {
	t.Parallel()
	if err := checkBatchSize("x", 3, 3); err != nil {
		t.Fatal(err)
	}
	for n, status := range map[int]int{0: 422, 4: 413} {
		var e *apiError
		if !errors.As(checkBatchSize("x", n, 3), &e) || e.status != status {
			t.Errorf("batch of %d: %v, want %d", n, e, status)
		}
	}
	for s, ok := range map[string]bool{"2026-01-02T03:04:05Z": true, "2026-01-02T03:04:05.123+02:00": true,
		"2026-01-02": false, "": false, "yesterday": false} {
		if _, got := parseOptionalTime(&s); got != ok {
			t.Errorf("parseOptionalTime(%q) ok=%v", s, got)
		}
	}
	if ts, ok := parseOptionalTime(nil); !ok || !ts.IsZero() {
		t.Error("a missing time is not the zero time")
	}
	for raw, want := range map[string]int{"": defaultSimilarLimit, "1": 1, "1000": 1000} {
		if k, err := similarLimit(raw); err != nil || k != want {
			t.Errorf("similarLimit(%q) = %d, %v", raw, k, err)
		}
	}
	for _, raw := range []string{"0", "1001", "x", "-3"} {
		if _, err := similarLimit(raw); err == nil {
			t.Errorf("similarLimit(%q) accepted", raw)
		}
	}
}

package gormstore

import (
	"errors"
	"testing"
)

func TestIsBusy(t *testing.T) {
	for msg, want := range map[string]bool{
		"database is locked (5) (SQLITE_BUSY)": true,
		"sqlite: SQLITE_BUSY_SNAPSHOT":         true,
		"database is locked":                   true,
		"no such table: auth_sessions":         false,
		"connection refused":                   false,
	} {
		if got := isBusy(errors.New(msg)); got != want {
			t.Errorf("isBusy(%q) = %v, want %v", msg, got, want)
		}
	}
}

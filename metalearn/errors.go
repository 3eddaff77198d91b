package metalearn

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with %w; test with errors.Is.
var (
	// ErrInsufficientHistory is returned when a tenant has fewer completed
	// projects than training needs. The error is an
	// *InsufficientHistoryError carrying the minimum.
	ErrInsufficientHistory = errors.New("metalearn: insufficient history")
	// ErrInvalid is returned for features or outcomes that fail
	// validation; the error is a *ValidationError naming the field.
	ErrInvalid = errors.New("metalearn: invalid input")
	// ErrUnsupportedVersion is returned when a serialised model has a format
	// or feature-set version this build does not know.
	ErrUnsupportedVersion = errors.New("metalearn: unsupported model version")
	// ErrCorruptModel is returned when serialised model data is malformed.
	ErrCorruptModel = errors.New("metalearn: corrupt model data")
	// ErrNoModel is returned when a tenant has no stored model at all.
	ErrNoModel = errors.New("metalearn: no model")
	// ErrUnknownVersion is returned when the tenant has no model with the
	// requested version (Load, Pin).
	ErrUnknownVersion = errors.New("metalearn: no model with that version")
	// ErrNoOlderVersion is returned by Rollback when the active model is
	// the tenant's oldest.
	ErrNoOlderVersion = errors.New("metalearn: no version older than the active one")
)

// InsufficientHistoryError reports how many completed projects were found
// and how many training needs. It matches ErrInsufficientHistory.
type InsufficientHistoryError struct {
	Have int
	Need int
}

// Error implements error; the message names the minimum.
func (e *InsufficientHistoryError) Error() string {
	return fmt.Sprintf("metalearn: insufficient history: %d completed projects with valid outcomes, at least %d needed", e.Have, e.Need)
}

// Is reports whether target is ErrInsufficientHistory.
func (e *InsufficientHistoryError) Is(target error) bool { return target == ErrInsufficientHistory }

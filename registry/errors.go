package registry

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors returned (wrapped) by the Registry. Check them with
// errors.Is.
var (
	// ErrNotFound reports that a record does not exist in the context's
	// tenant. Another tenant's record is reported exactly like a missing
	// one.
	ErrNotFound = errors.New("registry: not found")
	// ErrInvalid reports input that fails validation. The error is a
	// ValidationErrors value listing the offending fields (errors.As).
	ErrInvalid = errors.New("registry: invalid input")
	// ErrConflict reports a write that collides with existing data, such as
	// a duplicate name.
	ErrConflict = errors.New("registry: conflict")
	// ErrTooLarge reports a batch or a content upload beyond its limit. It
	// is returned wrapped in a *TooLargeError.
	ErrTooLarge = errors.New("registry: too large")
)

// ValidationError is one field that failed validation. Field uses the JSON
// name of the input (for example "complexity_score" or "points[3].value").
type ValidationError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationErrors lists the field errors of one rejected input. It
// matches ErrInvalid with errors.Is. A call that returns it has changed
// nothing.
type ValidationErrors []ValidationError

// Error implements error.
func (v ValidationErrors) Error() string {
	var b strings.Builder
	b.WriteString("registry: invalid input: ")
	for i, e := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Field)
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (v ValidationErrors) Is(target error) bool { return target == ErrInvalid }

// TooLargeError reports a batch or content beyond its limit. It matches
// ErrTooLarge with errors.Is.
type TooLargeError struct {
	What  string // "metric batch", "process metric batch", "content" or "team"
	Limit int64  // the limit, in points or bytes
	Got   int64  // the size seen; for streamed content, more than Limit
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("registry: %s too large: %d exceeds the limit of %d", e.What, e.Got, e.Limit)
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// validator collects field errors.
type validator struct{ errs ValidationErrors }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, ValidationError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) check(ok bool, field, format string, args ...any) {
	if !ok {
		v.add(field, format, args...)
	}
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return append(ValidationErrors(nil), v.errs...)
}

func invalid(field, format string, args ...any) error {
	return ValidationErrors{{Field: field, Message: fmt.Sprintf(format, args...)}}
}

func notFound(what, id string) error {
	return fmt.Errorf("%w: %s %q", ErrNotFound, what, id)
}

package similarity

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped) by this package. Check them with
// errors.Is.
var (
	// ErrEmptyInput reports an empty or blank text given to an Embedder;
	// embedders never send one to a provider.
	ErrEmptyInput = errors.New("similarity: empty input text")
	// ErrInvalid reports an invalid argument or option value.
	ErrInvalid = errors.New("similarity: invalid argument")
	// ErrUnavailable reports a query that cannot be answered yet because
	// the index is behind the registry: a project write whose embedding
	// could not be computed (the embeddings service is down) is still
	// pending. It wraps the last indexing error, if any; retry later. Hosts
	// answer it like a dependency that is down (HTTP 503).
	ErrUnavailable = errors.New("similarity: index not up to date")
	// ErrBadResponse reports a provider response that cannot be used:
	// malformed JSON, a wrong number of vectors, missing or duplicate
	// indexes, non-finite or zero vectors.
	ErrBadResponse = errors.New("similarity: malformed embeddings response")
	// ErrDimensionMismatch reports vectors whose length differs from the
	// expected dimension. It is returned wrapped in a *DimensionError.
	ErrDimensionMismatch = errors.New("similarity: embedding dimension mismatch")
	// ErrModelMismatch reports stored vectors of another model than the
	// Service's embedder when re-embedding is disabled. Vectors of
	// different models are never compared.
	ErrModelMismatch = errors.New("similarity: stored embeddings come from another model")
	// ErrNotIndexed reports a project that has no stored embedding in the
	// context's tenant (another tenant's project is reported the same way).
	ErrNotIndexed = errors.New("similarity: project not indexed")
	// ErrProvider reports a failed request to an embeddings provider. It
	// is returned wrapped in a *ProviderError.
	ErrProvider = errors.New("similarity: embeddings provider error")
	// ErrTooLarge reports an input whose work would exceed a bound of this
	// package, such as an overlap report comparing more than
	// MaxOverlapPairs pairs of items. It is returned wrapped in a
	// *TooLargeError, before any work is done.
	ErrTooLarge = errors.New("similarity: input too large")
)

// TooLargeError reports an input beyond a bound of this package. It
// matches ErrTooLarge with errors.Is.
type TooLargeError struct {
	// Field is the JSON path of the input at fault, such as "spec".
	Field string
	// What names the bounded quantity, such as "item pairs compared".
	What string
	// Limit is the bound and Got the size asked for.
	Limit, Got int64
}

// Error implements error.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("similarity: %s: %d %s exceed the limit of %d", e.Field, e.Got, e.What, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// DimensionError reports a vector of an unexpected length. It matches
// ErrDimensionMismatch with errors.Is.
type DimensionError struct {
	Model     string // the model, when known
	Want, Got int
}

// Error implements error.
func (e *DimensionError) Error() string {
	if e.Model != "" {
		return fmt.Sprintf("similarity: model %q returned %d dimensions, want %d", e.Model, e.Got, e.Want)
	}
	return fmt.Sprintf("similarity: vector has %d dimensions, want %d", e.Got, e.Want)
}

// Is makes errors.Is(err, ErrDimensionMismatch) true.
func (e *DimensionError) Is(target error) bool { return target == ErrDimensionMismatch }

// ProviderError reports a request to an embeddings provider that failed,
// after Attempts tries. StatusCode is the last HTTP status (0 for a
// transport error). It matches ErrProvider with errors.Is and unwraps to
// the last underlying error. Its message never includes the API key.
type ProviderError struct {
	StatusCode int
	Code       string // the provider's error code, if any
	Message    string // the provider's error message, if any
	Attempts   int
	Retryable  bool // whether the last failure was of a retryable kind
	Err        error
}

// Error implements error.
func (e *ProviderError) Error() string {
	msg := "similarity: embeddings request failed"
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" with HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrProvider) true.
func (e *ProviderError) Is(target error) bool { return target == ErrProvider }

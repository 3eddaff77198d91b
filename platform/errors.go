package platform

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

// errorRule is one row of the error table: an error that match accepts is
// answered with the problem that answer builds from it.
type errorRule struct {
	name   string // what the row matches, for tests and docs
	match  func(error) bool
	answer func(error) *apiError
}

// errorTable maps the library's sentinels and error types to problems, in
// one place: handlers return library errors as they come and classify
// answers them with the first row that matches. Order matters where one
// error matches several rows: typed errors that carry details (the fields
// of a validation, a limit) come before the sentinels they wrap.
//
// A new library error a caller can cause gets its row here; an error no
// row matches is a 500 whose detail says nothing (or a 503 when the
// database connection failed, see classify).
var errorTable = []errorRule{
	// Bad input. A registry listing's refused cursor or limit is a query
	// parameter's fault: 400 invalid_parameter, as on every list.
	{"registry.ValidationErrors of a page (cursor, limit)", pageValidation, func(err error) *apiError {
		var ve registry.ValidationErrors
		errors.As(err, &ve)
		out := make([]fieldError, 0, len(ve))
		for _, f := range ve {
			out = append(out, fieldError{Field: f.Field, Message: f.Message})
		}
		return invalidParameter(out...)
	}},
	{"registry.ValidationErrors", isA[registry.ValidationErrors], func(err error) *apiError {
		var ve registry.ValidationErrors
		errors.As(err, &ve)
		out := make([]fieldError, 0, len(ve))
		for _, f := range ve {
			out = append(out, fieldError{Field: f.Field, Message: f.Message})
		}
		if len(out) == 0 {
			out = append(out, fieldError{Field: "(body)", Message: "invalid"})
		}
		return invalid(out...)
	}},
	{"tenancy.ValidationError", isA[*tenancy.ValidationError], func(err error) *apiError {
		var ve *tenancy.ValidationError
		errors.As(err, &ve)
		return invalid(fieldError{Field: ve.Field, Message: ve.Message})
	}},
	{"metalearn.ValidationError", isA[*metalearn.ValidationError], func(err error) *apiError {
		var ve *metalearn.ValidationError
		errors.As(err, &ve)
		return invalid(fieldError{Field: ve.Field, Message: ve.Reason})
	}},
	{"similarity.ErrEmptyInput", is(similarity.ErrEmptyInput),
		fixed(http.StatusUnprocessableEntity, "validation_failed", "the spec or text has nothing that can be compared")},
	{"similarity.ErrInvalid", is(similarity.ErrInvalid),
		fixed(http.StatusUnprocessableEntity, "validation_failed", "the spec or text has nothing that can be compared")},
	{"registry.ErrInvalid", is(registry.ErrInvalid),
		fixed(http.StatusUnprocessableEntity, "validation_failed", "the request has invalid fields")},
	{"tenancy.ErrInvalid", is(tenancy.ErrInvalid),
		fixed(http.StatusUnprocessableEntity, "validation_failed", "the request has invalid fields")},
	{"registry.TooLargeError", isA[*registry.TooLargeError], func(err error) *apiError {
		var tl *registry.TooLargeError
		errors.As(err, &tl)
		return newAPIError(http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("the %s exceeds the limit of %d", tl.What, tl.Limit))
	}},
	{"registry.ErrTooLarge", is(registry.ErrTooLarge),
		fixed(http.StatusRequestEntityTooLarge, "too_large", "the request exceeds a limit")},
	{"similarity.TooLargeError", isA[*similarity.TooLargeError], func(err error) *apiError {
		var tl *similarity.TooLargeError
		errors.As(err, &tl)
		msg := fmt.Sprintf("%d %s exceed the limit of %d", tl.Got, tl.What, tl.Limit)
		e := newAPIError(http.StatusRequestEntityTooLarge, "too_large", "the "+msg)
		e.fields = []fieldError{{Field: tl.Field, Message: msg}}
		return e
	}},
	{"similarity.ErrTooLarge", is(similarity.ErrTooLarge),
		fixed(http.StatusRequestEntityTooLarge, "too_large", "the request exceeds a limit")},

	// Credentials and roles. Every credential failure reads the same, so
	// that it tells an attacker nothing.
	{"auth.ErrInvalidToken", is(auth.ErrInvalidToken), credentialsProblem},
	{"auth.ErrExpired", is(auth.ErrExpired), credentialsProblem},
	{"auth.ErrRevoked", is(auth.ErrRevoked), credentialsProblem},
	{"auth.ErrRefreshReuse", is(auth.ErrRefreshReuse), credentialsProblem},
	{"auth.ErrInvalidAPIKey", is(auth.ErrInvalidAPIKey), credentialsProblem},
	{"auth.ThrottledError", isA[*auth.ThrottledError], func(err error) *apiError {
		var te *auth.ThrottledError
		errors.As(err, &te)
		return tooManyRequests(te.RetryAfter)
	}},
	{"auth.ErrHasherBusy", is(auth.ErrHasherBusy), func(error) *apiError { return busy() }},
	{"auth.StoreError", isA[*auth.StoreError], func(err error) *apiError { return unavailable(err) }},
	{"auth.ErrRoleTooHigh", is(auth.ErrRoleTooHigh),
		fixed(http.StatusForbidden, "role_too_high", "the role exceeds your own")},
	{"tenancy.ErrNoTenant", is(tenancy.ErrNoTenant),
		fixed(http.StatusForbidden, "tenant_required", "this needs a credential bound to a tenant")},

	// Unknown resources: another tenant's is unknown too.
	{"registry.ErrNotFound", is(registry.ErrNotFound), fixed(http.StatusNotFound, "not_found", "resource not found")},
	{"tenancy.ErrNotFound", is(tenancy.ErrNotFound), fixed(http.StatusNotFound, "not_found", "not found")},
	{"auth.ErrNotFound", is(auth.ErrNotFound), fixed(http.StatusNotFound, "not_found", "not found")},
	{"metalearn.ErrUnknownVersion", is(metalearn.ErrUnknownVersion), fixed(http.StatusNotFound, "not_found", "meta-model version not found")},

	// Conflicts with the stored state.
	{"tenancy.QuotaError", isA[*tenancy.QuotaError], quotaProblem},
	{"tenancy.ErrQuotaExceeded", is(tenancy.ErrQuotaExceeded),
		fixed(http.StatusConflict, "quota_exceeded", "the tenant's quota does not allow this")},
	{"registry.ErrConflict", is(registry.ErrConflict), conflict(registry.ErrConflict, "the request conflicts with existing data")},
	{"tenancy.ErrConflict", is(tenancy.ErrConflict), conflict(tenancy.ErrConflict, "it already exists")},
	{"metalearn.InsufficientHistoryError", isA[*metalearn.InsufficientHistoryError], func(err error) *apiError {
		var short *metalearn.InsufficientHistoryError
		errors.As(err, &short)
		return newAPIError(http.StatusConflict, "insufficient_history",
			fmt.Sprintf("training needs at least %d completed projects with an outcome; the tenant has %d",
				short.Need, short.Have))
	}},
	{"metalearn.ErrNoOlderVersion", is(metalearn.ErrNoOlderVersion), fixed(http.StatusConflict, "no_older_version",
		"the active meta-model is the tenant's oldest: there is no version to roll back to")},
	{"metalearn.ErrNoJob", is(metalearn.ErrNoJob), fixed(http.StatusNotFound, "not_found", "training job not found")},
	{"metalearn.ErrNoModel", is(metalearn.ErrNoModel), fixed(http.StatusConflict, "no_model",
		"no meta-model has been trained for this tenant; POST /api/v1/meta-models/train first")},
	{"metalearn.ErrUnsupportedVersion", is(metalearn.ErrUnsupportedVersion), fixed(http.StatusConflict, "model_outdated",
		"the tenant's meta-model was stored in a format this server no longer reads; POST /api/v1/meta-models/train to train it again")},

	// The embeddings service failing, or answering what cannot be used, is
	// a dependency down: 503, never a 500 and never the caller's fault.
	{"similarity.ErrProvider", is(similarity.ErrProvider), embeddingsProblem},
	{"similarity.ErrBadResponse", is(similarity.ErrBadResponse), embeddingsProblem},
	{"similarity.ErrDimensionMismatch", is(similarity.ErrDimensionMismatch), embeddingsProblem},
	{"similarity.ErrModelMismatch", is(similarity.ErrModelMismatch), embeddingsProblem},
	// A tenant whose index alone exceeds the similarity memory budget: only
	// an operator raising the budget helps, so no Retry-After.
	{"similarity.MemoryError", isA[*similarity.MemoryError], memoryProblem},
	// The index behind the registry's recent writes, for another reason
	// than the service (those match the rows above first).
	{"similarity.ErrUnavailable", is(similarity.ErrUnavailable), func(error) *apiError {
		e := newAPIError(http.StatusServiceUnavailable, "embeddings_unavailable",
			"the similarity index is catching up with recent project writes; retry later")
		e.retryAfter = indexRetryAfter
		return e
	}},
}

// pageValidation matches registry validation errors that name only a
// listing's cursor or limit.
func pageValidation(err error) bool {
	var ve registry.ValidationErrors
	if !errors.As(err, &ve) || len(ve) == 0 {
		return false
	}
	for _, f := range ve {
		if f.Field != "cursor" && f.Field != "limit" {
			return false
		}
	}
	return true
}

// is matches errors that wrap target.
func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// isA matches errors that wrap an error of type T.
func isA[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// fixed answers with the same problem whatever the error says.
func fixed(status int, code, detail string) func(error) *apiError {
	return func(error) *apiError { return newAPIError(status, code, detail) }
}

// conflict answers a conflict with a detail that says what conflicts: the
// libraries name it after the sentinel ("registry: conflict: model churn
// already exists"); fallback serves an error that names nothing.
func conflict(sentinel error, fallback string) func(error) *apiError {
	return func(err error) *apiError {
		detail := fallback
		msg, prefix := err.Error(), sentinel.Error()+": "
		if i := strings.Index(msg, prefix); i >= 0 {
			what, _, _ := strings.Cut(msg[i+len(prefix):], ": ")
			if what != "" {
				detail = what
				if !strings.Contains(what, "exists") && !strings.Contains(what, " has ") {
					detail += " already exists"
				}
			}
		}
		return newAPIError(http.StatusConflict, "conflict", detail)
	}
}

// credentialsProblem is the 401 of every credential failure.
func credentialsProblem(error) *apiError { return unauthorized() }

// memoryProblem is the 503 of a tenant whose similarity index does not fit
// the server's memory budget. The detail names the setting an operator
// raises and by how much; retrying without that cannot help.
func memoryProblem(err error) *apiError {
	var me *similarity.MemoryError
	errors.As(err, &me)
	return newAPIError(http.StatusServiceUnavailable, "similarity_memory_exceeded",
		fmt.Sprintf("the tenant's similarity index needs %d bytes, more than the server's similarity memory budget of %d bytes; "+
			"an operator must raise %s (or WithSimilarityMemory) to at least that", me.Need, me.Budget, envSimilarityMemory))
}

// embeddingsProblem is the 503 of a failing embeddings service.
func embeddingsProblem(error) *apiError {
	e := newAPIError(http.StatusServiceUnavailable, "embeddings_unavailable",
		"the embeddings service is unavailable; retry later")
	e.retryAfter = dependencyRetryAfter
	return e
}

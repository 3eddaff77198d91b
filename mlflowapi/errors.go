package mlflowapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// MLflow's error codes, as its server sends them in "error_code".
const (
	CodeNotFound         = "RESOURCE_DOES_NOT_EXIST"
	CodeInvalid          = "INVALID_PARAMETER_VALUE"
	CodeAlreadyExists    = "RESOURCE_ALREADY_EXISTS"
	CodePermissionDenied = "PERMISSION_DENIED"
	CodeUnauthenticated  = "UNAUTHENTICATED"
	CodeEndpointNotFound = "ENDPOINT_NOT_FOUND"
	CodeBadRequest       = "BAD_REQUEST"
	CodeInternal         = "INTERNAL_ERROR"
	CodeUnavailable      = "TEMPORARILY_UNAVAILABLE"
)

// Error is an MLflow error: its code, HTTP status and message. Handlers
// return it (or library errors, which errorFor maps).
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func newError(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *Error {
	return newError(CodeInvalid, http.StatusBadRequest, format, args...)
}

func missing(name string) *Error {
	return invalidParam("Missing value for required parameter '%s'.", name)
}

func notFound(format string, args ...any) *Error {
	return newError(CodeNotFound, http.StatusNotFound, format, args...)
}

// errorFor maps an error to MLflow's code and status: the registry's
// sentinels to RESOURCE_DOES_NOT_EXIST (404), INVALID_PARAMETER_VALUE
// (400) and RESOURCE_ALREADY_EXISTS (400); anything else is an
// INTERNAL_ERROR (500) whose message reveals nothing.
func errorFor(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, registry.ErrNotFound):
		return notFound("%s", err.Error())
	case errors.Is(err, registry.ErrInvalid), errors.Is(err, registry.ErrTooLarge):
		return invalidParam("%s", err.Error())
	case errors.Is(err, registry.ErrConflict):
		return newError(CodeAlreadyExists, http.StatusBadRequest, "%s", err.Error())
	case errors.Is(err, tenancy.ErrNoTenant):
		return newError(CodePermissionDenied, http.StatusForbidden, "the credential is bound to no tenant")
	}
	return newError(CodeInternal, http.StatusInternalServerError, "internal error")
}

// WriteError writes an MLflow error body {"error_code", "message"} with
// the status.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": message})
}

// AuthErrorWriter is an auth.ErrorWriter that answers the auth
// middleware's refusals as MLflow does: 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, and 503 TEMPORARILY_UNAVAILABLE when the
// credential could not be checked.
func AuthErrorWriter(w http.ResponseWriter, _ *http.Request, p auth.Problem, _ error) {
	code := CodeUnauthenticated
	switch p.Status {
	case http.StatusForbidden:
		code = CodePermissionDenied
	case http.StatusServiceUnavailable:
		code = CodeUnavailable
	}
	WriteError(w, p.Status, code, p.Detail)
}

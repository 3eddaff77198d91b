package auth

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Functions in this package wrap them with %w; test for
// them with errors.Is. Their messages are deliberately terse: a security
// failure never says more than needed, and none of them ever contains a
// token, key or password.
var (
	// ErrInvalidToken reports a token that is malformed, not signed by a
	// known key, signed with an unexpected algorithm, of the wrong type
	// (a refresh token where an access token is expected or the reverse),
	// or whose issuer, audience or time claims do not verify.
	ErrInvalidToken = errors.New("auth: invalid token")

	// ErrExpired reports a token past its expiry (beyond the leeway).
	ErrExpired = errors.New("auth: token expired")

	// ErrRevoked reports a well-formed, unexpired credential whose session
	// was revoked (logout, password change, reuse detection), whose token
	// id is on the denylist, or whose API key was revoked.
	ErrRevoked = errors.New("auth: credential revoked")

	// ErrRefreshReuse reports that a refresh token was presented after it
	// had already been spent. Its whole session has been revoked as a
	// consequence: every access and refresh token descended from that login
	// stops working. Hosts should log it as a security event.
	ErrRefreshReuse = errors.New("auth: refresh token reused; session revoked")

	// ErrInvalid reports an invalid argument of a constructor or an option
	// given an invalid value (a nil clock, a duration out of range, an
	// empty issuer, ...), in this package and in its stores
	// (auth/gormstore, auth/redisstore).
	ErrInvalid = errors.New("auth: invalid argument")

	// ErrNotFound is returned by stores for an unknown record.
	ErrNotFound = errors.New("auth: not found")

	// ErrInvalidKey reports an unusable signing or verification key: an
	// HMAC secret shorter than 32 bytes, a malformed Ed25519 key, an empty
	// or duplicate key id, or removal of the active signing key.
	ErrInvalidKey = errors.New("auth: invalid key")

	// ErrInvalidAPIKey reports a string that is not a well-formed API key
	// (wrong prefix, length, alphabet or checksum) or that matches no
	// stored key.
	ErrInvalidAPIKey = errors.New("auth: invalid API key")

	// ErrRoleTooHigh reports an attempt to grant a role above the
	// granting principal's own.
	ErrRoleTooHigh = errors.New("auth: role exceeds the creator's role")

	// ErrUnsupportedHash reports a stored password hash in a format the
	// hasher does not recognise, or whose parameters are out of bounds.
	ErrUnsupportedHash = errors.New("auth: unsupported password hash")

	// ErrWeakPassword is wrapped by *PolicyError when a password fails
	// CheckPasswordPolicy.
	ErrWeakPassword = errors.New("auth: password does not meet the policy")

	// ErrForbidden reports an authenticated principal that lacks a
	// privilege. A principal check (WithPrincipalCheck) wraps it to make the
	// middleware answer 403 instead of 401.
	ErrForbidden = errors.New("auth: forbidden")

	// ErrThrottled is wrapped by *ThrottledError when a login attempt is
	// refused by a LoginThrottler.
	ErrThrottled = errors.New("auth: too many attempts")
)

// PolicyError describes why a password was refused by CheckPasswordPolicy.
// It wraps ErrWeakPassword. Reason is safe to show to the user who chose the
// password; it never repeats the password.
type PolicyError struct {
	Reason string
}

// Error implements error.
func (e *PolicyError) Error() string { return "auth: weak password: " + e.Reason }

// Unwrap returns ErrWeakPassword.
func (e *PolicyError) Unwrap() error { return ErrWeakPassword }

// ThrottledError reports a refused login attempt and how long the caller
// should wait before trying again (for an HTTP Retry-After header). It
// wraps ErrThrottled. It says nothing about whether the account exists.
type ThrottledError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: too many attempts; retry after %s", e.RetryAfter.Round(time.Second))
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryAfterSeconds returns RetryAfter rounded up to whole seconds, at
// least 1, as an HTTP Retry-After header wants it.
func (e *ThrottledError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// StoreError marks an error as a failure of a backing store rather than a
// verdict on a credential; the middleware answers 503 for it. Principal
// checks should wrap their database errors in it.
type StoreError struct{ Err error }

// Error implements error.
func (e *StoreError) Error() string { return "auth: store unavailable: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *StoreError) Unwrap() error { return e.Err }

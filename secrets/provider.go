package secrets

import (
	"context"
	"errors"
	"fmt"
)

// Provider looks up secret values by name.
//
// Get returns the current value of the secret called name. When the secret
// is absent, the returned error wraps ErrNotFound, so callers can test for
// it with errors.Is. A secret that is present but set to the empty string is
// a value, not an absence: Get returns "" and a nil error. Any other error
// (a permission problem, an unreachable backend, a malformed name) must not
// wrap ErrNotFound, so that a Chain stops instead of silently falling
// through to a less trusted source.
//
// Implementations read on demand and must be safe for concurrent use.
type Provider interface {
	Get(ctx context.Context, name string) (string, error)
}

// ProviderFunc adapts an ordinary function to the Provider interface.
type ProviderFunc func(ctx context.Context, name string) (string, error)

// Get calls f(ctx, name).
func (f ProviderFunc) Get(ctx context.Context, name string) (string, error) {
	return f(ctx, name)
}

// Sentinel errors reported (wrapped) by the providers of this package. Test
// for them with errors.Is.
var (
	// ErrNotFound reports that a secret is absent from a provider.
	ErrNotFound = errors.New("secret not found")
	// ErrInvalidName reports a secret name that a provider refuses, such as
	// one that would escape a secrets directory.
	ErrInvalidName = errors.New("invalid secret name")
	// ErrConflict reports that a secret is configured twice in ways that
	// contradict each other, such as NAME and NAME_FILE both being set.
	ErrConflict = errors.New("secret configured more than once")
	// ErrTooLarge reports a secret file or response larger than the
	// configured bound.
	ErrTooLarge = errors.New("secret too large")
	// ErrPermission reports that a backend refused access to a secret.
	ErrPermission = errors.New("permission denied")
	// ErrUnavailable reports that a backend could not serve the request,
	// for example a sealed Vault or one that is in maintenance.
	ErrUnavailable = errors.New("secret backend unavailable")
	// ErrMalformed reports a backend answer that could not be understood,
	// or a value of an unexpected type.
	ErrMalformed = errors.New("malformed secret backend response")
	// ErrInvalid reports an invalid argument of a constructor or an option
	// given an invalid value (a nil function, a size or duration that is
	// not positive, ...). Constructors that return an error return it;
	// Cached, Dir and Env, which do not, record it, report it from Err and
	// return it from every Get; TLSConfig fails every handshake with it
	// (see CheckTLSOptions).
	ErrInvalid = errors.New("invalid argument")
)

// invalidf returns an error wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("secrets: %w: "+format, append([]any{ErrInvalid}, args...)...)
}

// LookupError describes a failed lookup. It names the provider and the
// secret (names are not secret) but never carries the secret value or any
// credential used to fetch it.
type LookupError struct {
	// Provider names the kind of provider that failed: "env", "dir",
	// "vault", "chain" or "cache".
	Provider string
	// Name is the secret name as given to Get.
	Name string
	// Err is the underlying error; it wraps one of the sentinel errors of
	// this package where one applies.
	Err error
}

// Error reports the provider, the secret name and the cause.
func (e *LookupError) Error() string {
	return "secrets: " + e.Provider + ": " + quoteName(e.Name) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *LookupError) Unwrap() error { return e.Err }

// quoteName renders a secret name for an error message, bounded in length
// and with control characters escaped, so that hostile names cannot forge
// log lines.
func quoteName(name string) string {
	const max = 128
	if len(name) > max {
		name = name[:max] + "..."
	}
	b := make([]byte, 0, len(name)+2)
	b = append(b, '"')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

func lookupErr(provider, name string, err error) error {
	return &LookupError{Provider: provider, Name: name, Err: err}
}

// Compile-time checks that the providers of this package implement
// Provider.
var (
	_ Provider = ProviderFunc(nil)
	_ Provider = (*EnvProvider)(nil)
	_ Provider = (*DirProvider)(nil)
	_ Provider = (*VaultProvider)(nil)
	_ Provider = (*ChainProvider)(nil)
	_ Provider = (*CachedProvider)(nil)
)

package secrets

import (
	"context"
	"fmt"
	"io/fs"
	"os"
)

// FileSuffix is appended to a variable's name to form the name of the
// variable that holds a path to the secret instead of the secret itself:
// MAESTRO_JWT_SECRET_FILE=/run/secrets/jwt names the file whose contents
// are the value of MAESTRO_JWT_SECRET.
const FileSuffix = "_FILE"

// EnvProvider reads secrets from environment variables, following the
// NAME_FILE convention: the value of NAME is either the variable NAME
// itself or the contents of the file whose path is in NAME_FILE.
//
//   - NAME set (even to the empty string), NAME_FILE unset: the value of NAME.
//   - NAME_FILE set, NAME unset: the contents of that file, with trailing
//     CR and LF characters removed (see TrimNewlines). The file must be a
//     regular file of at most DefaultMaxFileSize bytes (see EnvMaxFileSize).
//     A missing or unreadable file is an error, not an absence: the
//     operator asked for that file.
//   - Both set: an error wrapping ErrConflict, whatever the values.
//   - Neither set: an error wrapping ErrNotFound.
//
// Names must look like environment variable names: ASCII letters, digits
// and underscores, not starting with a digit. Anything else is refused with
// ErrInvalidName.
//
// The environment is read on every Get, so a changed variable or a
// rewritten file is seen at once. An EnvProvider is safe for concurrent use
// if its lookup function is.
type EnvProvider struct {
	prefix  string
	lookup  func(string) (string, bool)
	files   bool
	maxSize int64
	err     error // the first invalid option
}

// EnvOption configures an EnvProvider. An option given an invalid value
// makes the provider unusable: see Env.
type EnvOption func(*EnvProvider) error

// EnvPrefix makes the provider prepend prefix to every name it is asked
// for: with EnvPrefix("MAESTRO_"), Get(ctx, "JWT_SECRET") reads
// MAESTRO_JWT_SECRET and MAESTRO_JWT_SECRET_FILE. A prefix must be empty
// or a valid variable name (letters, digits and '_', not starting with a
// digit).
func EnvPrefix(prefix string) EnvOption {
	return func(e *EnvProvider) error {
		if prefix != "" && !validEnvName(prefix) {
			return invalidf("env: prefix %q is not a variable name", prefix)
		}
		e.prefix = prefix
		return nil
	}
}

// EnvLookup replaces os.LookupEnv as the source of variables. Tests use it
// to supply an environment without touching the process's own; the
// function must report whether the variable is set, not merely its value.
// A nil function is invalid.
func EnvLookup(lookup func(name string) (value string, ok bool)) EnvOption {
	return func(e *EnvProvider) error {
		if lookup == nil {
			return invalidf("env: nil lookup function")
		}
		e.lookup = lookup
		return nil
	}
}

// EnvWithoutFiles turns the NAME_FILE convention off: only NAME itself is
// consulted and NAME_FILE is ignored.
func EnvWithoutFiles() EnvOption {
	return func(e *EnvProvider) error { e.files = false; return nil }
}

// EnvMaxFileSize bounds the size of a file named by NAME_FILE (default
// DefaultMaxFileSize). n must be positive.
func EnvMaxFileSize(n int64) EnvOption {
	return func(e *EnvProvider) error {
		if n <= 0 {
			return invalidf("env: max file size %d is not positive", n)
		}
		e.maxSize = n
		return nil
	}
}

// Env returns a provider backed by the process environment (or by the
// lookup function given with EnvLookup). An option given an invalid value
// is recorded: Err reports it and every Get fails with it (it wraps
// ErrInvalid).
func Env(opts ...EnvOption) *EnvProvider {
	e := &EnvProvider{lookup: os.LookupEnv, files: true, maxSize: DefaultMaxFileSize}
	for _, opt := range opts {
		if opt == nil {
			e.err = invalidf("env: nil option")
			break
		}
		if e.err = opt(e); e.err != nil {
			break
		}
	}
	return e
}

// Err reports the invalid option the provider was built with, or nil.
// Call it at start-up to fail fast.
func (e *EnvProvider) Err() error { return e.err }

// Get returns the value of the variable prefix+name, or the contents of the
// file named by prefix+name+"_FILE"; see EnvProvider for the rules.
func (e *EnvProvider) Get(ctx context.Context, name string) (string, error) {
	if e.err != nil {
		return "", lookupErr("env", name, e.err)
	}
	if err := ctx.Err(); err != nil {
		return "", lookupErr("env", name, err)
	}
	key := e.prefix + name
	if !validEnvName(key) {
		return "", lookupErr("env", name, ErrInvalidName)
	}
	value, direct := e.lookup(key)
	if !e.files {
		if !direct {
			return "", lookupErr("env", name, ErrNotFound)
		}
		return value, nil
	}
	path, viaFile := e.lookup(key + FileSuffix)
	switch {
	case direct && viaFile:
		return "", lookupErr("env", name, fmt.Errorf("%w: both %s and %s%s are set", ErrConflict, key, key, FileSuffix))
	case direct:
		return value, nil
	case !viaFile:
		return "", lookupErr("env", name, ErrNotFound)
	case path == "":
		return "", lookupErr("env", name, fmt.Errorf("%s%s is set to an empty path", key, FileSuffix))
	}
	v, err := readSecretFile(osFS{}, path, e.maxSize)
	if err != nil {
		return "", lookupErr("env", name, fmt.Errorf("reading %s%s: %w", key, FileSuffix, err))
	}
	return v, nil
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// osFS gives readSecretFile the operating system's files.
type osFS struct{}

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
func (osFS) Open(name string) (fs.File, error)     { return os.Open(name) } // #nosec G304 -- NAME_FILE paths are the operator configuration this provider exists to read

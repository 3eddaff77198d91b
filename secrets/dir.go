package secrets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// DirProvider reads secrets from the files of one directory, the layout
// Docker (/run/secrets/<name>) and Kubernetes (a secret volume with one
// file per key) use. The value of a secret is the contents of the file of
// the same name, with trailing CR and LF characters removed (see
// TrimNewlines).
//
// Names are file names, never paths: ASCII letters, digits, '.', '_' and
// '-', at most 255 bytes, and neither "." nor anything starting with ".."
// (Kubernetes keeps its own bookkeeping in such entries). Anything else,
// including every name with a path separator, is refused with
// ErrInvalidName. Files are opened through os.Root, so a symbolic link that
// points outside the directory is refused as well, while the links that
// Kubernetes places inside the volume keep working.
//
// A missing file, or a missing directory, is reported as ErrNotFound, so a
// DirProvider for /run/secrets can sit in a Chain on machines that have no
// such directory. A file that is not a regular file, or larger than the
// bound, is an error.
//
// Files are read on every Get, so a rotated secret is seen at once. A
// DirProvider is safe for concurrent use.
type DirProvider struct {
	dir     string
	maxSize int64
	err     error // the first invalid option
}

// DirOption configures a DirProvider. An option given an invalid value
// makes the provider unusable: see Dir.
type DirOption func(*DirProvider) error

// DirMaxFileSize bounds the size of a secret file; the default is
// DefaultMaxFileSize. n must be positive.
func DirMaxFileSize(n int64) DirOption {
	return func(d *DirProvider) error {
		if n <= 0 {
			return invalidf("dir: max file size %d is not positive", n)
		}
		d.maxSize = n
		return nil
	}
}

// Dir returns a provider that reads the secret called name from the file
// dir/name. An option given an invalid value is recorded: Err reports it
// and every Get fails with it (it wraps ErrInvalid).
func Dir(dir string, opts ...DirOption) *DirProvider {
	d := &DirProvider{dir: dir, maxSize: DefaultMaxFileSize}
	for _, opt := range opts {
		if opt == nil {
			d.err = invalidf("dir: nil option")
			break
		}
		if d.err = opt(d); d.err != nil {
			break
		}
	}
	return d
}

// Err reports the invalid option the provider was built with, or nil.
// Call it at start-up to fail fast.
func (d *DirProvider) Err() error { return d.err }

// Get returns the contents of the file called name in the directory.
func (d *DirProvider) Get(ctx context.Context, name string) (string, error) {
	if d.err != nil {
		return "", lookupErr("dir", name, d.err)
	}
	if err := ctx.Err(); err != nil {
		return "", lookupErr("dir", name, err)
	}
	if err := ValidFileName(name); err != nil {
		return "", lookupErr("dir", name, err)
	}
	if d.dir == "" {
		// An empty path is a configuration mistake, not an absent secret.
		return "", lookupErr("dir", name, errors.New("no directory configured"))
	}
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		if isNotExist(err) {
			return "", lookupErr("dir", name, ErrNotFound)
		}
		return "", lookupErr("dir", name, err)
	}
	defer root.Close()
	v, err := readSecretFile(rootFS{root}, name, d.maxSize)
	if err != nil {
		if isNotExist(err) {
			return "", lookupErr("dir", name, ErrNotFound)
		}
		return "", lookupErr("dir", name, err)
	}
	return v, nil
}

// ValidFileName reports whether name may name a secret in a secrets
// directory (see DirProvider). It returns nil or an error wrapping
// ErrInvalidName that says what is wrong.
func ValidFileName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > 255:
		return fmt.Errorf("%w: longer than 255 bytes", ErrInvalidName)
	case name == "." || strings.HasPrefix(name, ".."):
		return fmt.Errorf("%w: reserved name", ErrInvalidName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: only ASCII letters, digits, '.', '_' and '-' are allowed", ErrInvalidName)
		}
	}
	return nil
}

// rootFS gives readSecretFile the files below an os.Root.
type rootFS struct{ r *os.Root }

func (f rootFS) Stat(name string) (fs.FileInfo, error) { return f.r.Stat(name) }
func (f rootFS) Open(name string) (fs.File, error)     { return f.r.Open(name) }

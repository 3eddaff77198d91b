package secrets

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// DefaultMaxFileSize is the largest secret file, in bytes, that the Env and
// Dir providers read unless told otherwise. It is ample for keys, passwords
// and PEM certificate chains, and small enough that a mistaken path (a log
// file, a device) cannot exhaust memory.
const DefaultMaxFileSize = 64 << 10

// statOpener is what readSecretFile needs from a file system: os for
// NAME_FILE paths, an *os.Root for secrets directories.
type statOpener interface {
	Stat(name string) (fs.FileInfo, error)
	Open(name string) (fs.File, error)
}

// readSecretFile reads the secret held in the regular file at name,
// refusing anything that is not a regular file (a FIFO or a device could
// block or never end) and anything larger than max bytes. Trailing CR and
// LF characters are removed, because secret files are usually written by
// tools such as echo that append a newline; other white space is kept.
func readSecretFile(fsys statOpener, name string, max int64) (string, error) {
	fi, err := fsys.Stat(name)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file (mode %v)", fi.Mode().Type())
	}
	if fi.Size() > max {
		return "", fmt.Errorf("%w: file exceeds %d bytes", ErrTooLarge, max)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// Check again on the open file: the path may have been replaced
	// between Stat and Open.
	if fi, err = f.Stat(); err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file (mode %v)", fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return "", err
	}
	if int64(len(data)) > max {
		return "", fmt.Errorf("%w: file exceeds %d bytes", ErrTooLarge, max)
	}
	return TrimNewlines(string(data)), nil
}

// TrimNewlines removes every trailing carriage return and line feed from s
// and nothing else. It is the normalisation the file-based providers apply
// to the contents of a secret file, exported so that hosts reading secret
// files by other means can apply the same rule.
func TrimNewlines(s string) string {
	return strings.TrimRight(s, "\r\n")
}

// isNotExist reports whether err says that a file does not exist.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist)
}

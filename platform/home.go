package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ensureHome creates dir with mode 0700 when it does not exist, and
// refuses a home the server cannot trust with its secrets: a symbolic
// link, something other than a directory, a directory owned by another
// user, or one that group or others may access (the remedy is in the
// error). An existing home is never loosened or tightened behind the
// operator's back.
func ensureHome(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", envHome, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", envHome, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s %q is a symbolic link; point %s at the directory itself", envHome, dir, envHome)
	case !fi.IsDir():
		return fmt.Errorf("%s %q is not a directory", envHome, dir)
	}
	return checkPrivate(envHome+" "+quote(dir), fi, "chmod 700 "+quote(dir))
}

// checkHomeFile refuses a file in the home that the server cannot trust:
// a symbolic link, anything but a regular file, a file owned by another
// user, or one that group or others may access. A missing file is no
// error (the caller creates it, owner-only).
func checkHomeFile(home, name string) error {
	path := filepath.Join(home, name)
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; the server keeps its own files in %s", path, envHome)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", path)
	}
	return checkPrivate(path, fi, "chmod 600 "+quote(path))
}

// checkPrivate refuses fi unless the server's user owns it and neither
// group nor others may access it; what names it in the error, remedy is
// the command that fixes the mode.
func checkPrivate(what string, fi fs.FileInfo, remedy string) error {
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by the server's user (uid %d)", what, uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %v: group or others may access it (run %s)", what, fi.Mode().Perm(), remedy)
	}
	return nil
}

// createPrivateFile creates path with mode 0600 when it does not exist,
// so that a file another component creates there (the SQLite database)
// starts owner-only; an existing file is checked instead.
func createPrivateFile(home, name string) error {
	if err := checkHomeFile(home, name); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(home, name), os.O_RDONLY|os.O_CREATE, 0o600) // #nosec G304 -- a fixed name in the checked home
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return f.Close()
}

// quote shell-quotes s for a remedy in an error message.
func quote(s string) string { return "'" + s + "'" }

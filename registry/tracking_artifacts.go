package registry

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/tenancy"
)

// Run artifact limits.
const (
	// MaxRunArtifacts bounds the files of one run.
	MaxRunArtifacts = 10000
	// MaxArtifactPathLength bounds a run artifact's path.
	MaxArtifactPathLength = 1024
)

// runArtifact is one file of a run's artifact tree; its content is a blob.
type runArtifact struct {
	tenancy.Model
	RunID     string    `gorm:"column:run_id;primaryKey"`
	Path      string    `gorm:"column:path;primaryKey"`
	BlobKey   string    `gorm:"column:blob_key"`
	Size      int64     `gorm:"column:size_bytes"`
	SHA256    string    `gorm:"column:content_sha256"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

func (runArtifact) TableName() string { return "run_artifacts" }

// RunArtifact describes a file or directory of a run's artifact tree.
// Path is relative to the run's artifact root; Size and SHA256 are those
// of a file.
type RunArtifact struct {
	Path   string `json:"path"`
	IsDir  bool   `json:"is_dir"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// CleanArtifactPath validates a path of a run's artifact tree and returns
// it without leading or trailing '/': '/'-separated segments that are
// neither empty, "." nor "..", of UTF-8 text without control characters
// or '\', at most MaxArtifactPathLength bytes. The root is "" (allowed
// only where root is true).
func CleanArtifactPath(p string, root bool) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		if root {
			return "", nil
		}
		return "", invalid("path", "is required")
	}
	if len(p) > MaxArtifactPathLength || !utf8.ValidString(p) || strings.ContainsFunc(p, isControl) || strings.ContainsRune(p, '\\') {
		return "", invalid("path", "must be UTF-8 text of at most %d bytes without control characters or '\\'", MaxArtifactPathLength)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", invalid("path", "must not hold empty, '.' or '..' segments")
		}
	}
	return p, nil
}

// under selects the artifacts at p or below it ("" is everything).
func under(q *gorm.DB, p string) *gorm.DB {
	if p == "" {
		return q
	}
	return q.Where("(path = ? OR substr(path, 1, ?) = ?)", p, len(p)+1, p+"/")
}

// PutRunArtifact stores content as the file at path in a run's artifact
// tree, replacing the file there. A path that is a directory of the tree,
// or lies below a file, is ErrConflict; content beyond the Registry's
// content limit is ErrTooLarge; at most MaxRunArtifacts files per run.
func (r *Registry) PutRunArtifact(ctx context.Context, runID, path string, content io.Reader) (*RunArtifact, error) {
	check := func(ctx context.Context) error { _, err := r.GetRun(ctx, runID); return err }
	return r.putTreeFile(ctx, runID, path, content, check, func(tx *gorm.DB, p string, info BlobInfo) (string, error) {
		var old string
		if _, err := getRun(tx.Clauses(clause.Locking{Strength: "UPDATE"}), runID); err != nil {
			return "", err
		}
		var cur runArtifact
		switch err := tx.Where("run_id = ? AND path = ?", runID, p).Take(&cur).Error; {
		case err == nil:
			old = cur.BlobKey
		case err != gorm.ErrRecordNotFound:
			return "", dbErr(err, "run artifact")
		}
		var n int64
		if err := tx.Model(&runArtifact{}).Where("run_id = ? AND substr(path, 1, ?) = ?", runID, len(p)+1, p+"/").Count(&n).Error; err != nil {
			return "", dbErr(err, "run artifacts")
		}
		if n > 0 {
			return "", fmt.Errorf("%w: %q is a directory", ErrConflict, p)
		}
		segs := strings.Split(p, "/")
		parents := make([]string, 0, len(segs)-1)
		for i := 1; i < len(segs); i++ {
			parents = append(parents, strings.Join(segs[:i], "/"))
		}
		if len(parents) > 0 {
			if err := tx.Model(&runArtifact{}).Where("run_id = ? AND path IN ?", runID, parents).Count(&n).Error; err != nil {
				return "", dbErr(err, "run artifacts")
			}
			if n > 0 {
				return "", fmt.Errorf("%w: a parent of %q is a file", ErrConflict, p)
			}
		}
		row := runArtifact{RunID: runID, Path: p, BlobKey: info.Key, Size: info.Size, SHA256: info.SHA256, CreatedAt: r.timestamp()}
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "run_id"}, {Name: "path"}},
			DoUpdates: clause.AssignmentColumns([]string{"blob_key", "size_bytes", "content_sha256", "created_at"}),
		}).Create(&row).Error; err != nil {
			return "", dbErr(err, "run artifact")
		}
		if err := tx.Model(&runArtifact{}).Where("run_id = ?", runID).Count(&n).Error; err != nil {
			return "", dbErr(err, "run artifacts")
		}
		if n > MaxRunArtifacts {
			return "", &TooLargeError{What: "run artifacts", Limit: MaxRunArtifacts, Got: n}
		}
		return old, nil
	})
}

// putTreeFile stores content as the file at path of the artifact tree of
// owner (a run or a logged model): check says whether the owner exists
// before the content is streamed, write records the stored blob in a
// transaction and returns the blob key it replaces. The new blob is
// deleted when write fails, the replaced one when it succeeds.
func (r *Registry) putTreeFile(ctx context.Context, owner, path string, content io.Reader,
	check func(context.Context) error, write func(tx *gorm.DB, p string, info BlobInfo) (string, error)) (*RunArtifact, error) {
	if r.blobs == nil {
		return nil, errNoBlobStore
	}
	p, err := CleanArtifactPath(path, false)
	if err != nil {
		return nil, err
	}
	if err := check(ctx); err != nil {
		return nil, err
	}
	prefix, err := blobPrefix(ctx, owner)
	if err != nil {
		return nil, err
	}
	info, err := r.blobs.Put(ctx, prefix+"/"+newID(), &limitReader{r: content, n: r.maxBlob, max: r.maxBlob})
	if err != nil {
		return nil, fmt.Errorf("registry: store artifact: %w", err)
	}
	var old string
	err = r.tx(ctx, func(tx *gorm.DB) error {
		var err error
		old, err = write(tx, p, info)
		return err
	})
	if err != nil {
		_ = r.blobs.Delete(context.WithoutCancel(ctx), info.Key)
		return nil, err
	}
	if old != "" && old != info.Key {
		_ = r.blobs.Delete(context.WithoutCancel(ctx), old)
	}
	return &RunArtifact{Path: p, Size: info.Size, SHA256: info.SHA256}, nil
}

// OpenRunArtifact opens the file at path of a run's artifact tree; the
// caller closes it. A missing file (or a directory) is ErrNotFound.
func (r *Registry) OpenRunArtifact(ctx context.Context, runID, path string) (io.ReadCloser, *RunArtifact, error) {
	return openTreeFile[runArtifact](ctx, r, "run_id", runID, path, func(db *gorm.DB) error {
		_, err := getRun(db, runID)
		return err
	})
}

// treeRow is a row of an artifact tree's table: runArtifact or
// loggedModelArtifact.
type treeRow interface {
	runArtifact | loggedModelArtifact
	file() RunArtifact
	blobKey() string
}

func (a runArtifact) file() RunArtifact {
	return RunArtifact{Path: a.Path, Size: a.Size, SHA256: a.SHA256}
}
func (a runArtifact) blobKey() string { return a.BlobKey }

// openTreeFile opens the file at path of the tree whose rows T have
// ownerCol = owner, after check (the owner exists) in the same read.
func openTreeFile[T treeRow](ctx context.Context, r *Registry, ownerCol, owner, path string, check func(*gorm.DB) error) (io.ReadCloser, *RunArtifact, error) {
	if r.blobs == nil {
		return nil, nil, errNoBlobStore
	}
	p, err := CleanArtifactPath(path, false)
	if err != nil {
		return nil, nil, err
	}
	var row T
	err = r.readTx(ctx, func(db *gorm.DB) error {
		if err := check(db); err != nil {
			return err
		}
		return dbErr(db.Where(ownerCol+" = ? AND path = ?", owner, p).Take(&row).Error, fmt.Sprintf("artifact %q", p))
	})
	if err != nil {
		return nil, nil, err
	}
	rc, err := r.blobs.Get(ctx, row.blobKey())
	if err != nil {
		return nil, nil, fmt.Errorf("registry: open artifact: %w", err)
	}
	f := row.file()
	return rc, &f, nil
}

// ListRunArtifacts lists the direct children of dir ("" is the root) in a
// run's artifact tree, by path: files with their size, and directories.
// A dir that is a file lists nothing, as does one that does not exist.
func (r *Registry) ListRunArtifacts(ctx context.Context, runID, dir string) ([]RunArtifact, error) {
	return listTree[runArtifact](ctx, r, "run_id", runID, dir, func(db *gorm.DB) error {
		_, err := getRun(db, runID)
		return err
	})
}

// listTree lists the direct children of dir in the tree whose rows T have
// ownerCol = owner, after check (the owner exists) in the same read.
func listTree[T treeRow](ctx context.Context, r *Registry, ownerCol, owner, dir string, check func(*gorm.DB) error) ([]RunArtifact, error) {
	d, err := CleanArtifactPath(dir, true)
	if err != nil {
		return nil, err
	}
	var rows []T
	err = r.readTx(ctx, func(db *gorm.DB) error {
		if err := check(db); err != nil {
			return err
		}
		q := db.Where(ownerCol+" = ?", owner)
		if d != "" {
			q = q.Where("substr(path, 1, ?) = ?", len(d)+1, d+"/")
		}
		return dbErr(q.Order("path").Limit(MaxRunArtifacts).Find(&rows).Error, "artifacts")
	})
	if err != nil {
		return nil, err
	}
	files := make([]RunArtifact, len(rows))
	for i, row := range rows {
		files[i] = row.file()
	}
	return children(files, d), nil
}

// DeleteRunArtifacts deletes the file at path, or everything below it when
// it is a directory, from a run's artifact tree, with their content.
// Nothing there is ErrNotFound.
func (r *Registry) DeleteRunArtifacts(ctx context.Context, runID, path string) error {
	p, err := CleanArtifactPath(path, false)
	if err != nil {
		return err
	}
	var keys []string
	err = r.tx(ctx, func(tx *gorm.DB) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		var rows []runArtifact
		if err := under(tx.Where("run_id = ?", runID), p).Find(&rows).Error; err != nil {
			return dbErr(err, "run artifacts")
		}
		if len(rows) == 0 {
			return fmt.Errorf("%w: artifact %q", ErrNotFound, p)
		}
		for _, row := range rows {
			keys = append(keys, row.BlobKey)
		}
		return dbErr(under(tx.Where("run_id = ?", runID), p).Delete(&runArtifact{}).Error, "run artifacts")
	})
	if err != nil {
		return err
	}
	if r.blobs != nil {
		for _, k := range keys {
			_ = r.blobs.Delete(context.WithoutCancel(ctx), k)
		}
	}
	return nil
}

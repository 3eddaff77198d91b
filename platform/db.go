package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// sqliteFile is the embedded database's file name inside MAESTRO_HOME.
const sqliteFile = "maestro.db"

// dialect names the database a URL points at.
type dialect string

const (
	dialectSQLite   dialect = "sqlite"
	dialectPostgres dialect = "postgres"
)

// errBadDatabaseURL is returned for a MAESTRO_DATABASE_URL this server
// cannot use.
var errBadDatabaseURL = errors.New("MAESTRO_DATABASE_URL must be postgres://..., postgresql://... or sqlite:PATH")

// databaseTarget resolves the configured database: the SQLite file in home
// when dsn is empty, a PostgreSQL URL, or sqlite:PATH.
func databaseTarget(dsn, home string) (dialect, string, error) {
	switch {
	case dsn == "":
		return dialectSQLite, filepath.Join(home, sqliteFile), nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return "", "", errBadDatabaseURL
		}
		return dialectPostgres, dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" {
			return "", "", errBadDatabaseURL
		}
		return dialectSQLite, path, nil
	}
	return "", "", errBadDatabaseURL
}

// openDatabase opens the database named by dsn (see databaseTarget). SQLite
// runs in WAL mode with foreign keys on and a busy timeout, PostgreSQL with
// a bounded pool. SQL is logged only when slow or failing, and always
// without its parameters, so no hash or token value reaches the log.
func openDatabase(dsn, home string, log *slog.Logger) (*gorm.DB, dialect, error) {
	d, target, err := databaseTarget(dsn, home)
	if err != nil {
		return nil, "", err
	}
	cfg := &gorm.Config{
		Logger: logger.NewSlogLogger(log.With(slog.String("component", "gorm")), logger.Config{
			LogLevel:                  logger.Warn,
			SlowThreshold:             500 * time.Millisecond,
			ParameterizedQueries:      true,
			IgnoreRecordNotFoundError: true,
		}),
		TranslateError: true,
		NowFunc:        timeNow,
	}
	var dialector gorm.Dialector
	switch d {
	case dialectSQLite:
		// The file starts owner-only: SQLite creates its WAL and shared
		// memory files with the database file's mode.
		if err := createSQLiteFile(dsn, home, target); err != nil {
			return nil, "", err
		}
		// Without a "file:" prefix the driver takes everything before "?"
		// as the path; _txlock=immediate takes the write lock when a
		// transaction begins, so concurrent writers wait (busy_timeout)
		// instead of failing on a lock upgrade.
		// wal_autocheckpoint raises SQLite's in-commit checkpoint from
		// 1,000 WAL pages to sqliteCommitCheckpointPages: the server
		// checkpoints in the background instead (see checkpointWAL), and
		// the commit that crosses the threshold no longer copies the
		// WAL into the database and syncs it before answering.
		dialector = sqlite.Open(target + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)" +
			"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
			"&_pragma=wal_autocheckpoint(" + strconv.Itoa(sqliteCommitCheckpointPages) + ")&_txlock=immediate")
	default:
		dialector = postgres.Open(target)
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("open %s database: %w", d, redactErr(err, dsn))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, "", err
	}
	if d == dialectPostgres {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	return db, d, nil
}

// SQLite's WAL checkpoints when the server opened the database itself.
const (
	// walCheckpointInterval is how often checkpointWAL copies the WAL's
	// committed pages into the database file.
	walCheckpointInterval = 250 * time.Millisecond
	// sqliteCommitCheckpointPages is the WAL size in pages (4 KiB each)
	// at which a commit checkpoints by itself, should the background
	// checkpoints fall behind (SQLite's default is 1,000).
	sqliteCommitCheckpointPages = 16000
)

// checkpointWAL checkpoints db's WAL every interval until ctx ends.
// Each round first runs a passive checkpoint, which waits for no reader
// or writer: requests keep running while it copies the committed pages
// into the database and syncs it, where SQLite's own checkpoint runs
// inside the commit that fills the WAL to 1,000 pages, which then answers
// late (on a 1,000-point log-batch every 20th or so). A passive
// checkpoint never rewinds the WAL, though, when writes keep coming while
// it runs: the file would grow to sqliteCommitCheckpointPages and a commit
// would then checkpoint all of it. So once the WAL holds walRestartPages
// or more, the round ends with a restart checkpoint, which waits for the
// writer (the busy timeout), copies the few pages written since the
// passive one and makes the next commit write the WAL from its start.
// Neither changes durability: with synchronous=NORMAL a commit is in the
// WAL, not synced, either way, and a checkpoint syncs the WAL before the
// database.
func checkpointWAL(ctx context.Context, db *gorm.DB, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := checkpointRound(ctx, db); err != nil && ctx.Err() == nil {
				log.Warn("SQLite WAL checkpoint failed", slog.String("error", err.Error()))
			}
		}
	}
}

// walRestartPages is the WAL size in pages from which a checkpoint round
// rewinds the WAL (see checkpointWAL).
const walRestartPages = 1000

// checkpointRound is one round of checkpointWAL.
func checkpointRound(ctx context.Context, db *gorm.DB) error {
	var busy, pages, copied int64
	if err := db.WithContext(ctx).Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &pages, &copied); err != nil {
		return fmt.Errorf("passive checkpoint: %w", err)
	}
	if pages < walRestartPages {
		return nil
	}
	if err := db.WithContext(ctx).Raw("PRAGMA wal_checkpoint(RESTART)").Row().Scan(&busy, &pages, &copied); err != nil {
		return fmt.Errorf("restart checkpoint: %w", err)
	}
	return nil
}

// createSQLiteFile creates the SQLite file target with mode 0600 when it
// does not exist; the default file in home must also pass checkHomeFile.
func createSQLiteFile(dsn, home, target string) error {
	if dsn == "" {
		return createPrivateFile(home, sqliteFile)
	}
	f, err := os.OpenFile(target, os.O_RDONLY|os.O_CREATE, 0o600) // #nosec G304 -- the operator's configured database path
	if err != nil {
		return fmt.Errorf("create the SQLite database: %w", err)
	}
	return f.Close()
}

// redactErr removes the password of dsn from err's text: drivers sometimes
// quote the connection string in their errors.
func redactErr(err error, dsn string) error {
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "REDACTED"))
}

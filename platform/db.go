package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
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
		dialector = sqlite.Open(target + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)" +
			"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
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

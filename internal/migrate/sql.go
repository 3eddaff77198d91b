package migrate

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Dialect placeholders that Exec expands, so that one DDL text serves
// SQLite and PostgreSQL.
const (
	// Timestamp is a UTC timestamp column: timestamptz on PostgreSQL,
	// datetime on SQLite (whose driver reads that type back as a
	// time.Time).
	Timestamp = "{{ts}}"
	// Blob is a binary column: bytea on PostgreSQL, blob on SQLite.
	Blob = "{{blob}}"
)

// Expand returns stmt with the dialect placeholders (Timestamp, Blob)
// replaced by db's column types.
func Expand(db *gorm.DB, stmt string) string {
	ts, blob := "datetime", "blob"
	if IsPostgres(db) {
		ts, blob = "timestamptz", "bytea"
	}
	return strings.NewReplacer(Timestamp, ts, Blob, blob).Replace(stmt)
}

// Exec runs stmts in order on tx, each expanded by Expand. It stops at the
// first failing statement and returns its error wrapped with the
// statement's first line.
func Exec(tx *gorm.DB, stmts ...string) error {
	for _, s := range stmts {
		if err := tx.Exec(Expand(tx, s)).Error; err != nil {
			return fmt.Errorf("%s: %w", firstLine(s), err)
		}
	}
	return nil
}

// SQL returns a Step whose Up runs the statements up and whose Down runs
// the statements down, each through Exec, in the step's transaction.
func SQL(version int64, name string, up, down []string) Step {
	up, down = append([]string(nil), up...), append([]string(nil), down...)
	return Step{
		Version: version,
		Name:    name,
		Up:      func(_ context.Context, tx *gorm.DB) error { return Exec(tx, up...) },
		Down:    func(_ context.Context, tx *gorm.DB) error { return Exec(tx, down...) },
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

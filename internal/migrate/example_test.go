package migrate_test

import (
	"context"
	"fmt"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// A component's schema as SQL steps: {{ts}} and {{blob}} become the
// dialect's timestamp and binary types, so the same text runs on SQLite
// and PostgreSQL.
func ExampleSQL() {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		panic(err)
	}
	m, err := migrate.New("notes",
		migrate.SQL(1, "notes", []string{
			`CREATE TABLE notes (
	id varchar(36) PRIMARY KEY,
	body {{blob}} NOT NULL,
	created_at {{ts}} NOT NULL
)`,
		}, []string{`DROP TABLE notes`}),
		migrate.SQL(2, "notes by time", []string{
			`CREATE INDEX ix_notes_created ON notes (created_at)`,
		}, []string{`DROP INDEX ix_notes_created`}),
	)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	applied, err := m.Up(ctx, db)
	fmt.Println(applied, err)
	reversed, err := m.Down(ctx, db, 1)
	fmt.Println(reversed, err)
	v, err := m.Version(ctx, db)
	fmt.Println(v, err)
	// Output:
	// [1 2] <nil>
	// [2] <nil>
	// 1 <nil>
}

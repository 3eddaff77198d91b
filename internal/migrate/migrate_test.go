package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
	"github.com/maestro-ml/maestro/internal/testenv"
)

func exec(sql string) func(context.Context, *gorm.DB) error {
	return func(_ context.Context, tx *gorm.DB) error { return tx.Exec(sql).Error }
}

func widgetSteps() []migrate.Step {
	return []migrate.Step{
		{Version: 2, Name: "add colour", Up: exec(`ALTER TABLE widgets ADD COLUMN colour varchar(20)`), Down: exec(`ALTER TABLE widgets DROP COLUMN colour`)},
		{Version: 1, Name: "widgets", Up: exec(`CREATE TABLE widgets (id integer PRIMARY KEY, name varchar(50) NOT NULL)`), Down: exec(`DROP TABLE widgets`)},
		{Version: 3, Name: "index", Up: exec(`CREATE INDEX ix_widgets_name ON widgets (name)`), Down: exec(`DROP INDEX ix_widgets_name`)},
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	up := exec("SELECT 1")
	cases := map[string]struct {
		component string
		steps     []migrate.Step
	}{
		"bad component": {"Bad Name", nil},
		"zero version":  {"c", []migrate.Step{{Version: 0, Up: up, Down: up}}},
		"duplicate":     {"c", []migrate.Step{{Version: 1, Up: up, Down: up}, {Version: 1, Up: up, Down: up}}},
		"no down":       {"c", []migrate.Step{{Version: 1, Up: up}}},
	}
	for name, c := range cases {
		if _, err := migrate.New(c.component, c.steps...); !errors.Is(err, migrate.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	m, err := migrate.New("empty")
	if err != nil || m.Latest() != 0 || m.Component() != "empty" {
		t.Fatalf("empty migrator: %v", err)
	}
}

func TestUpDown(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			m, err := migrate.New("widgets", widgetSteps()...)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := m.UpTo(ctx, db, 1); err != nil || len(got) != 1 || got[0] != 1 {
				t.Fatalf("UpTo(1) = %v, %v", got, err)
			}
			if err := db.Exec(`INSERT INTO widgets (id, name) VALUES (1, 'gear')`).Error; err != nil {
				t.Fatal(err)
			}
			got, err := m.Up(ctx, db)
			if err != nil || len(got) != 2 || got[0] != 2 || got[1] != 3 {
				t.Fatalf("Up = %v, %v", got, err)
			}
			if got, err := m.Up(ctx, db); err != nil || len(got) != 0 {
				t.Fatalf("second Up = %v, %v", got, err)
			}
			st, err := m.Status(ctx, db)
			if err != nil || len(st) != 3 || !st[2].Applied || st[0].AppliedAt.IsZero() || st[1].Name != "add colour" {
				t.Fatalf("Status = %+v, %v", st, err)
			}
			// Down over the additive steps and up again keeps the row.
			if got, err := m.Down(ctx, db, 1); err != nil || len(got) != 2 || got[0] != 3 {
				t.Fatalf("Down(1) = %v, %v", got, err)
			}
			if v, _ := m.Version(ctx, db); v != 1 {
				t.Fatalf("version after Down(1) = %d", v)
			}
			if _, err := m.Up(ctx, db); err != nil {
				t.Fatal(err)
			}
			var n int64
			db.Table("widgets").Where("name = ?", "gear").Count(&n)
			if n != 1 {
				t.Fatalf("row lost across down/up: %d", n)
			}
			if _, err := m.Down(ctx, db, 0); err != nil {
				t.Fatal(err)
			}
			if db.Migrator().HasTable("widgets") {
				t.Fatal("Down(0) left the table")
			}
			if _, err := m.Down(ctx, db, 7); !errors.Is(err, migrate.ErrInvalid) {
				t.Fatalf("Down to unknown version = %v", err)
			}
			if _, err := m.UpTo(ctx, db, 7); !errors.Is(err, migrate.ErrInvalid) {
				t.Fatalf("UpTo unknown version = %v", err)
			}
		})
	}
}

func TestFailingStepRollsBack(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			boom := errors.New("boom")
			m, _ := migrate.New("failing",
				migrate.Step{Version: 1, Name: "ok", Up: exec(`CREATE TABLE a (id integer)`), Down: exec(`DROP TABLE a`)},
				migrate.Step{Version: 2, Name: "half", Up: func(ctx context.Context, tx *gorm.DB) error {
					if err := tx.Exec(`CREATE TABLE b (id integer)`).Error; err != nil {
						return err
					}
					return boom
				}, Down: exec(`DROP TABLE b`)},
			)
			got, err := m.Up(ctx, db)
			if !errors.Is(err, boom) || len(got) != 1 {
				t.Fatalf("Up = %v, %v; want step 1 applied and boom", got, err)
			}
			if db.Migrator().HasTable("b") {
				t.Fatal("failed step left its table")
			}
			if v, _ := m.Version(ctx, db); v != 1 {
				t.Fatalf("version = %d, want 1", v)
			}
			// Another component's versions do not interfere.
			other, _ := migrate.New("other", migrate.Step{Version: 1, Name: "x", Up: exec(`CREATE TABLE c (id integer)`), Down: exec(`DROP TABLE c`)})
			if got, err := other.Up(ctx, db); err != nil || len(got) != 1 {
				t.Fatalf("other component Up = %v, %v", got, err)
			}
			// A database migrated by a newer program is refused.
			older, _ := migrate.New("failing")
			if _, err := older.Up(ctx, db); !errors.Is(err, migrate.ErrUnknownVersion) {
				t.Fatalf("older migrator = %v, want ErrUnknownVersion", err)
			}
			downFails, _ := migrate.New("failing",
				migrate.Step{Version: 1, Name: "ok", Up: exec(`SELECT 1`), Down: func(context.Context, *gorm.DB) error { return boom }},
				migrate.Step{Version: 2, Name: "half", Up: exec(`SELECT 1`), Down: exec(`SELECT 1`)},
			)
			if _, err := downFails.Down(ctx, db, 0); !errors.Is(err, boom) {
				t.Fatalf("failing Down = %v", err)
			}
			if v, _ := m.Version(ctx, db); v != 1 {
				t.Fatalf("version after failed Down = %d, want 1", v)
			}
		})
	}
}

func TestConcurrentUp(t *testing.T) {
	t.Parallel()
	db := testenv.Postgres(t)
	ctx := context.Background()
	m, _ := migrate.New("widgets", widgetSteps()...)
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Up(ctx, db)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			applied += len(got)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if applied != 3 {
		t.Fatalf("%d steps applied by 4 concurrent runners, want each of 3 once", applied)
	}
}

func TestSQLStep(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			m, err := migrate.New("sqlstep", migrate.SQL(1, "things", []string{
				`CREATE TABLE things (id integer PRIMARY KEY, at {{ts}} NOT NULL, data {{blob}})`,
				`CREATE INDEX ix_things_at ON things (at)`,
			}, []string{`DROP TABLE things`}))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Up(ctx, db); err != nil {
				t.Fatal(err)
			}
			if !db.Migrator().HasTable("things") || !db.Migrator().HasIndex("things", "ix_things_at") {
				t.Fatal("things or its index missing after Up")
			}
			if _, err := m.Down(ctx, db, 0); err != nil {
				t.Fatal(err)
			}
			if db.Migrator().HasTable("things") {
				t.Fatal("things still there after Down")
			}
		})
	}
}

func TestExecReportsFailingStatement(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			err := migrate.Exec(db, `CREATE TABLE ok_one (id integer PRIMARY KEY)`, "CREATE TABLE nope (\n\tid nonsense syntax here(")
			if err == nil || !strings.Contains(err.Error(), "CREATE TABLE nope (") {
				t.Fatalf("err = %v, want the failing statement's first line", err)
			}
			if !db.Migrator().HasTable("ok_one") {
				t.Fatal("the statement before the failing one did not run")
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			got := migrate.Expand(db, "a {{ts}} b {{blob}} c {{ts}}")
			want := "a datetime b blob c datetime"
			if migrate.IsPostgres(db) {
				want = "a timestamptz b bytea c timestamptz"
			}
			if got != want {
				t.Fatalf("Expand = %q, want %q", got, want)
			}
		})
	}
}

package migrate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"time"

	"gorm.io/gorm"
)

// TableName is the name of the table that records applied steps.
const TableName = "schema_migrations"

// ErrInvalid is returned (wrapped) when a Migrator is built from an invalid
// list of steps or asked to migrate to a version it does not know.
var ErrInvalid = errors.New("migrate: invalid migration")

// ErrUnknownVersion is returned (wrapped) when the database records an
// applied version of the component that the Migrator does not have, which
// means the database was migrated by a newer program.
var ErrUnknownVersion = errors.New("migrate: database has an unknown applied version")

// Step is one versioned migration step. Up applies it and Down reverses
// it; both receive the step's transaction and must not commit or roll it
// back themselves.
type Step struct {
	// Version orders the steps; it must be positive and unique.
	Version int64
	// Name says what the step does, for humans and the status report.
	Name string
	// Up applies the step.
	Up func(ctx context.Context, tx *gorm.DB) error
	// Down reverses Up.
	Down func(ctx context.Context, tx *gorm.DB) error
}

// Status is the state of one step in a database.
type Status struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

// Migrator applies the steps of one component. It holds no connection and
// no mutable state, so it is safe for concurrent use; concurrent runs
// against one database are serialised by the database (see the package
// documentation).
type Migrator struct {
	component string
	steps     []Step
	lockKey   int64
}

var componentRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// New returns a Migrator for component (lower-case letters, digits, '_',
// '.', '-'; at most 64 characters) with the given steps, which it copies
// and sorts by version. It reports ErrInvalid for a bad component name, a
// non-positive or duplicate version, or a step without Up or Down.
func New(component string, steps ...Step) (*Migrator, error) {
	if !componentRE.MatchString(component) {
		return nil, fmt.Errorf("%w: component name %q", ErrInvalid, component)
	}
	s := append([]Step(nil), steps...)
	sort.Slice(s, func(i, j int) bool { return s[i].Version < s[j].Version })
	for i, st := range s {
		switch {
		case st.Version <= 0:
			return nil, fmt.Errorf("%w: version %d is not positive", ErrInvalid, st.Version)
		case i > 0 && s[i-1].Version == st.Version:
			return nil, fmt.Errorf("%w: duplicate version %d", ErrInvalid, st.Version)
		case st.Up == nil || st.Down == nil:
			return nil, fmt.Errorf("%w: step %d needs both Up and Down", ErrInvalid, st.Version)
		}
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("maestro-migrate:" + component))
	return &Migrator{component: component, steps: s, lockKey: int64(h.Sum64() >> 1)}, nil
}

// Component returns the component name the Migrator records versions for.
func (m *Migrator) Component() string { return m.component }

// Latest returns the highest version the Migrator knows, or 0 without
// steps.
func (m *Migrator) Latest() int64 {
	if len(m.steps) == 0 {
		return 0
	}
	return m.steps[len(m.steps)-1].Version
}

// record is a row of schema_migrations.
type record struct {
	Component string    `gorm:"column:component;primaryKey;type:varchar(64)"`
	Version   int64     `gorm:"column:version;primaryKey;autoIncrement:false"`
	Name      string    `gorm:"column:name;type:varchar(200);not null"`
	AppliedAt time.Time `gorm:"column:applied_at;not null"`
}

func (record) TableName() string { return TableName }

// tableLockKey is the PostgreSQL advisory lock taken while creating
// schema_migrations: concurrent CREATE TABLE IF NOT EXISTS statements
// race in PostgreSQL's catalogue and one of them fails.
const tableLockKey int64 = 0x6d61657374726f // "maestro"

// ensureTable creates schema_migrations when it does not exist. When it
// exists nothing is executed, so that a role without the right to create
// tables (an application role under row-level security) can still read
// the status.
func ensureTable(ctx context.Context, db *gorm.DB) error {
	if db.WithContext(ctx).Migrator().HasTable(TableName) {
		return nil
	}
	create := `CREATE TABLE IF NOT EXISTS ` + TableName + ` (
	component varchar(64) NOT NULL,
	version bigint NOT NULL,
	name varchar(200) NOT NULL,
	applied_at ` + timestampType(db) + ` NOT NULL,
	PRIMARY KEY (component, version)
)`
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if IsPostgres(tx) {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", tableLockKey).Error; err != nil {
				return err
			}
		}
		return tx.Exec(create).Error
	})
	if err != nil {
		return fmt.Errorf("migrate: create %s: %w", TableName, err)
	}
	return nil
}

// timestampType returns the column type for a UTC timestamp on db's
// dialect.
func timestampType(db *gorm.DB) string {
	if IsPostgres(db) {
		return "timestamptz"
	}
	return "datetime"
}

// IsPostgres reports whether db talks to PostgreSQL.
func IsPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// applied returns the applied versions of the component.
func (m *Migrator) applied(ctx context.Context, db *gorm.DB) (map[int64]record, error) {
	var rows []record
	if err := db.WithContext(ctx).Where("component = ?", m.component).Order("version").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", TableName, err)
	}
	out := make(map[int64]record, len(rows))
	for _, r := range rows {
		out[r.Version] = r
	}
	return out, nil
}

// Status reports every known step and whether it is applied. It reports
// ErrUnknownVersion when the database records a version this Migrator does
// not know.
func (m *Migrator) Status(ctx context.Context, db *gorm.DB) ([]Status, error) {
	if err := ensureTable(ctx, db); err != nil {
		return nil, err
	}
	done, err := m.applied(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := m.checkKnown(done); err != nil {
		return nil, err
	}
	out := make([]Status, len(m.steps))
	for i, s := range m.steps {
		r, ok := done[s.Version]
		out[i] = Status{Version: s.Version, Name: s.Name, Applied: ok}
		if ok {
			out[i].AppliedAt = r.AppliedAt.UTC()
		}
	}
	return out, nil
}

// Version returns the highest applied version, or 0 when none is applied.
func (m *Migrator) Version(ctx context.Context, db *gorm.DB) (int64, error) {
	st, err := m.Status(ctx, db)
	if err != nil {
		return 0, err
	}
	var v int64
	for _, s := range st {
		if s.Applied {
			v = s.Version
		}
	}
	return v, nil
}

func (m *Migrator) checkKnown(done map[int64]record) error {
	for v := range done {
		if !m.knows(v) {
			return fmt.Errorf("%w: %s version %d", ErrUnknownVersion, m.component, v)
		}
	}
	return nil
}

func (m *Migrator) knows(v int64) bool {
	i := sort.Search(len(m.steps), func(i int) bool { return m.steps[i].Version >= v })
	return i < len(m.steps) && m.steps[i].Version == v
}

// Up applies every step that is not applied yet, in version order, each in
// its own transaction. It returns the versions it applied. On error the
// steps before the failing one stay applied.
func (m *Migrator) Up(ctx context.Context, db *gorm.DB) ([]int64, error) {
	return m.UpTo(ctx, db, m.Latest())
}

// UpTo applies the unapplied steps with versions up to and including
// target.
func (m *Migrator) UpTo(ctx context.Context, db *gorm.DB, target int64) ([]int64, error) {
	if target != 0 && !m.knows(target) {
		return nil, fmt.Errorf("%w: unknown target version %d", ErrInvalid, target)
	}
	st, err := m.Status(ctx, db)
	if err != nil {
		return nil, err
	}
	var did []int64
	for i, s := range st {
		if s.Applied || s.Version > target {
			continue
		}
		ok, err := m.apply(ctx, db, m.steps[i], true)
		if err != nil {
			return did, err
		}
		if ok {
			did = append(did, s.Version)
		}
	}
	return did, nil
}

// Down reverses applied steps with versions greater than target, newest
// first, each in its own transaction; target 0 reverses everything. It
// returns the versions it reversed.
func (m *Migrator) Down(ctx context.Context, db *gorm.DB, target int64) ([]int64, error) {
	if target < 0 || (target != 0 && !m.knows(target)) {
		return nil, fmt.Errorf("%w: unknown target version %d", ErrInvalid, target)
	}
	st, err := m.Status(ctx, db)
	if err != nil {
		return nil, err
	}
	var did []int64
	for i := len(st) - 1; i >= 0; i-- {
		s := st[i]
		if !s.Applied || s.Version <= target {
			continue
		}
		ok, err := m.apply(ctx, db, m.steps[i], false)
		if err != nil {
			return did, err
		}
		if ok {
			did = append(did, s.Version)
		}
	}
	return did, nil
}

// apply runs one step up or down in a transaction. It re-checks the step's
// state under the lock and reports false when another runner got there
// first.
func (m *Migrator) apply(ctx context.Context, db *gorm.DB, s Step, up bool) (bool, error) {
	changed := false
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if IsPostgres(tx) {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", m.lockKey).Error; err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		var n int64
		if err := tx.Model(&record{}).Where("component = ? AND version = ?", m.component, s.Version).Count(&n).Error; err != nil {
			return err
		}
		if (n > 0) == up {
			return nil // another runner applied (or reversed) it meanwhile
		}
		if up {
			if err := s.Up(ctx, tx); err != nil {
				return err
			}
			changed = true
			return tx.Create(&record{Component: m.component, Version: s.Version, Name: s.Name, AppliedAt: time.Now().UTC()}).Error
		}
		if err := s.Down(ctx, tx); err != nil {
			return err
		}
		changed = true
		return tx.Where("component = ? AND version = ?", m.component, s.Version).Delete(&record{}).Error
	})
	if err != nil {
		dir := "up"
		if !up {
			dir = "down"
		}
		return false, fmt.Errorf("migrate: %s %d (%s) %s: %w", m.component, s.Version, s.Name, dir, err)
	}
	return changed, nil
}

package similarity

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
	"github.com/maestro-ml/maestro/tenancy"
)

// TableName is the table that holds the stored project embeddings.
const TableName = "similarity_embeddings"

// ProjectEmbedding is the stored embedding of one project in one tenant:
// the composed text it was computed from (so it can be recomputed for a
// new model), the project's spec as JSON (for overlap reports), the model
// and dimension that produced the vector, a SHA-256 of model and text (an
// unchanged project is not embedded again) and the vector itself as
// little-endian float32 bytes.
//
// It embeds tenancy.Model: the tenancy plugin scopes every query to the
// context's tenant, and (tenant_id, project_id) is unique.
type ProjectEmbedding struct {
	ID uint64 `gorm:"primaryKey;autoIncrement"`
	tenancy.Model
	ProjectID   string    `gorm:"column:project_id;type:varchar(64);not null"`
	Name        string    `gorm:"column:name;type:varchar(500);not null"`
	Text        string    `gorm:"column:text;type:text;not null"`
	SpecJSON    string    `gorm:"column:spec_json;type:text;not null"`
	EmbedModel  string    `gorm:"column:model;type:varchar(200);not null"`
	Dimensions  int       `gorm:"column:dimensions;not null"`
	ContentHash string    `gorm:"column:content_hash;type:varchar(64);not null"`
	Vector      []byte    `gorm:"column:vector;not null"`
	UpdatedAt   time.Time `gorm:"column:updated_at;not null"`
}

// TableName implements gorm's Tabler.
func (ProjectEmbedding) TableName() string { return TableName }

// PendingTableName is the table of project writes whose embedding is not
// yet up to date (see Indexer).
const PendingTableName = "similarity_pending"

// PendingProject is a project of a tenant whose embedding must be brought
// in line with the registry: the Indexer records one in the transaction of
// every project write that changes what is embedded, and deletes it once
// the index reflects that write. Token identifies the latest such write;
// QueuedAt is its time. Attempts and LastError count and describe the
// failed tries since the row was first queued.
//
// It embeds tenancy.Model: the tenancy plugin (and, on PostgreSQL,
// row-level security) scopes it to the context's tenant, and (tenant_id,
// project_id) is unique.
type PendingProject struct {
	ID uint64 `gorm:"column:id;primaryKey;autoIncrement" json:"-"`
	tenancy.Model
	ProjectID     string     `gorm:"column:project_id;type:varchar(64);not null" json:"project_id"`
	Token         string     `gorm:"column:token;type:varchar(36);not null" json:"-"`
	QueuedAt      time.Time  `gorm:"column:queued_at;not null" json:"queued_at"`
	Attempts      int        `gorm:"column:attempts;not null;default:0" json:"attempts"`
	LastError     string     `gorm:"column:last_error;type:text;not null;default:''" json:"last_error,omitempty"`
	LastAttemptAt *time.Time `gorm:"column:last_attempt_at" json:"last_attempt_at,omitempty"`
}

// TableName implements gorm's Tabler.
func (PendingProject) TableName() string { return PendingTableName }

// RevisionsTableName is the table of the tenants' index revisions.
const RevisionsTableName = "similarity_revisions"

// TenantRevision counts the writes of a tenant's embeddings: every write
// increments it in its transaction. A Service compares it with the
// revision its cached matrix reflects before every search, so a write of
// another process is never missed. It embeds tenancy.Model; tenant_id is
// the primary key.
type TenantRevision struct {
	tenancy.Model
	Revision int64 `gorm:"column:revision;not null"`
}

// TableName implements gorm's Tabler.
func (TenantRevision) TableName() string { return RevisionsTableName }

// Models returns the GORM models this package stores, for hosts that set
// up row-level security, delete a tenant's rows or run their own
// migrations over every tenant-owned table.
func Models() []any { return []any{&ProjectEmbedding{}, &PendingProject{}, &TenantRevision{}} }

// TenantTables returns the names of this package's tenant-owned tables.
func TenantTables() []string { return []string{TableName, PendingTableName, RevisionsTableName} }

// MigrationComponent is the component name under which this package's
// schema versions are recorded in schema_migrations.
const MigrationComponent = "similarity"

// SchemaVersion is the schema version this package needs.
const SchemaVersion int64 = 3

func migrationSteps() []migrate.Step {
	return []migrate.Step{{
		Version: 1,
		Name:    "create similarity_embeddings",
		Up: func(ctx context.Context, tx *gorm.DB) error {
			if err := tx.WithContext(ctx).Migrator().CreateTable(&ProjectEmbedding{}); err != nil {
				return err
			}
			return tx.WithContext(ctx).Exec("CREATE UNIQUE INDEX ux_similarity_embeddings_tenant_project ON " +
				TableName + " (tenant_id, project_id)").Error
		},
		Down: func(ctx context.Context, tx *gorm.DB) error {
			return tx.WithContext(ctx).Migrator().DropTable(&ProjectEmbedding{})
		},
	}, {
		Version: 2,
		Name:    "create similarity_pending",
		Up: func(ctx context.Context, tx *gorm.DB) error {
			id, ts := "integer PRIMARY KEY AUTOINCREMENT", "datetime"
			if migrate.IsPostgres(tx) {
				id, ts = "bigserial PRIMARY KEY", "timestamptz"
			}
			for _, stmt := range []string{
				`CREATE TABLE ` + PendingTableName + ` (
	id ` + id + `,
	tenant_id varchar(64) NOT NULL,
	project_id varchar(64) NOT NULL,
	token varchar(36) NOT NULL,
	queued_at ` + ts + ` NOT NULL,
	attempts integer NOT NULL DEFAULT 0,
	last_error text NOT NULL DEFAULT '',
	last_attempt_at ` + ts + `
)`,
				`CREATE UNIQUE INDEX ux_similarity_pending_tenant_project ON ` + PendingTableName + ` (tenant_id, project_id)`,
			} {
				if err := tx.WithContext(ctx).Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Down: func(ctx context.Context, tx *gorm.DB) error {
			return tx.WithContext(ctx).Exec(`DROP TABLE ` + PendingTableName).Error
		},
	}, {
		Version: 3,
		Name:    "create similarity_revisions",
		Up: func(ctx context.Context, tx *gorm.DB) error {
			return tx.WithContext(ctx).Exec(`CREATE TABLE ` + RevisionsTableName + ` (
	tenant_id varchar(64) PRIMARY KEY,
	revision bigint NOT NULL
)`).Error
		},
		Down: func(ctx context.Context, tx *gorm.DB) error {
			return tx.WithContext(ctx).Exec(`DROP TABLE ` + RevisionsTableName).Error
		},
	}}
}

// migrator returns the versioned migrations of this package.
func migrator() (*migrate.Migrator, error) {
	return migrate.New(MigrationComponent, migrationSteps()...)
}

// Migrate creates or updates this package's tables (similarity_embeddings,
// similarity_pending and similarity_revisions) to SchemaVersion through the module's versioned
// migration runner (component "similarity" in schema_migrations). It is
// platform work: call it with a context that carries no tenant, as a role
// that may create tables. It is safe to call on every start and from
// several processes.
func Migrate(ctx context.Context, db *gorm.DB) error {
	m, err := migrator()
	if err != nil {
		return err
	}
	if _, err := m.Up(ctx, db); err != nil {
		return fmt.Errorf("similarity: migrate: %w", err)
	}
	return nil
}

// MigrateDown reverses this package's applied steps above version, newest
// first: MigrateDown(ctx, db, 2) drops similarity_revisions,
// MigrateDown(ctx, db, 1) also similarity_pending (with the index work
// still waiting), MigrateDown(ctx, db, 0) every table of this package with
// its rows.
func MigrateDown(ctx context.Context, db *gorm.DB, version int64) error {
	m, err := migrator()
	if err != nil {
		return err
	}
	if _, err := m.Down(ctx, db, version); err != nil {
		return fmt.Errorf("similarity: migrate down: %w", err)
	}
	return nil
}

// CurrentSchemaVersion returns the highest step of this package applied to
// db, or 0 for none. A role that may not create tables can call it.
func CurrentSchemaVersion(ctx context.Context, db *gorm.DB) (int64, error) {
	m, err := migrator()
	if err != nil {
		return 0, err
	}
	v, err := m.Version(ctx, db)
	if err != nil {
		return 0, fmt.Errorf("similarity: schema version: %w", err)
	}
	return v, nil
}

// encodeVector returns v as little-endian float32 bytes.
func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeVector reads dims little-endian float32 values into dst.
func decodeVector(dst []float32, b []byte) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("similarity: stored vector has %d bytes, want %d", len(b), 4*len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

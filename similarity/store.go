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

// Models returns the GORM models this package stores, for hosts that set
// up row-level security or their own migrations over every tenant-owned
// table.
func Models() []any { return []any{&ProjectEmbedding{}} }

// migrator returns the versioned migrations of this package.
func migrator() (*migrate.Migrator, error) {
	return migrate.New("similarity", migrate.Step{
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
	})
}

// Migrate creates or updates this package's tables to the latest version.
// It is platform work: call it with a context that carries no tenant, as
// a role that may create tables. It is safe to call on every start.
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

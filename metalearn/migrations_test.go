package metalearn

import (
	"context"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

func TestCurrentSchemaVersion(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			if v, err := CurrentSchemaVersion(ctx, db); err != nil || v != 0 {
				t.Fatalf("fresh database: version %d, %v; want 0", v, err)
			}
			if err := Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			if v, err := CurrentSchemaVersion(ctx, db); err != nil || v != SchemaVersion {
				t.Fatalf("after Migrate: version %d, %v; want %d", v, err, SchemaVersion)
			}
			if err := MigrateDown(ctx, db, 0); err != nil {
				t.Fatal(err)
			}
			if v, err := CurrentSchemaVersion(ctx, db); err != nil || v != 0 {
				t.Fatalf("after MigrateDown(0): version %d, %v; want 0", v, err)
			}
			if db.Migrator().HasTable("metalearn_models") {
				t.Fatal("metalearn_models still there after MigrateDown(0)")
			}
		})
	}
}

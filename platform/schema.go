package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/auth/gormstore"
	"github.com/maestro-ml/maestro/metalearn"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/similarity"
	"github.com/maestro-ml/maestro/tenancy"
)

// migration is one package's schema step.
type migration struct {
	name    string
	migrate func(context.Context, *gorm.DB) error
}

// migrations lists every package's migrations, in dependency order:
// tenants and users first, then what refers to them.
func migrations() []migration {
	return []migration{
		{"tenancy", tenancy.Migrate},
		{"platform", migratePlatform},
		{"auth", gormstore.Migrate},
		{"registry", registry.Migrate},
		{"metalearn", metalearn.Migrate},
		{"similarity", similarity.Migrate},
	}
}

// tenantModels lists every tenant-owned model, parents before children:
// the tenancy plugin scopes them, DeleteTenant removes their rows (in
// reverse order) and init-db protects their tables with row-level
// security.
func tenantModels() []any {
	var out []any
	out = append(out, registry.Models()...)
	out = append(out, metalearn.Models()...)
	out = append(out, similarity.Models()...)
	return out
}

// schemaTables lists tables whose presence shows the schema is in place.
func schemaTables() []any {
	out := []any{&tenancy.Tenant{}, &tenancy.User{}, &tenancy.Membership{}, &tenancy.Quota{}}
	for _, t := range gormstore.TableNames() {
		out = append(out, t)
	}
	return append(out, tenantModels()...)
}

// migrateAll runs every package's migrations on db.
func migrateAll(ctx context.Context, db *gorm.DB) error {
	for _, m := range migrations() {
		if err := m.migrate(ctx, db); err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// errSchemaMissing is returned by serve on a PostgreSQL database that
// init-db has not prepared.
var errSchemaMissing = errors.New("the database has no Maestro schema: run `platform init-db` with MAESTRO_DATABASE_OWNER_URL")

// prepareDatabase readies db before serving. SQLite is migrated. On
// PostgreSQL the schema is init-db's job: a missing schema is an error in
// production; in development it is migrated (the connecting role then
// owns the tables, which the role check below reports). Then the role is
// checked with tenancy.CheckRole: a role that would bypass row-level
// security stops a production start and is a warning otherwise.
func prepareDatabase(ctx context.Context, cfg Config, db *gorm.DB, d dialect, log *slog.Logger) error {
	if d != dialectPostgres {
		return migrateAll(ctx, db)
	}
	ready := true
	for _, t := range schemaTables() {
		if !db.WithContext(ctx).Migrator().HasTable(t) {
			ready = false
			break
		}
	}
	if !ready {
		if cfg.Production {
			return errSchemaMissing
		}
		log.Warn("no schema found; migrating as the serving role (development only: run init-db in production)")
		if err := migrateAll(ctx, db); err != nil {
			return err
		}
	}
	err := tenancy.CheckRole(ctx, db)
	var re *tenancy.RoleError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &re):
		return fmt.Errorf("role check: %w", err)
	case cfg.Production:
		return fmt.Errorf("refusing to serve in production: %w", err)
	}
	log.Warn("the database role bypasses row-level security; tenant isolation rests on the GORM plugin alone (run init-db and connect as its application role)",
		slog.String("role", re.Role), slog.Bool("superuser", re.Superuser), slog.Bool("bypassrls", re.BypassRLS),
		slog.Int("owned_tables", len(re.OwnedTables)))
	return nil
}

// enableRowLevelSecurity enables and forces row-level security on every
// tenant-owned table and returns how many tables it protected.
func enableRowLevelSecurity(ctx context.Context, owner *gorm.DB) (int, error) {
	models := tenantModels()
	if err := tenancy.EnableRLS(ctx, owner, models...); err != nil {
		return 0, err
	}
	return len(models), nil
}

package tenancy

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"gorm.io/gorm"
)

var (
	tableNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	tenantIDRe  = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
)

// TenantIndexName and TenantForeignKeyName return the names of the index
// and foreign key AddTenantColumn creates on table. The index name is the
// one GORM gives the index of Model's tenant_id, so a later AutoMigrate of
// a model that embeds Model finds it in place.
func TenantIndexName(table string) string { return "idx_" + table + "_tenant_id" }

// TenantForeignKeyName returns the name of the foreign key from table's
// tenant_id to tenants(id) that AddTenantColumn creates.
func TenantForeignKeyName(table string) string { return "fk_" + table + "_tenant" }

// AddTenantColumn is the up step for a host adopting tenancy on an
// existing table: it adds tenant_id, assigns every existing row to
// defaultTenantID, makes the column NOT NULL with a foreign key to
// tenants(id), and creates an index leading with tenant_id. The default
// tenant must exist (ErrNotFound otherwise; see Manager.CreateTenant).
// Then embed Model in the table's model and add the table to
// EnableRLS and the Manager's models.
//
// On PostgreSQL every step runs in one transaction and may be repeated.
// On SQLite the column is added in one ALTER TABLE with a DEFAULT of
// defaultTenantID (SQLite cannot add a NOT NULL column otherwise, nor
// alter it later without rebuilding the table); the default remains in
// the table's definition, so rows inserted without the plugin and without
// a tenant_id land in the default tenant. SQLite runs the step with
// foreign-key enforcement off on one connection, checks the table's
// foreign keys afterwards, and refuses a table that already has tenant_id.
//
// table must be a plain table name (letters, digits, underscores).
func AddTenantColumn(ctx context.Context, db *gorm.DB, table, defaultTenantID string) error {
	if !tableNameRe.MatchString(table) {
		return &ValidationError{Field: "table", Message: "must be a plain table name"}
	}
	if !tenantIDRe.MatchString(defaultTenantID) {
		return &ValidationError{Field: "default tenant", Message: "must be 1-64 letters, digits or hyphens"}
	}
	pdb := platformDB(ctx, db)
	var n int64
	if err := pdb.Model(&Tenant{}).Where("id = ?", defaultTenantID).Count(&n).Error; err != nil {
		return fmt.Errorf("tenancy: look up default tenant: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: default tenant %s", ErrNotFound, defaultTenantID)
	}
	defer forget(db, table)
	tenants := (&Tenant{}).TableName()
	switch db.Dialector.Name() {
	case "postgres":
		q := quoteIdent(table)
		return pdb.Transaction(func(tx *gorm.DB) error {
			steps := []struct {
				sql  string
				args []any
			}{
				{"ALTER TABLE " + q + " ADD COLUMN IF NOT EXISTS tenant_id varchar(64)", nil},
				{"UPDATE " + q + " SET tenant_id = ? WHERE tenant_id IS NULL", []any{defaultTenantID}},
				{"ALTER TABLE " + q + " ALTER COLUMN tenant_id SET NOT NULL", nil},
				{"ALTER TABLE " + q + " DROP CONSTRAINT IF EXISTS " + quoteIdent(TenantForeignKeyName(table)), nil},
				{"ALTER TABLE " + q + " ADD CONSTRAINT " + quoteIdent(TenantForeignKeyName(table)) +
					" FOREIGN KEY (tenant_id) REFERENCES " + quoteIdent(tenants) + " (id)", nil},
				{"CREATE INDEX IF NOT EXISTS " + quoteIdent(TenantIndexName(table)) + " ON " + q + " (tenant_id)", nil},
			}
			for _, s := range steps {
				if err := tx.Exec(s.sql, s.args...).Error; err != nil {
					return fmt.Errorf("tenancy: adopt %s: %w", table, err)
				}
			}
			return nil
		})
	case "sqlite":
		if pdb.Migrator().HasColumn(table, TenantColumn) {
			return fmt.Errorf("%w: %s already has %s", ErrConflict, table, TenantColumn)
		}
		return sqliteWithoutForeignKeys(pdb, table, func(tx *gorm.DB) error {
			q := sqliteQuote(table)
			stmts := []string{
				"ALTER TABLE " + q + " ADD COLUMN tenant_id varchar(64) NOT NULL DEFAULT '" + defaultTenantID +
					"' REFERENCES " + sqliteQuote(tenants) + "(id)",
				"CREATE INDEX " + sqliteQuote(TenantIndexName(table)) + " ON " + q + " (tenant_id)",
			}
			for _, s := range stmts {
				if err := tx.Exec(s).Error; err != nil {
					return fmt.Errorf("tenancy: adopt %s: %w", table, err)
				}
			}
			return nil
		})
	}
	return fmt.Errorf("%w: migration helpers support PostgreSQL and SQLite, not %s", ErrUnsupportedDialect, db.Dialector.Name())
}

// RemoveTenantColumn is the down step of AddTenantColumn: it drops the
// index, the foreign key and the tenant_id column, and with them the
// assignment of rows to tenants. Disable row-level security on the table
// first (DisableRLS): PostgreSQL refuses to drop a column a policy uses.
func RemoveTenantColumn(ctx context.Context, db *gorm.DB, table string) error {
	if !tableNameRe.MatchString(table) {
		return &ValidationError{Field: "table", Message: "must be a plain table name"}
	}
	defer forget(db, table)
	pdb := platformDB(ctx, db)
	switch db.Dialector.Name() {
	case "postgres":
		q := quoteIdent(table)
		return pdb.Transaction(func(tx *gorm.DB) error {
			for _, s := range []string{
				"DROP INDEX IF EXISTS " + quoteIdent(TenantIndexName(table)),
				"ALTER TABLE " + q + " DROP CONSTRAINT IF EXISTS " + quoteIdent(TenantForeignKeyName(table)),
				"ALTER TABLE " + q + " DROP COLUMN IF EXISTS tenant_id",
			} {
				if err := tx.Exec(s).Error; err != nil {
					return fmt.Errorf("tenancy: revert %s: %w", table, err)
				}
			}
			return nil
		})
	case "sqlite":
		return sqliteWithoutForeignKeys(pdb, table, func(tx *gorm.DB) error {
			for _, s := range []string{
				"DROP INDEX IF EXISTS " + sqliteQuote(TenantIndexName(table)),
				"ALTER TABLE " + sqliteQuote(table) + " DROP COLUMN tenant_id",
			} {
				if err := tx.Exec(s).Error; err != nil {
					return fmt.Errorf("tenancy: revert %s: %w", table, err)
				}
			}
			return nil
		})
	}
	return fmt.Errorf("%w: migration helpers support PostgreSQL and SQLite, not %s", ErrUnsupportedDialect, db.Dialector.Name())
}

// sqliteWithoutForeignKeys runs fn in a transaction on one connection with
// foreign-key enforcement off (SQLite ignores the pragma inside a
// transaction, and it applies per connection), then checks table's
// foreign keys before committing and restores enforcement.
func sqliteWithoutForeignKeys(db *gorm.DB, table string, fn func(tx *gorm.DB) error) error {
	return db.Connection(func(conn *gorm.DB) (err error) {
		var fk int
		if err := conn.Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil {
			return err
		}
		if err := conn.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return err
		}
		defer func() {
			if fk == 1 {
				if rerr := conn.Exec("PRAGMA foreign_keys = ON").Error; rerr != nil && err == nil {
					err = rerr
				}
			}
		}()
		return conn.Transaction(func(tx *gorm.DB) error {
			if err := fn(tx); err != nil {
				return err
			}
			rows, err := tx.Raw("PRAGMA foreign_key_check(" + sqliteQuote(table) + ")").Rows()
			if err != nil {
				return err
			}
			defer rows.Close()
			if rows.Next() {
				return errors.New("tenancy: foreign key check failed after migrating " + table)
			}
			return rows.Err()
		})
	})
}

func sqliteQuote(name string) string { return "`" + name + "`" }

// forget tells the plugin installed on db, if any, that table's ownership
// may have changed.
func forget(db *gorm.DB, table string) {
	if p := installedPlugin(db); p != nil {
		p.forgetTable(table)
	}
}

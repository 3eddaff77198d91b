package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"gorm.io/gorm"
)

// validRoleName accepts the role names init-db creates: plain lower-case
// identifiers, so they never need quoting in a connection URL.
var validRoleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// InitDB prepares a PostgreSQL database for New, connected as the owner
// (cfg.DatabaseOwnerURL): it runs every package's migrations, creates the
// application role of cfg.DatabaseURL when missing, grants it only row
// access, and enables and forces row-level security on every tenant-owned
// table. It is idempotent. Of the options only WithLogger applies.
func InitDB(ctx context.Context, cfg Config, opts ...Option) error {
	var o settings
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return fmt.Errorf("platform: %w", err)
		}
	}
	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return fmt.Errorf("platform: configuration: %w", err)
	}
	d, _, err := databaseTarget(cfg.DatabaseURL, cfg.Home)
	if err != nil {
		return err
	}
	if d != dialectPostgres {
		return fmt.Errorf("init-db prepares PostgreSQL: set %s to the application role's postgres:// URL", envDatabaseURL)
	}
	if cfg.DatabaseOwnerURL == "" {
		return fmt.Errorf("init-db needs %s, a role that may create tables and roles", envDatabaseOwnerURL)
	}
	role, password, err := appRole(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	owner, od, err := openDatabase(cfg.DatabaseOwnerURL, cfg.Home, log)
	if err != nil {
		return err
	}
	defer closeDB(owner)()
	if od != dialectPostgres {
		return fmt.Errorf("%s must be a postgres:// URL", envDatabaseOwnerURL)
	}
	if err := migrateAll(ctx, owner); err != nil {
		return err
	}
	log.Info("init-db: migrations applied")
	if err := ensureAppRole(ctx, owner, role, password); err != nil {
		return err
	}
	if err := grantAppRole(ctx, owner, role); err != nil {
		return err
	}
	log.Info("init-db: application role ready", slog.String("role", role))
	tables, err := enableRowLevelSecurity(ctx, owner)
	if err != nil {
		return err
	}
	log.Info("init-db: row-level security enabled and forced", slog.Int("tables", tables))
	return nil
}

// appRole returns the user name and password of a postgres:// URL.
func appRole(dsn string) (role, password string, err error) {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return "", "", fmt.Errorf("%s must name the application role: postgres://ROLE:PASSWORD@host/db", envDatabaseURL)
	}
	role = u.User.Username()
	password, _ = u.User.Password()
	if !validRoleName.MatchString(role) {
		return "", "", fmt.Errorf("%s: role name must be a lower-case identifier", envDatabaseURL)
	}
	if password == "" {
		return "", "", fmt.Errorf("%s must carry the application role's password", envDatabaseURL)
	}
	return role, password, nil
}

// errUnsafeExistingRole is returned when the application role exists with
// privileges that would bypass row-level security.
var errUnsafeExistingRole = errors.New("the application role exists but is a superuser or has BYPASSRLS; use another role")

// ensureAppRole creates role with the given password unless it exists:
// LOGIN, and none of SUPERUSER, BYPASSRLS, CREATEDB, CREATEROLE. An
// existing role is left as it is, unless it would bypass row-level
// security, which is an error. Identifiers and the password are quoted by
// PostgreSQL itself (format with %I and %L).
func ensureAppRole(ctx context.Context, db *gorm.DB, role, password string) error {
	var r struct {
		Super  bool
		Bypass bool
	}
	res := db.WithContext(ctx).Raw(`SELECT rolsuper AS super, rolbypassrls AS bypass FROM pg_roles WHERE rolname = ?`, role).Scan(&r)
	if res.Error != nil {
		return fmt.Errorf("look up role: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		if r.Super || r.Bypass {
			return fmt.Errorf("role %s: %w", role, errUnsafeExistingRole)
		}
		return nil
	}
	var stmt string
	if err := db.WithContext(ctx).Raw(
		`SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD %L', ?::text, ?::text)`,
		role, password).Scan(&stmt).Error; err != nil {
		return fmt.Errorf("create role: %w", err)
	}
	if err := db.WithContext(ctx).Exec(stmt).Error; err != nil {
		return fmt.Errorf("create role %s: %w", role, redactErr(err, "postgres://x:"+url.QueryEscape(password)+"@x"))
	}
	return nil
}

// grantAppRole grants role what serving needs and nothing more: CONNECT on
// the database, USAGE on the schema, row access on its tables and USAGE on
// its sequences.
func grantAppRole(ctx context.Context, db *gorm.DB, role string) error {
	var names struct {
		DB     string
		Schema string
	}
	if err := db.WithContext(ctx).Raw(`SELECT current_database() AS db, current_schema() AS schema`).Scan(&names).Error; err != nil {
		return err
	}
	templates := []string{
		`SELECT format('GRANT CONNECT ON DATABASE %I TO %I', ?::text, ?::text)`,
		`SELECT format('GRANT USAGE ON SCHEMA %I TO %I', ?::text, ?::text)`,
		`SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', ?::text, ?::text)`,
		`SELECT format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO %I', ?::text, ?::text)`,
	}
	for i, tmpl := range templates {
		obj := names.Schema
		if i == 0 {
			obj = names.DB
		}
		var stmt string
		if err := db.WithContext(ctx).Raw(tmpl, obj, role).Scan(&stmt).Error; err != nil {
			return err
		}
		if err := db.WithContext(ctx).Exec(stmt).Error; err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(stmt, " TO ", 2)[0], err)
		}
	}
	return nil
}

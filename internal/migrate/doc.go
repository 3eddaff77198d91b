// Package migrate is a small, versioned schema migration runner for GORM
// databases, used by Maestro's packages and reusable by host applications
// inside this module.
//
// A migration is a list of Steps, each with a unique, increasing Version, an
// Up function and a Down function. A Migrator applies the steps of one
// component (for example "registry") and records each applied version in the
// table schema_migrations:
//
//	component  varchar(64)  the migrating component
//	version    bigint       the step's version
//	name       varchar(200) the step's name, for humans
//	applied_at timestamp    when the step was applied (UTC)
//
// with the primary key (component, version), so several components share
// one table without their version numbers colliding.
//
// Every step runs in its own transaction together with the insert (or
// delete) of its schema_migrations row: a step is applied completely or not
// at all. On PostgreSQL the transaction first takes a transaction-scoped
// advisory lock per component, so runners in several processes serialise
// and a step is never applied twice; on SQLite the database's own write lock
// serialises them (runners in several processes should open the file with
// _txlock=immediate, or a runner whose transaction read first can fail with
// SQLITE_BUSY instead of waiting). Both SQLite and PostgreSQL run DDL
// transactionally, so a failing step leaves no half-created table behind.
//
// Status and Version create schema_migrations only when it is missing, so
// an application role that may read the table but not create tables (as
// under row-level security) can check the schema version at start-up.
//
// Steps receive the transaction as a *gorm.DB and may use explicit SQL
// (tx.Exec) or GORM's Migrator; they should produce the same schema on every
// supported database.
//
// Most steps are plain DDL, written once for both databases: SQL(version,
// name, up, down) makes such a step, and Exec runs statements in order,
// first expanding the dialect placeholders {{ts}} (a UTC timestamp column:
// timestamptz on PostgreSQL, datetime on SQLite) and {{blob}} (bytea or
// blob) with Expand. Every package that owns tables (tenancy, auth's
// gormstore, registry, metalearn) builds its steps this way and exports
// the same three functions over its Migrator:
//
//	Migrate(ctx, db) error                            // Up
//	MigrateDown(ctx, db, version int64) error         // Down to version (0: all)
//	CurrentSchemaVersion(ctx, db) (int64, error)      // Version
//
// Down steps undo exactly what their Up step did: a Down that drops a
// table loses that table's rows, so steps that add indexes or columns to
// existing tables are the ones that can be rolled back and re-applied
// without losing data.
//
// The runner does not use tenant-scoped models, so it is meant to run with
// a context that carries no tenant (migrations are platform work).
package migrate

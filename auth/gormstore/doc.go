// Package gormstore keeps auth's server-side state in a SQL database
// through GORM: login sessions, refresh-token hashes and the token denylist
// (TokenStore), and API key records (APIKeyStore). It works on SQLite (the
// pure-Go driver) and PostgreSQL.
//
// Its tables are platform-level, not tenant-owned: a login session or an
// API key must be found before any tenant is known (that is what
// authentication establishes), so they do not embed tenancy.Model and the
// tenancy plugin leaves them alone. Hosts scope API-key listings and
// revocation by tenant through the tenant id arguments of APIKeyStore.
// The stores issue no raw SQL (only the migrations run DDL), so they also
// work on a *gorm.DB that has the tenancy plugin installed, whether or not
// the context carries a tenant.
//
// Create the tables with Migrate — versioned steps with up and down SQL,
// recorded in schema_migrations under component "auth" — and remove them
// with MigrateDown(ctx, db, 0); TableNames lists them for grants to an
// application role:
//
//	if err := gormstore.Migrate(ctx, db); err != nil { ... }
//	tokens := gormstore.NewTokenStore(db)
//	keys := gormstore.NewAPIKeyStore(db)
//
// Expired rows are not needed for correctness; call TokenStore.Purge
// periodically (for example hourly) to delete them.
//
// Both stores are safe for concurrent use. TokenStore.RotateRefresh runs in
// a transaction whose first statement is a conditional UPDATE, so of
// concurrent rotations of one token exactly one succeeds; on SQLite a
// transaction that meets a locked database is retried.
package gormstore

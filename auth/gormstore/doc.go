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
// No method issues raw SQL, so the stores also work on a *gorm.DB that has
// the tenancy plugin installed.
//
// Create the tables with Migrate (and remove them with Drop); TableNames
// lists them for grants to an application role:
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

// Command platform is Maestro's reference server: a complete multi-tenant ML
// platform HTTP API composed from the library's packages. It is meant to be
// read: every handler is short because the library does the work.
//
// Usage:
//
//	platform [serve] [--addr HOST:PORT]   serve the API (default 127.0.0.1:8080)
//	platform init-db                      prepare a PostgreSQL database (owner URL)
//
// With no configuration, `go run ./examples/platform` serves on an embedded
// SQLite file under ./.maestro and prints nothing secret: the bootstrap
// password of the user admin is written to .maestro/initial_admin_password.
// Configuration comes from the environment through package secrets (each
// secret may also be given as NAME_FILE, a path holding the value); see
// docs/platform.md for the table, the endpoints and the audit log.
//
// How the pieces compose:
//
//	secrets ──> config (config.go)
//	auth.JWTManager, auth.PasswordHasher, API keys, throttling ──> identity (identity.go)
//	auth middleware ──> Principal ──> tenancy middleware ──> tenant in the context
//	gorm.DB with the tenancy plugin (and RLS on PostgreSQL) ──> handlers
//
// The route table (routes.go) is the single place routes are registered;
// each entry states who may call it (public, a minimum role, or superadmin),
// and tests enumerate it: every route with a resource id must have a case in
// the cross-tenant suite, which calls it as one tenant's user with another
// tenant's ids and expects 404.
package platform

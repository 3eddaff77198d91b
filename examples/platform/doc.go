// Command platform serves Maestro's reference platform (package
// github.com/maestro-ml/maestro/platform): the multi-tenant ML platform's
// HTTP API, composed from the library's packages.
//
// Usage:
//
//	platform [serve] [--addr HOST:PORT]   serve the platform (default 127.0.0.1:8080)
//	platform init-db                      prepare a PostgreSQL database (owner URL)
//
// With no configuration, `go run ./examples/platform` serves on an embedded
// SQLite file under ./.maestro and prints nothing secret: the bootstrap
// password of the user admin is written to .maestro/initial_admin_password.
// Configuration comes from the environment through package secrets (each
// secret may also be given as NAME_FILE, a path holding the value); see
// docs/platform.md for the table, the endpoints and the audit log.
//
// This program is only flags, signals and the two commands around
// platform.ConfigFromEnv, platform.New and platform.InitDB; a host that
// wants the platform inside its own server mounts platform.Server's
// Handler instead.
package main

// Package maestro is the root of Maestro, an embeddable Go library for
// building secure, multi-tenant machine-learning platforms.
//
// Maestro is a set of packages that a host application imports and composes;
// this root package holds only documentation.
//
//   - [github.com/maestro-ml/maestro/secrets] reads secrets from the
//     environment, NAME_FILE files, secret directories and Vault, checks
//     their strength, and builds TLS configurations.
//   - [github.com/maestro-ml/maestro/auth] issues and verifies short-lived
//     access tokens and rotating refresh tokens (with reuse detection and
//     revocation), hashes passwords with argon2id, manages API keys and
//     roles, and provides net/http middleware. A request's identity comes only
//     from a verified credential.
//   - [github.com/maestro-ml/maestro/tenancy] is a GORM plugin that scopes
//     every read and write on tenant-owned models to the tenant carried by the
//     context and fails closed, backed on PostgreSQL by row-level security; it
//     also manages tenants, users, memberships and quotas.
//   - [github.com/maestro-ml/maestro/registry] records ML projects and their
//     outcomes and success scores, teams, process metrics, a library of
//     reusable artifacts with measured impact, experiments, runs, metrics,
//     registered models and versions.
//   - [github.com/maestro-ml/maestro/metalearn] learns from a tenant's own
//     completed projects which projects succeed, predicts a new project's
//     success with a calibrated interval, and recommends a team size and
//     artifacts to reuse.
//   - [github.com/maestro-ml/maestro/similarity] embeds project specifications
//     with a pluggable embedder (OpenAI-compatible servers or a built-in offline
//     embedder) and finds the most similar past projects, with an overlap
//     report and an effort estimate.
//
// # How the packages compose
//
//	secrets.Provider ──> keys, DSNs, TLS material
//	auth.JWTManager + auth.PasswordHasher + token store ──> auth.Middleware ──> Principal in ctx
//	tenancy.Middleware: Principal ──> tenant in ctx ──> *gorm.DB with tenancy plugin (+ RLS on PostgreSQL)
//	registry.Registry(db) ──> metalearn (train on completed projects, predict, recommend)
//	                      └─> similarity.Service(embedder, db) (index specs, similar, overlap)
//
// The reference server in examples/platform composes all of them into a
// complete multi-tenant ML platform HTTP API; it is the best place to see
// the library used as intended.
package maestro

// Package registry is Maestro's ML registry: the data the rest of Maestro
// learns from, kept per tenant.
//
// It records
//
//   - projects: problem class, complexity (1-10), team size, description,
//     a structured Spec, tags, status and dates, listed with filters and
//     cursor pagination;
//   - outcomes: model performance, business impact, deployment days and
//     compute cost, turned into a deterministic success score from 0 to
//     100 (see SuccessScore for the formula and why it is shaped so);
//   - team members with role, experience level and hours;
//   - process metrics: typed values over time, written in batches and
//     summarised per type with two velocity figures (see ProcessSummary);
//   - an artifact library: typed, versioned, tagged artifacts whose content
//     lives in a BlobStore (FileStore on a local directory, S3Store on an
//     S3-compatible object store), with SHA-256 and size recorded, usage by
//     projects with impact scores, search and a top list;
//   - experiments, runs with parameters, and metrics logged in batches of
//     up to 10,000 points, read back with even downsampling;
//   - registered models with numbered versions and aliases;
//   - stored predictions, compared with the outcome once it is known.
//
// # Tenancy
//
// Every model embeds tenancy.Model, and every method takes a context that
// carries the tenant (tenancy.WithTenant). The Registry does not filter by
// tenant itself: the *gorm.DB passed to New must have the tenancy plugin
// installed (db.Use(tenancy.NewPlugin())), which scopes every statement to
// the context's tenant, and on PostgreSQL row-level security can back it
// (Models and TenantTables list what to protect). Another tenant's record
// is reported with ErrNotFound, exactly like a missing one. The schema
// adds a second wall of its own: every child table references its parent
// through (tenant_id, parent_id), so the database refuses a row that
// points at another tenant's parent.
//
// # Errors
//
// Methods return errors that wrap ErrNotFound, ErrInvalid (as
// ValidationErrors, a list of {Field, Message} in the input's JSON
// names), ErrConflict or ErrTooLarge (as *TooLargeError), or
// tenancy.ErrNoTenant. A call that fails validation changes nothing; a
// write that fails midway is rolled back.
//
// # Schema
//
// Migrate creates and upgrades the schema with versioned up and down steps
// recorded in schema_migrations; the same SQL runs on SQLite and
// PostgreSQL. Run it at start-up with a context without a tenant.
//
// # Concurrency
//
// Batches are all or nothing: each write method runs in one transaction.
// Counters that concurrent writers share are kept by atomic UPDATEs that
// hold the row lock until commit (metric series numbering, model version
// numbers, artifact usage count and mean impact), and the statistics an
// artifact loses when a project is deleted are recounted under that
// artifact's row lock. Reads that take several statements (MetricHistory)
// see one snapshot.
//
// SQLite allows one writer at a time, and a transaction that reads before
// it writes fails with SQLITE_BUSY, whatever the busy timeout, when
// another has begun writing meanwhile. A Registry on SQLite therefore runs
// its write transactions one at a time, in process. That covers one
// Registry; when other code or other processes write to the same SQLite
// file, open it with a busy timeout and _txlock=immediate, so that every
// transaction takes the write lock when it begins and waits for it
// instead of failing:
//
//	sqlite.Open("maestro.db?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate")
//
// PostgreSQL needs none of this: transactions run concurrently, under
// READ COMMITTED, with the row locks named above.
//
// # Pagination
//
// Listings return a Page with an opaque NextCursor. Results are ordered by
// id, newest first (ids are time-ordered UUIDv7), and a cursor is bound to
// the filter it was issued for; a cursor that is malformed or belongs to
// another filter is ErrInvalid.
package registry

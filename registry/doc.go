// Package registry is Maestro's ML registry: the data the rest of Maestro
// learns from, kept per tenant.
//
// It records
//
//   - projects: problem class, complexity (1-10), team size, description,
//     a structured Spec (bounded: at most MaxSpecSectionItems items per
//     section, MaxSpecItems in all, MaxSpecItemBytes bytes per string;
//     see Spec.Validate), tags, status and dates, listed with filters and
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
// MigrateDown reverses steps and CurrentSchemaVersion reports the applied
// version.
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
// # Quotas
//
// With WithQuota (a tenancy.Manager, say) the Registry checks the
// context tenant's quota in the transaction of every write that adds to
// it: projects, artifacts, artifact content (storage bytes) and metric
// points. A write over a limit changes nothing. Counters returns how the
// tenancy package counts these resources, from the rows, so usage is right
// after deletes.
//
// # Pagination
//
// Every listing that can grow without bound returns a Page with an opaque
// NextCursor: ListProjects, SearchArtifacts and ArtifactUsages take Limit
// and Cursor in their filter; ListExperiments, ListRuns, ListMetrics,
// ListModels, ListModelVersions, ListModelAliases, ListPredictions and
// ListProcessMetrics take a PageRequest. A page holds at most Limit items
// (0 means DefaultLimit, 50; at most MaxLimit, 1000). Projects and
// artifacts are listed newest first; the other listings in their natural
// order (oldest first, or by name, key or version), as each method says.
// A cursor is bound to the listing and filter it was issued for; a cursor
// that is malformed or belongs to another listing or filter, and a limit
// out of range, are ErrInvalid.
//
// The listings that return slices are bounded: ListTeamMembers (a team has
// at most MaxTeamMembers members), TopArtifacts and MetricHistory (by
// their limit argument) and SummarizeProcessMetrics (one summary per
// metric type). ListArtifactUsages is deprecated in favour of
// ArtifactUsages.
//
// # Options
//
// New refuses a nil db, a db without the tenancy plugin and an option
// given an invalid value with ValidationErrors (ErrInvalid); so do
// NewFileStore for its options and NewS3Store for its config.
package registry

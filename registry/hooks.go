package registry

import (
	"context"

	"gorm.io/gorm"
)

// Transaction runs fn in one write transaction of the context's tenant, so
// that a caller can make registry writes and writes of its own commit or
// roll back together: an outbox row recorded beside a project write, for
// example (package similarity does this).
//
// fn receives the transaction and a Registry bound to it, with the same
// configuration as r. The bound Registry's methods run inside the
// transaction (their own transactions become savepoints); use it only
// within fn and with a context carrying the same tenant. Writes made on tx
// are scoped by the tenancy plugin as usual. When fn returns an error, or
// panics, everything is rolled back.
//
// On SQLite the transaction is one of the Registry's serialised write
// transactions (see "Concurrency" in the package documentation): fn must
// not wait for another write transaction of r.
func (r *Registry) Transaction(ctx context.Context, fn func(tx *gorm.DB, reg *Registry) error) error {
	return r.tx(ctx, func(tx *gorm.DB) error {
		bound := &Registry{
			db:            tx,
			blobs:         r.blobs,
			weights:       r.weights,
			scales:        r.scales,
			maxBlob:       r.maxBlob,
			now:           r.now,
			serial:        false, // the outer transaction holds r.writeMu
			sqliteRows:    r.sqliteRows,
			maxResequence: r.maxResequence,
			maxTeam:       r.maxTeam,
			quota:         r.quota,
		}
		return fn(tx, bound)
	})
}

package tenancy

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SetQuota stores a tenant's limits (zero means unlimited). An unknown
// tenant is ErrNotFound; a negative limit is ErrInvalid.
func (m *Manager) SetQuota(ctx context.Context, tenantID string, q Quota) error {
	if err := q.validate(); err != nil {
		return err
	}
	q.TenantID = tenantID
	q.Tenant = nil
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", tenantID).Take(&Tenant{}).Error; err != nil {
			return err
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"users", "projects", "artifacts", "storage_bytes", "metric_points", "updated_at"}),
		}).Create(&q).Error
	})
	return m.dbError("tenant", err)
}

// validate refuses negative limits.
func (q Quota) validate() error {
	for _, r := range Resources() {
		if v, _ := q.Limit(r); v < 0 {
			return &ValidationError{Field: "quota", Message: fmt.Sprintf("the %s limit must not be negative", r)}
		}
	}
	return nil
}

// WithDefaultQuota sets the limits of tenants without a stored quota:
// CreateTenant stores q for every new tenant in the tenant's own
// transaction, and a tenant created before (without a quota row) gets q
// stored by its first CheckQuotaTx, so that every tenant has a limit the
// check can lock. Without this option a tenant without a stored quota is
// unlimited. A negative limit is invalid.
func WithDefaultQuota(q Quota) ManagerOption {
	return func(m *Manager) error {
		if err := q.validate(); err != nil {
			return err
		}
		q.TenantID, q.Tenant = "", nil
		m.defaults = &q
		return nil
	}
}

// DefaultQuota returns the limits of tenants without a stored quota (see
// WithDefaultQuota), and false when there are none (such tenants are
// unlimited).
func (m *Manager) DefaultQuota() (Quota, bool) {
	if m.defaults == nil {
		return Quota{}, false
	}
	return *m.defaults, true
}

// Quota returns a tenant's limits. A tenant without a stored quota has
// the default quota (WithDefaultQuota), or the zero Quota (unlimited)
// without one.
func (m *Manager) Quota(ctx context.Context, tenantID string) (Quota, error) {
	return m.quota(m.db.WithContext(withoutTenant(ctx)), tenantID, false)
}

// quota reads a tenant's limits. With lock, inside a transaction, it
// locks the tenant's quota row until the transaction ends (SELECT ... FOR
// UPDATE on PostgreSQL), storing the default quota first when the tenant
// has none, so that there is a row to lock.
func (m *Manager) quota(db *gorm.DB, tenantID string, lock bool) (Quota, error) {
	read := func() (Quota, bool, error) {
		q := db
		if lock && db.Dialector.Name() == "postgres" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var rows []Quota
		if err := q.Where("tenant_id = ?", tenantID).Limit(1).Find(&rows).Error; err != nil {
			return Quota{}, false, m.dbError("quota", err)
		}
		if len(rows) == 0 {
			return Quota{}, false, nil
		}
		return rows[0], true, nil
	}
	q, found, err := read()
	if err != nil {
		return Quota{}, err
	}
	if !found && m.defaults != nil && lock {
		// Concurrent checks of a tenant without a row both try to store
		// it; on PostgreSQL the second insert waits for the first to
		// commit and then does nothing, and its read locks the row.
		d := *m.defaults
		d.TenantID = tenantID
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&d).Error; err != nil {
			return Quota{}, m.dbError("quota", err)
		}
		if q, found, err = read(); err != nil {
			return Quota{}, err
		}
	}
	if !found && m.defaults != nil {
		q = *m.defaults
	}
	q.TenantID, q.Tenant = tenantID, nil
	return q, nil
}

// Usage counts a tenant's current use of r with the registered Counter.
func (m *Manager) Usage(ctx context.Context, tenantID string, r Resource) (int64, error) {
	return m.usage(ctx, m.db, tenantID, r)
}

func (m *Manager) usage(ctx context.Context, db *gorm.DB, tenantID string, r Resource) (int64, error) {
	m.mu.RLock()
	c := m.counters[r]
	m.mu.RUnlock()
	if c == nil {
		return 0, fmt.Errorf("tenancy: no counter registered for %s", r)
	}
	tctx := WithTenant(ctx, tenantID)
	n, err := c(tctx, db.WithContext(tctx), tenantID)
	if err != nil {
		return 0, fmt.Errorf("tenancy: count %s: %w", r, err)
	}
	return n, nil
}

// CheckQuota reports whether the tenant may add delta of r: nil when the
// limit is zero (unlimited) or used+delta stays within it, else a
// *QuotaError wrapping ErrQuotaExceeded. A limited resource without a
// registered Counter is an error, never a silent pass.
//
// CheckQuota alone is advisory under concurrency: two requests may both
// pass before either writes. Call CheckQuotaTx inside the transaction that
// performs the write to serialise them per tenant.
func (m *Manager) CheckQuota(ctx context.Context, tenantID string, r Resource, delta int64) error {
	return m.checkQuota(ctx, m.db.WithContext(ctx), tenantID, r, delta, false)
}

// CheckQuotaTx is CheckQuota inside the caller's transaction tx. On
// PostgreSQL it locks the tenant's quota row (SELECT ... FOR UPDATE) until
// tx ends, so concurrent checks for one tenant run one after the other
// and each sees the writes of the one before; SQLite serialises writing
// transactions by itself.
func (m *Manager) CheckQuotaTx(ctx context.Context, tx *gorm.DB, tenantID string, r Resource, delta int64) error {
	return m.checkQuota(ctx, tx, tenantID, r, delta, true)
}

// Allowance returns a tenant's limit of r (0: unlimited) and its current
// use of r. It is advisory, like CheckQuota: a caller uses it to stop work
// early (an upload that can no longer fit), and still checks with
// CheckQuotaTx in the transaction that writes. The use is counted only
// when r is limited.
func (m *Manager) Allowance(ctx context.Context, tenantID string, r Resource) (limit, used int64, err error) {
	db := m.db.WithContext(ctx)
	q, err := m.quota(db.WithContext(withoutTenant(ctx)), tenantID, false)
	if err != nil {
		return 0, 0, err
	}
	limit, known := q.Limit(r)
	if !known {
		return 0, 0, &ValidationError{Field: "resource", Message: fmt.Sprintf("unknown resource %q", r)}
	}
	if limit == 0 {
		return 0, 0, nil
	}
	if used, err = m.usage(ctx, db, tenantID, r); err != nil {
		return 0, 0, err
	}
	return limit, used, nil
}

func (m *Manager) checkQuota(ctx context.Context, db *gorm.DB, tenantID string, r Resource, delta int64, lock bool) error {
	q, err := m.quota(db.WithContext(withoutTenant(ctx)), tenantID, lock)
	if err != nil {
		return err
	}
	limit, known := q.Limit(r)
	if !known {
		return &ValidationError{Field: "resource", Message: fmt.Sprintf("unknown resource %q", r)}
	}
	if limit == 0 || delta <= 0 {
		return nil
	}
	used, err := m.usage(ctx, db, tenantID, r)
	if err != nil {
		return err
	}
	if used+delta > limit {
		return &QuotaError{TenantID: tenantID, Resource: r, Limit: limit, Used: used, Requested: delta}
	}
	return nil
}

func countMembers(_ context.Context, db *gorm.DB, tenantID string) (int64, error) {
	var n int64
	err := db.Model(&Membership{}).Where("tenant_id = ?", tenantID).Count(&n).Error
	return n, err
}

// CountRows returns a Counter that counts a tenant's rows of a
// tenant-owned model.
func CountRows(model any) Counter {
	return func(_ context.Context, db *gorm.DB, tenantID string) (int64, error) {
		var n int64
		err := db.Model(model).Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: TenantColumn}, Value: tenantID}).Count(&n).Error
		return n, err
	}
}

var columnRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SumColumn returns a Counter that sums a numeric column (for example
// size_bytes) over a tenant's rows of a tenant-owned model.
func SumColumn(model any, column string) Counter {
	return func(_ context.Context, db *gorm.DB, tenantID string) (int64, error) {
		if !columnRe.MatchString(column) {
			return 0, errors.New("tenancy: SumColumn: invalid column name")
		}
		var sums []int64
		err := db.Model(model).Where(clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: TenantColumn}, Value: tenantID}).
			Pluck("COALESCE(SUM("+column+"), 0)", &sums).Error
		if err != nil || len(sums) == 0 {
			return 0, err
		}
		return sums[0], nil
	}
}

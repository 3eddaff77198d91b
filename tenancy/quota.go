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
// tenant is ErrNotFound.
func (m *Manager) SetQuota(ctx context.Context, tenantID string, q Quota) error {
	for _, v := range []int64{q.Users, q.Projects, q.Artifacts, q.StorageBytes} {
		if v < 0 {
			return &ValidationError{Field: "quota", Message: "limits must not be negative"}
		}
	}
	q.TenantID = tenantID
	q.Tenant = nil
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", tenantID).Take(&Tenant{}).Error; err != nil {
			return err
		}
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "tenant_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"users", "projects", "artifacts", "storage_bytes", "updated_at"}),
		}).Create(&q).Error
	})
	return m.dbError("tenant", err)
}

// Quota returns a tenant's limits; a tenant without a stored quota has the
// zero Quota (unlimited).
func (m *Manager) Quota(ctx context.Context, tenantID string) (Quota, error) {
	return m.quota(m.db.WithContext(ctx), tenantID, false)
}

func (m *Manager) quota(db *gorm.DB, tenantID string, lock bool) (Quota, error) {
	var q Quota
	if lock && db.Dialector.Name() == "postgres" {
		db = db.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := db.Where("tenant_id = ?", tenantID).Limit(1).Find(&q).Error
	if err != nil {
		return Quota{}, m.dbError("quota", err)
	}
	q.TenantID = tenantID
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

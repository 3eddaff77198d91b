package registry

import (
	"context"
	"io"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/tenancy"
)

// QuotaChecker enforces a tenant's quotas on the registry's writes.
// *tenancy.Manager implements it.
type QuotaChecker interface {
	// CheckQuotaTx reports, inside the write's transaction tx, whether the
	// tenant may add delta of r: nil, or an error wrapping
	// tenancy.ErrQuotaExceeded. It must serialise concurrent checks of one
	// tenant until tx ends, so that two writes cannot both pass a limit.
	CheckQuotaTx(ctx context.Context, tx *gorm.DB, tenantID string, r tenancy.Resource, delta int64) error
	// Allowance returns the tenant's limit of r (0: unlimited) and its use
	// of r now. The registry uses it to stop an upload early once it can
	// no longer fit; the transaction's CheckQuotaTx decides.
	Allowance(ctx context.Context, tenantID string, r tenancy.Resource) (limit, used int64, err error)
}

// WithQuota makes the Registry check the context tenant's quota in the
// transaction of every write that adds to it:
//
//   - CreateProject: one of tenancy.ResourceProjects;
//   - CreateArtifact: one of tenancy.ResourceArtifacts;
//   - PutArtifactContent: the content's size less the size of the content
//     it replaces, of tenancy.ResourceStorageBytes;
//   - LogMetrics: the batch's points, of tenancy.ResourceMetricPoints.
//
// A write over a limit fails with the checker's error (a
// *tenancy.QuotaError wrapping tenancy.ErrQuotaExceeded for a
// tenancy.Manager) and changes nothing: no row, no blob. Deletes need no
// check; usage is counted from the rows (see Counters), so it is right
// after any delete. A nil checker is invalid.
func WithQuota(q QuotaChecker) Option {
	return func(r *Registry) error {
		if q == nil {
			return invalid("quota", "must not be nil")
		}
		r.quota = q
		return nil
	}
}

// Counters returns how the tenancy package counts a tenant's use of the
// resources the registry holds, for tenancy.WithCounter: projects and
// artifacts are counted rows; storage bytes are the sum of the artifacts'
// content sizes; metric points are read from the running totals that
// triggers on the metric series keep (at most 16 rows per tenant, however
// many runs, series and points it has), so the check on every metric
// write costs the same for a tenant's first point and its billionth.
func Counters() map[tenancy.Resource]tenancy.Counter {
	return map[tenancy.Resource]tenancy.Counter{
		tenancy.ResourceProjects:     tenancy.CountRows(&Project{}),
		tenancy.ResourceArtifacts:    tenancy.CountRows(&Artifact{}),
		tenancy.ResourceStorageBytes: tenancy.SumColumn(&Artifact{}, "size_bytes"),
		tenancy.ResourceMetricPoints: tenancy.SumColumn(&metricPointTotal{}, "points"),
	}
}

// checkQuota checks the context tenant's quota for delta more of res in
// tx, when the Registry has a QuotaChecker.
func (r *Registry) checkQuota(ctx context.Context, tx *gorm.DB, res tenancy.Resource, delta int64) error {
	if r.quota == nil || delta <= 0 {
		return nil
	}
	t, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return tenancy.ErrNoTenant
	}
	return r.quota.CheckQuotaTx(ctx, tx, t, res, delta)
}

// contentAllowance returns how many bytes an upload replacing content of
// size current may store under the storage quota, or -1 when it is not
// limited.
func (r *Registry) contentAllowance(ctx context.Context, current int64) (allowed int64, qe *tenancy.QuotaError, err error) {
	if r.quota == nil {
		return -1, nil, nil
	}
	t, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return 0, nil, tenancy.ErrNoTenant
	}
	limit, used, err := r.quota.Allowance(ctx, t, tenancy.ResourceStorageBytes)
	if err != nil || limit == 0 {
		return -1, nil, err
	}
	qe = &tenancy.QuotaError{TenantID: t, Resource: tenancy.ResourceStorageBytes, Limit: limit, Used: used}
	return max(0, limit-used+current), qe, nil
}

// quotaReader fails with a *tenancy.QuotaError once more than n bytes are
// read: an upload that cannot fit the storage quota stops streaming there.
type quotaReader struct {
	r       io.Reader
	n       int64 // bytes still allowed
	read    int64
	current int64 // the size of the content the upload replaces
	err     *tenancy.QuotaError
}

func (q *quotaReader) Read(p []byte) (int, error) {
	if int64(len(p)) > q.n+1 {
		p = p[:q.n+1]
	}
	k, err := q.r.Read(p)
	q.read += int64(k)
	q.n -= int64(k)
	if q.n < 0 {
		e := *q.err
		e.Requested = q.read - q.current
		return 0, &e
	}
	return k, err
}

package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/maestro-ml/maestro/tenancy"
)

// Default limits of a new tenant (DefaultQuota). A host changes them with
// WithDefaultQuota, and a superadmin one tenant's with PUT
// /api/v1/tenants/{id}/quota.
const (
	DefaultQuotaUsers        = 1000
	DefaultQuotaProjects     = 10000
	DefaultQuotaArtifacts    = 10000
	DefaultQuotaStorageBytes = 50 << 30 // 50 GiB of artifact content
	DefaultQuotaMetricPoints = 50_000_000
)

// auditQuotaChanged is the audit event of a superadmin setting a tenant's
// limits.
const auditQuotaChanged = "tenant.quota_changed"

// DefaultQuota returns the limits a new tenant gets unless the host sets
// others with WithDefaultQuota: 1,000 users, 10,000 projects, 10,000
// artifacts, 50 GiB of artifact content and 50,000,000 metric points.
func DefaultQuota() tenancy.Quota {
	return tenancy.Quota{
		Users:        DefaultQuotaUsers,
		Projects:     DefaultQuotaProjects,
		Artifacts:    DefaultQuotaArtifacts,
		StorageBytes: DefaultQuotaStorageBytes,
		MetricPoints: DefaultQuotaMetricPoints,
	}
}

// WithDefaultQuota sets the limits of new tenants, and of tenants created
// before quotas existed (which have no stored quota), instead of
// DefaultQuota. A zero limit means unlimited; a negative one is invalid.
func WithDefaultQuota(q tenancy.Quota) Option {
	return func(s *settings) error {
		for _, r := range tenancy.Resources() {
			if v, _ := q.Limit(r); v < 0 {
				return invalidOption(fmt.Sprintf("WithDefaultQuota: negative %s limit", r))
			}
		}
		q.TenantID, q.Tenant = "", nil
		s.quota = &q
		return nil
	}
}

// quotaValues are a tenant's limits or usage as the API shows them.
type quotaValues struct {
	Users        int64 `json:"users"`
	Projects     int64 `json:"projects"`
	Artifacts    int64 `json:"artifacts"`
	StorageBytes int64 `json:"storage_bytes"`
	MetricPoints int64 `json:"metric_points"`
}

// quotaBody is the answer of GET and PUT /api/v1/tenants/{id}/quota.
type quotaBody struct {
	Limits quotaValues `json:"limits"`
	Usage  quotaValues `json:"usage"`
}

// quotaLimits is the limits object of PUT /api/v1/tenants/{id}/quota.
// Every limit is required, so that a forgotten one never reads as 0
// (unlimited).
type quotaLimits struct {
	Users        *int64 `json:"users"`
	Projects     *int64 `json:"projects"`
	Artifacts    *int64 `json:"artifacts"`
	StorageBytes *int64 `json:"storage_bytes"`
	MetricPoints *int64 `json:"metric_points"`
}

// quotaRequest is the body of PUT /api/v1/tenants/{id}/quota.
type quotaRequest struct {
	Limits *quotaLimits `json:"limits"`
}

// quota converts the request to a Quota, reporting missing and negative
// limits.
func (in quotaRequest) quota() (tenancy.Quota, error) {
	if in.Limits == nil {
		return tenancy.Quota{}, invalid(fieldError{Field: "limits", Message: "required"})
	}
	l := in.Limits
	var v validator
	fields := []struct {
		name string
		val  *int64
	}{
		{"users", l.Users}, {"projects", l.Projects}, {"artifacts", l.Artifacts},
		{"storage_bytes", l.StorageBytes}, {"metric_points", l.MetricPoints},
	}
	for _, f := range fields {
		v.check(f.val != nil, "limits."+f.name, "required (0 means unlimited)")
		v.check(f.val == nil || *f.val >= 0, "limits."+f.name, "must not be negative")
	}
	if err := v.err(); err != nil {
		return tenancy.Quota{}, err
	}
	return tenancy.Quota{Users: *l.Users, Projects: *l.Projects, Artifacts: *l.Artifacts,
		StorageBytes: *l.StorageBytes, MetricPoints: *l.MetricPoints}, nil
}

// getQuota handles GET /api/v1/tenants/{id}/quota: the tenant's limits
// and its current use of each.
func (s *Server) getQuota(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	body, err := s.quotaOf(r.Context(), t.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// putQuota handles PUT /api/v1/tenants/{id}/quota {"limits":{...}}
// (superadmin): the tenant's new limits, 0 meaning unlimited. A limit
// below the current use refuses further writes of that resource; nothing
// is removed.
func (s *Server) putQuota(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	var in quotaRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	q, err := in.quota()
	if err != nil {
		return err
	}
	if err := s.tenants.SetQuota(r.Context(), t.ID, q); err != nil {
		return err
	}
	s.audit(r.Context(), auditQuotaChanged, slog.String("tenant_id", t.ID),
		slog.Int64("users", q.Users), slog.Int64("projects", q.Projects), slog.Int64("artifacts", q.Artifacts),
		slog.Int64("storage_bytes", q.StorageBytes), slog.Int64("metric_points", q.MetricPoints))
	body, err := s.quotaOf(r.Context(), t.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// quotaOf reads a tenant's limits and counts its use of every resource.
func (s *Server) quotaOf(ctx context.Context, tenantID string) (quotaBody, error) {
	q, err := s.tenants.Quota(ctx, tenantID)
	if err != nil {
		return quotaBody{}, err
	}
	use := map[tenancy.Resource]int64{}
	for _, res := range tenancy.Resources() {
		if use[res], err = s.tenants.Usage(ctx, tenantID, res); err != nil {
			return quotaBody{}, err
		}
	}
	return quotaBody{
		Limits: quotaValues{Users: q.Users, Projects: q.Projects, Artifacts: q.Artifacts,
			StorageBytes: q.StorageBytes, MetricPoints: q.MetricPoints},
		Usage: quotaValues{Users: use[tenancy.ResourceUsers], Projects: use[tenancy.ResourceProjects],
			Artifacts: use[tenancy.ResourceArtifacts], StorageBytes: use[tenancy.ResourceStorageBytes],
			MetricPoints: use[tenancy.ResourceMetricPoints]},
	}, nil
}

// quotaProblem is the 409 of a write over a limit (a *tenancy.QuotaError),
// naming the limit.
func quotaProblem(err error) *apiError {
	var qe *tenancy.QuotaError
	errors.As(err, &qe)
	return newAPIError(http.StatusConflict, "quota_exceeded",
		fmt.Sprintf("the tenant's %s quota is %d: %d used, %d more requested", qe.Resource, qe.Limit, qe.Used, qe.Requested))
}

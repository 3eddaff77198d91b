package tenancy

// Resource names a quantity a tenant's quota limits.
type Resource string

// The resources a Quota limits.
const (
	ResourceUsers        Resource = "users"         // members of the tenant
	ResourceProjects     Resource = "projects"      // registry projects
	ResourceArtifacts    Resource = "artifacts"     // registry artifacts
	ResourceStorageBytes Resource = "storage_bytes" // bytes of stored content
	ResourceMetricPoints Resource = "metric_points" // logged metric points
)

// Resources returns every resource a Quota limits, in a fixed order.
func Resources() []Resource {
	return []Resource{ResourceUsers, ResourceProjects, ResourceArtifacts, ResourceStorageBytes, ResourceMetricPoints}
}

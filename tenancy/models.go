package tenancy

import (
	"time"

	"github.com/maestro-ml/maestro/auth"
)

// Tenant is an organisation whose data is isolated from every other's.
// Tenants are platform-level rows, not tenant-owned.
type Tenant struct {
	ID        string    `gorm:"primaryKey;type:varchar(36)" json:"id"`
	Name      string    `gorm:"size:200;not null" json:"name"`
	Slug      string    `gorm:"size:63;not null;uniqueIndex" json:"slug"`
	Disabled  bool      `gorm:"not null;default:false" json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TableName fixes the table name: migration helpers and foreign keys
// refer to it.
func (Tenant) TableName() string { return "tenants" }

// User is a person or service that signs in. A user belongs to tenants
// through Memberships. PasswordHash is computed by the caller (for example
// with auth.PasswordHasher) and is never serialised to JSON.
type User struct {
	ID           string    `gorm:"primaryKey;type:varchar(36)" json:"id"`
	Username     string    `gorm:"size:64;not null;uniqueIndex" json:"username"`
	Email        string    `gorm:"size:254;not null;default:''" json:"email"`
	PasswordHash string    `gorm:"size:512;not null" json:"-"`
	IsSuperadmin bool      `gorm:"not null;default:false" json:"is_superadmin"`
	Disabled     bool      `gorm:"not null;default:false" json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// TableName fixes the table name.
func (User) TableName() string { return "users" }

// Membership gives a user a role in a tenant. It is a platform-level row:
// it does not embed Model, so the plugin does not scope it.
type Membership struct {
	UserID    string    `gorm:"primaryKey;type:varchar(36)" json:"user_id"`
	TenantID  string    `gorm:"primaryKey;type:varchar(36);index" json:"tenant_id"`
	Role      auth.Role `gorm:"not null" json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	User   *User   `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE" json:"-"`
	Tenant *Tenant `gorm:"foreignKey:TenantID;constraint:OnDelete:CASCADE" json:"-"`
}

// TableName fixes the table name.
func (Membership) TableName() string { return "memberships" }

// Quota holds a tenant's limits. A zero limit means unlimited.
type Quota struct {
	TenantID     string    `gorm:"primaryKey;type:varchar(36)" json:"-"`
	Users        int64     `gorm:"not null;default:0" json:"users"`
	Projects     int64     `gorm:"not null;default:0" json:"projects"`
	Artifacts    int64     `gorm:"not null;default:0" json:"artifacts"`
	StorageBytes int64     `gorm:"not null;default:0" json:"storage_bytes"`
	MetricPoints int64     `gorm:"not null;default:0" json:"metric_points"`
	UpdatedAt    time.Time `json:"-"`

	Tenant *Tenant `gorm:"foreignKey:TenantID;constraint:OnDelete:CASCADE" json:"-"`
}

// TableName fixes the table name.
func (Quota) TableName() string { return "tenant_quotas" }

// Limit returns the quota's limit for r (0 when unlimited) and whether r
// is a known resource.
func (q Quota) Limit(r Resource) (int64, bool) {
	switch r {
	case ResourceUsers:
		return q.Users, true
	case ResourceProjects:
		return q.Projects, true
	case ResourceArtifacts:
		return q.Artifacts, true
	case ResourceStorageBytes:
		return q.StorageBytes, true
	case ResourceMetricPoints:
		return q.MetricPoints, true
	}
	return 0, false
}

// Member is a user as seen from one tenant: a Membership with the user's
// name and email.
type Member struct {
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Email     string    `json:"email"`
	Role      auth.Role `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// TenantRole is a tenant a user belongs to, with the user's role in it.
type TenantRole struct {
	Tenant Tenant    `json:"tenant"`
	Role   auth.Role `json:"role"`
}

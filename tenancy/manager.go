package tenancy

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"unicode"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/auth"
)

// DeleteHook is called by Manager.DeleteTenant after the tenant's rows are
// gone, for storage outside the database (blob files, caches). It must be
// idempotent: a failed hook is reported and may be called again when the
// host retries the clean-up.
type DeleteHook func(ctx context.Context, tenantID string) error

// Counter counts a tenant's current use of a resource for quota checks.
// db is bound to a context carrying the tenant (and to the caller's
// transaction, for CheckQuotaTx).
type Counter func(ctx context.Context, db *gorm.DB, tenantID string) (int64, error)

// ManagerOption configures a Manager. An option given an invalid value
// makes NewManager fail with an error wrapping ErrInvalid.
type ManagerOption func(*Manager) error

// WithTenantModels registers tenant-owned models whose rows DeleteTenant
// removes. Register parents before children: rows are deleted in reverse
// order, so foreign keys between them hold. A nil model or one that does
// not embed Model is invalid (see RegisterModels).
func WithTenantModels(models ...any) ManagerOption {
	return func(m *Manager) error {
		if err := m.checkModels(models); err != nil {
			return err
		}
		m.models = append(m.models, models...)
		return nil
	}
}

// WithDeleteHook adds a hook DeleteTenant calls after the rows are gone. A
// nil hook is invalid.
func WithDeleteHook(h DeleteHook) ManagerOption {
	return func(m *Manager) error {
		if h == nil {
			return &ValidationError{Field: "delete hook", Message: "must not be nil"}
		}
		m.hooks = append(m.hooks, h)
		return nil
	}
}

// WithCounter sets how the use of resource r is counted. The Manager
// counts ResourceUsers (memberships) itself; the registry or the host
// registers the others, for example
//
//	tenancy.WithCounter(tenancy.ResourceProjects, tenancy.CountRows(&registry.Project{}))
//
// An unknown resource or a nil counter is invalid.
func WithCounter(r Resource, c Counter) ManagerOption {
	return func(m *Manager) error {
		if _, ok := (Quota{}).Limit(r); !ok {
			return &ValidationError{Field: "counter", Message: fmt.Sprintf("unknown resource %q", r)}
		}
		if c == nil {
			return &ValidationError{Field: "counter", Message: fmt.Sprintf("nil counter for %s", r)}
		}
		m.counters[r] = c
		return nil
	}
}

// Manager keeps tenants, users, memberships and quotas. Its tables are
// platform-level (not tenant-owned), so its methods need no tenant in the
// context; the work it does on tenant-owned tables (counting usage,
// deleting a tenant) runs with that tenant set. A Manager is safe for
// concurrent use.
type Manager struct {
	db *gorm.DB

	mu       sync.RWMutex
	models   []any
	hooks    []DeleteHook
	counters map[Resource]Counter
	defaults *Quota // WithDefaultQuota; nil: unlimited
}

// NewManager returns a Manager over db. Create its tables with Migrate
// first. A nil db or an option given an invalid value is an error wrapping
// ErrInvalid.
func NewManager(db *gorm.DB, opts ...ManagerOption) (*Manager, error) {
	if db == nil {
		return nil, &ValidationError{Field: "db", Message: "must not be nil"}
	}
	m := &Manager{db: db, counters: map[Resource]Counter{}}
	m.counters[ResourceUsers] = countMembers
	for _, o := range opts {
		if o == nil {
			return nil, &ValidationError{Field: "option", Message: "must not be nil"}
		}
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Migrate creates or updates the Manager's tables (tenants, users,
// memberships and tenant_quotas) through the package's versioned
// migrations: it is Migrate(ctx, db) on the Manager's database.
func (m *Manager) Migrate(ctx context.Context) error { return Migrate(ctx, m.db) }

// checkModels reports a model that is nil, cannot be parsed or does not
// embed Model, wrapping ErrInvalid.
func (m *Manager) checkModels(models []any) error {
	for _, model := range models {
		if model == nil {
			return &ValidationError{Field: "model", Message: "must not be nil"}
		}
		stmt := &gorm.Statement{DB: m.db}
		if err := stmt.Parse(model); err != nil {
			return fmt.Errorf("%w: parse model %T: %w", ErrInvalid, model, err)
		}
		if embeddedTenantField(stmt.Schema) == nil {
			return &ValidationError{Field: "model", Message: fmt.Sprintf("%T does not embed tenancy.Model", model)}
		}
	}
	return nil
}

// RegisterModels registers further tenant-owned models for DeleteTenant
// (see WithTenantModels). Models that are nil or do not embed Model are
// refused with an error wrapping ErrInvalid.
func (m *Manager) RegisterModels(models ...any) error {
	if err := m.checkModels(models); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.models = append(m.models, models...)
	return nil
}

// OnTenantDelete adds a hook DeleteTenant calls after the rows are gone.
func (m *Manager) OnTenantDelete(h DeleteHook) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks = append(m.hooks, h)
}

// RegisterCounter sets how the use of r is counted (see WithCounter).
func (m *Manager) RegisterCounter(r Resource, c Counter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counters[r] = c
}

var (
	slugRe     = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	usernameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
)

// ValidateSlug reports whether s is a valid tenant slug: 1 to 63
// lower-case letters, digits and inner hyphens.
func ValidateSlug(s string) error {
	if !slugRe.MatchString(s) {
		return &ValidationError{Field: "slug", Message: "must be 1-63 lower-case letters, digits or inner hyphens"}
	}
	return nil
}

func validateName(s string) error {
	if t := strings.TrimSpace(s); t == "" || len(s) > 200 || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return &ValidationError{Field: "name", Message: "must be 1-200 printable characters"}
	}
	return nil
}

// ValidateUsername reports whether s is a valid username: 1 to 64
// letters, digits, '.', '_', '@' or '-', starting with a letter or digit.
// Usernames are case-insensitive: the Manager stores and looks them up in
// lower case (NormalizeUsername), so "Ada" and "ada" name one user, as
// they name one account to the login throttle.
func ValidateUsername(s string) error {
	if !usernameRe.MatchString(s) {
		return &ValidationError{Field: "username", Message: "must be 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"}
	}
	return nil
}

func validateEmail(s string) error {
	if s == "" {
		return nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return &ValidationError{Field: "email", Message: "must be a plain address such as ada@example.com"}
	}
	return nil
}

func validateRole(r auth.Role) error {
	if !r.Valid() {
		return &ValidationError{Field: "role", Message: "must be viewer, member or admin"}
	}
	return nil
}

// dbError turns unique violations into ErrConflict and missing rows into
// ErrNotFound, naming what.
func (m *Manager) dbError(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	if t, ok := m.db.Dialector.(gorm.ErrorTranslator); ok {
		if errors.Is(t.Translate(err), gorm.ErrDuplicatedKey) {
			return fmt.Errorf("%w: %s", ErrConflict, what)
		}
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("%w: %s", ErrConflict, what)
	}
	return fmt.Errorf("tenancy: %s: %w", what, err)
}

// CreateTenant creates a tenant with a new id, and stores the default
// quota (WithDefaultQuota) for it in the same transaction. A taken slug is
// ErrConflict; a malformed name or slug is ErrInvalid.
func (m *Manager) CreateTenant(ctx context.Context, name, slug string) (Tenant, error) {
	if err := validateName(name); err != nil {
		return Tenant{}, err
	}
	if err := ValidateSlug(slug); err != nil {
		return Tenant{}, err
	}
	t := Tenant{ID: uuid.NewString(), Name: strings.TrimSpace(name), Slug: slug}
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Tenant{}).Where("slug = ?", slug).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return gorm.ErrDuplicatedKey
		}
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		if m.defaults == nil {
			return nil
		}
		q := *m.defaults
		q.TenantID = t.ID
		return tx.Create(&q).Error
	})
	if err != nil {
		return Tenant{}, m.dbError("tenant slug "+slug, err)
	}
	return t, nil
}

// Tenant returns the tenant with id, or ErrNotFound.
func (m *Manager) Tenant(ctx context.Context, id string) (Tenant, error) {
	var t Tenant
	err := m.db.WithContext(ctx).Where("id = ?", id).Take(&t).Error
	return t, m.dbError("tenant", err)
}

// TenantBySlug returns the tenant with slug, or ErrNotFound.
func (m *Manager) TenantBySlug(ctx context.Context, slug string) (Tenant, error) {
	var t Tenant
	err := m.db.WithContext(ctx).Where("slug = ?", slug).Take(&t).Error
	return t, m.dbError("tenant", err)
}

// ListOptions pages through a list ordered by id: at most Limit items
// (default 50, at most 1000) with an id greater than After.
type ListOptions struct {
	Limit int
	After string
}

func (o ListOptions) limit() int {
	switch {
	case o.Limit <= 0:
		return 50
	case o.Limit > 1000:
		return 1000
	}
	return o.Limit
}

// ListTenants returns tenants ordered by id. This is platform-wide: the
// host must restrict it to superadmins (and use UserTenants for others).
func (m *Manager) ListTenants(ctx context.Context, opts ListOptions) ([]Tenant, error) {
	var ts []Tenant
	q := m.db.WithContext(ctx).Order("id").Limit(opts.limit())
	if opts.After != "" {
		q = q.Where("id > ?", opts.After)
	}
	if err := q.Find(&ts).Error; err != nil {
		return nil, m.dbError("list tenants", err)
	}
	return ts, nil
}

// TenantUpdate names the fields UpdateTenant changes; nil fields stay.
type TenantUpdate struct {
	Name     *string
	Slug     *string
	Disabled *bool
}

// UpdateTenant changes a tenant and returns it.
func (m *Manager) UpdateTenant(ctx context.Context, id string, u TenantUpdate) (Tenant, error) {
	changes := map[string]interface{}{}
	if u.Name != nil {
		if err := validateName(*u.Name); err != nil {
			return Tenant{}, err
		}
		changes["name"] = strings.TrimSpace(*u.Name)
	}
	if u.Slug != nil {
		if err := ValidateSlug(*u.Slug); err != nil {
			return Tenant{}, err
		}
		changes["slug"] = *u.Slug
	}
	if u.Disabled != nil {
		changes["disabled"] = *u.Disabled
	}
	var t Tenant
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&t).Error; err != nil {
			return err
		}
		if u.Slug != nil && *u.Slug != t.Slug {
			var n int64
			if err := tx.Model(&Tenant{}).Where("slug = ? AND id <> ?", *u.Slug, id).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return gorm.ErrDuplicatedKey
			}
		}
		if len(changes) == 0 {
			return nil
		}
		if err := tx.Model(&t).Updates(changes).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&t).Error
	})
	if err != nil {
		return Tenant{}, m.dbError("tenant", err)
	}
	return t, nil
}

// DeleteTenant removes the tenant: in one transaction, every row of it in
// every registered tenant-owned model (children first: the reverse of
// registration order), its memberships, its quota and the tenant row.
// Then it calls the delete hooks in order; their errors are joined and
// returned after the database work, which stays committed. An unknown id
// is ErrNotFound. The host must restrict this to platform operators.
func (m *Manager) DeleteTenant(ctx context.Context, id string) error {
	m.mu.RLock()
	models := append([]any(nil), m.models...)
	hooks := append([]DeleteHook(nil), m.hooks...)
	m.mu.RUnlock()

	tctx := WithTenant(ctx, id)
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var t Tenant
		if err := tx.Where("id = ?", id).Take(&t).Error; err != nil {
			return err
		}
		// Rows of many-to-many join tables (not tenant-owned themselves)
		// that reference the tenant's rows go first.
		for _, model := range models {
			if err := deleteJoinRows(tx.WithContext(tctx), model, id); err != nil {
				return fmt.Errorf("delete %T join rows: %w", model, err)
			}
		}
		for i := len(models) - 1; i >= 0; i-- {
			fresh := reflect.New(indirectType(reflect.TypeOf(models[i]))).Interface()
			if err := tx.WithContext(tctx).Unscoped().Where(TenantColumn+" = ?", id).Delete(fresh).Error; err != nil {
				return fmt.Errorf("delete %T rows: %w", models[i], err)
			}
		}
		if err := tx.Where("tenant_id = ?", id).Delete(&Membership{}).Error; err != nil {
			return err
		}
		if err := tx.Where("tenant_id = ?", id).Delete(&Quota{}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&Tenant{}).Error
	})
	if err != nil {
		return m.dbError("delete tenant", err)
	}
	var errs []error
	for _, h := range hooks {
		if err := h(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("tenancy: tenant %s deleted, but a delete hook failed: %w", id, errors.Join(errs...))
	}
	return nil
}

// deleteJoinRows deletes the rows of model's many-to-many join tables
// that reference the tenant's rows on either side: the tenant's rows of
// model, and the tenant's rows of the associated model. The latter matter
// when another tenant's row was linked to one of this tenant's (a join
// table has no tenant column to stop that): its join row would otherwise
// hold a foreign key to a row being deleted and make the deletion fail.
func deleteJoinRows(tx *gorm.DB, model any, tenantID string) error {
	stmt := &gorm.Statement{DB: tx}
	if err := stmt.Parse(model); err != nil {
		return err
	}
	for _, rel := range stmt.Schema.Relationships.Relations {
		if rel.JoinTable == nil {
			continue
		}
		for _, ref := range rel.References {
			if ref.PrimaryKey == nil || ref.ForeignKey == nil {
				continue
			}
			side := model
			if !ref.OwnPrimaryKey {
				if rel.FieldSchema == nil || embeddedTenantField(rel.FieldSchema) == nil {
					continue
				}
				side = reflect.New(rel.FieldSchema.ModelType).Interface()
			}
			owned := tx.Model(side).Select(ref.PrimaryKey.DBName).Where(TenantColumn+" = ?", tenantID)
			err := tx.Table(rel.JoinTable.Table).
				Where("? IN (?)", clause.Column{Name: ref.ForeignKey.DBName}, owned).
				Delete(map[string]interface{}{}).Error
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func indirectType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t
}

// NewUser holds what CreateUser needs. PasswordHash is the encoded hash
// (for example from auth.PasswordHasher), never a password.
type NewUser struct {
	Username     string
	Email        string
	PasswordHash string
	IsSuperadmin bool
}

// NormalizeUsername returns the form in which a username is stored and
// compared: lower case.
func NormalizeUsername(s string) string { return strings.ToLower(s) }

// CreateUser creates a user with a new id. The username is stored in lower
// case; a taken username, in any case, is ErrConflict.
func (m *Manager) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	nu.Username = NormalizeUsername(nu.Username)
	if err := ValidateUsername(nu.Username); err != nil {
		return User{}, err
	}
	if err := validateEmail(nu.Email); err != nil {
		return User{}, err
	}
	if nu.PasswordHash == "" {
		return User{}, &ValidationError{Field: "password_hash", Message: "is required"}
	}
	u := User{ID: uuid.NewString(), Username: nu.Username, Email: nu.Email, PasswordHash: nu.PasswordHash, IsSuperadmin: nu.IsSuperadmin}
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&User{}).Where("username = ?", nu.Username).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return gorm.ErrDuplicatedKey
		}
		return tx.Create(&u).Error
	})
	if err != nil {
		return User{}, m.dbError("username "+nu.Username, err)
	}
	return u, nil
}

// User returns the user with id, or ErrNotFound.
func (m *Manager) User(ctx context.Context, id string) (User, error) {
	var u User
	err := m.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error
	return u, m.dbError("user", err)
}

// UserByUsername returns the user with username, in any case, or
// ErrNotFound. Login uses it before any tenant is known; it needs no
// cross-tenant context because users are platform-level rows.
func (m *Manager) UserByUsername(ctx context.Context, username string) (User, error) {
	var u User
	err := m.db.WithContext(ctx).Where("username = ?", NormalizeUsername(username)).Take(&u).Error
	return u, m.dbError("user", err)
}

// UserUpdate names the fields UpdateUser changes; nil fields stay.
type UserUpdate struct {
	Email        *string
	PasswordHash *string
	IsSuperadmin *bool
	Disabled     *bool
}

// UpdateUser changes a user and returns it.
func (m *Manager) UpdateUser(ctx context.Context, id string, uu UserUpdate) (User, error) {
	changes := map[string]interface{}{}
	if uu.Email != nil {
		if err := validateEmail(*uu.Email); err != nil {
			return User{}, err
		}
		changes["email"] = *uu.Email
	}
	if uu.PasswordHash != nil {
		if *uu.PasswordHash == "" {
			return User{}, &ValidationError{Field: "password_hash", Message: "is required"}
		}
		changes["password_hash"] = *uu.PasswordHash
	}
	if uu.IsSuperadmin != nil {
		changes["is_superadmin"] = *uu.IsSuperadmin
	}
	if uu.Disabled != nil {
		changes["disabled"] = *uu.Disabled
	}
	var u User
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&u).Error; err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		if err := tx.Model(&u).Updates(changes).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&u).Error
	})
	if err != nil {
		return User{}, m.dbError("user", err)
	}
	return u, nil
}

// DeleteUser removes a user and their memberships.
func (m *Manager) DeleteUser(ctx context.Context, id string) error {
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", id).Delete(&Membership{}).Error; err != nil {
			return err
		}
		res := tx.Where("id = ?", id).Delete(&User{})
		if res.Error == nil && res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return res.Error
	})
	return m.dbError("user", err)
}

// AddMember gives a user a role in a tenant, after checking the tenant's
// users quota in the same transaction. An existing membership is
// ErrConflict; an unknown tenant or user is ErrNotFound.
func (m *Manager) AddMember(ctx context.Context, tenantID, userID string, role auth.Role) (Membership, error) {
	if err := validateRole(role); err != nil {
		return Membership{}, err
	}
	ms := Membership{UserID: userID, TenantID: tenantID, Role: role}
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Tenant{}).Where("id = ?", tenantID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: tenant", ErrNotFound)
		}
		if err := tx.Model(&User{}).Where("id = ?", userID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: user", ErrNotFound)
		}
		if err := tx.Model(&Membership{}).Where("tenant_id = ? AND user_id = ?", tenantID, userID).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return gorm.ErrDuplicatedKey
		}
		if err := m.CheckQuotaTx(ctx, tx, tenantID, ResourceUsers, 1); err != nil {
			return err
		}
		return tx.Create(&ms).Error
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrQuotaExceeded) {
			return Membership{}, err
		}
		return Membership{}, m.dbError("membership", err)
	}
	return ms, nil
}

// Membership returns a user's membership in a tenant, or ErrNotFound.
func (m *Manager) Membership(ctx context.Context, tenantID, userID string) (Membership, error) {
	var ms Membership
	err := m.db.WithContext(ctx).Where("tenant_id = ? AND user_id = ?", tenantID, userID).Take(&ms).Error
	return ms, m.dbError("membership", err)
}

// SetMemberRole changes a member's role and returns the membership.
func (m *Manager) SetMemberRole(ctx context.Context, tenantID, userID string, role auth.Role) (Membership, error) {
	if err := validateRole(role); err != nil {
		return Membership{}, err
	}
	res := m.db.WithContext(ctx).Model(&Membership{}).Where("tenant_id = ? AND user_id = ?", tenantID, userID).Update("role", role)
	if res.Error != nil {
		return Membership{}, m.dbError("membership", res.Error)
	}
	if res.RowsAffected == 0 {
		return Membership{}, fmt.Errorf("%w: membership", ErrNotFound)
	}
	return m.Membership(ctx, tenantID, userID)
}

// RemoveMember removes a user from a tenant (the user remains).
func (m *Manager) RemoveMember(ctx context.Context, tenantID, userID string) error {
	res := m.db.WithContext(ctx).Where("tenant_id = ? AND user_id = ?", tenantID, userID).Delete(&Membership{})
	if res.Error != nil {
		return m.dbError("membership", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: membership", ErrNotFound)
	}
	return nil
}

// Members lists a tenant's members ordered by user id, paged by opts.
func (m *Manager) Members(ctx context.Context, tenantID string, opts ListOptions) ([]Member, error) {
	out := []Member{}
	q := m.db.WithContext(ctx).Joins("User").Where("memberships.tenant_id = ?", tenantID).
		Order("memberships.user_id").Limit(opts.limit())
	if opts.After != "" {
		q = q.Where("memberships.user_id > ?", opts.After)
	}
	var rows []Membership
	if err := q.Find(&rows).Error; err != nil {
		return nil, m.dbError("list members", err)
	}
	for _, r := range rows {
		mb := Member{UserID: r.UserID, Role: r.Role, CreatedAt: r.CreatedAt}
		if r.User != nil {
			mb.Username, mb.Email = r.User.Username, r.User.Email
		}
		out = append(out, mb)
	}
	return out, nil
}

// UserTenants lists the tenants a user belongs to, with the user's role in
// each, ordered by slug. Login uses it to pick the tenant.
func (m *Manager) UserTenants(ctx context.Context, userID string) ([]TenantRole, error) {
	var rows []Membership
	err := m.db.WithContext(ctx).Joins("Tenant").Where("memberships.user_id = ?", userID).
		Order("\"Tenant\".slug").Find(&rows).Error
	if err != nil {
		return nil, m.dbError("list user tenants", err)
	}
	out := make([]TenantRole, 0, len(rows))
	for _, r := range rows {
		if r.Tenant == nil {
			continue
		}
		out = append(out, TenantRole{Tenant: *r.Tenant, Role: r.Role})
	}
	return out, nil
}

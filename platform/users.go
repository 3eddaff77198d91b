package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/secrets"
	"github.com/maestro-ml/maestro/tenancy"
)

// Users, tenants and memberships live in tenancy.Manager; passwords are
// hashed with auth.PasswordHasher. This file is the glue between the two.

// Bootstrap names.
const (
	bootstrapTenantSlug = "default"
	bootstrapTenantName = "Default"
	bootstrapAdmin      = "admin"
	// bootstrapPasswordBytes of randomness make the generated password
	// (32 URL-safe characters).
	bootstrapPasswordBytes = 24
)

// verifyLogin checks a login's password and picks the tenant. Every
// failure a client could use to learn something — unknown user, wrong
// password, disabled user, unknown tenant, no membership — is
// errBadCredentials, and an unknown user costs a full password
// verification (VerifyDummy), so neither the answer nor its timing tells
// whether the user exists.
func (s *Server) verifyLogin(ctx context.Context, in loginRequest) (auth.Subject, error) {
	u, err := s.tenants.UserByUsername(ctx, in.Username)
	if errors.Is(err, tenancy.ErrNotFound) {
		if err := s.identity.hasher.VerifyDummy(ctx, in.Password); err != nil {
			return auth.Subject{}, err
		}
		return auth.Subject{}, errBadCredentials
	}
	if err != nil {
		return auth.Subject{}, err
	}
	if err := s.verifyPassword(ctx, u, in.Password); err != nil {
		return auth.Subject{}, err
	}
	if u.Disabled {
		return auth.Subject{}, errBadCredentials
	}
	roles, err := s.tenants.UserTenants(ctx, u.ID)
	if err != nil {
		return auth.Subject{}, err
	}
	var active []tenancy.TenantRole
	for _, tr := range roles {
		if !tr.Tenant.Disabled && (in.Tenant == "" || tr.Tenant.Slug == in.Tenant) {
			active = append(active, tr)
		}
	}
	sub := auth.Subject{UserID: u.ID, Superadmin: u.IsSuperadmin}
	switch {
	case len(active) == 1:
		sub.TenantID, sub.Role = active[0].Tenant.ID, active[0].Role
	case len(active) > 1:
		return auth.Subject{}, badRequest("tenant_required", `you belong to several tenants: name one with "tenant"`)
	case !u.IsSuperadmin || in.Tenant != "":
		return auth.Subject{}, errBadCredentials
	}
	return sub, nil // a superadmin without tenants works on tenants only
}

// verifyPassword checks password against u's stored hash, and replaces a
// hash made with outdated parameters (or bcrypt) after a success.
func (s *Server) verifyPassword(ctx context.Context, u tenancy.User, password string) error {
	ok, err := s.identity.hasher.Verify(ctx, password, u.PasswordHash)
	if errors.Is(err, auth.ErrUnsupportedHash) {
		s.logger(ctx).Error("stored password hash not recognised", slog.String("user_id", u.ID))
		return errBadCredentials
	}
	if err != nil {
		return err
	}
	if !ok {
		return errBadCredentials
	}
	if s.identity.hasher.NeedsRehash(u.PasswordHash) {
		if err := s.setPassword(ctx, u.ID, password); err != nil {
			s.logger(ctx).Warn("rehashing a password failed", slog.String("user_id", u.ID), slog.String("error", err.Error()))
		}
	}
	return nil
}

// checkPassword verifies the password of user id (errBadCredentials when
// wrong).
func (s *Server) checkPassword(ctx context.Context, id, password string) error {
	u, err := s.tenants.User(ctx, id)
	if err != nil {
		return err
	}
	return s.verifyPassword(ctx, u, password)
}

// setPassword stores a fresh hash of password for user id.
func (s *Server) setPassword(ctx context.Context, id, password string) error {
	hash, err := s.identity.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	_, err = s.tenants.UpdateUser(ctx, id, tenancy.UserUpdate{PasswordHash: &hash})
	return err
}

// refreshSubject re-reads, at each refresh, what a token pair asserts: the
// user still exists and is enabled, is still (or no longer) a superadmin,
// and still belongs to the tenant — with the role it has now.
func (s *Server) refreshSubject(ctx context.Context, sub auth.Subject) (auth.Subject, error) {
	u, err := s.tenants.User(ctx, sub.UserID)
	if errors.Is(err, tenancy.ErrNotFound) {
		return auth.Subject{}, errBadCredentials
	}
	if err != nil {
		return auth.Subject{}, err
	}
	if u.Disabled {
		return auth.Subject{}, errBadCredentials
	}
	sub.Superadmin = u.IsSuperadmin
	if sub.TenantID == "" {
		if !u.IsSuperadmin {
			return auth.Subject{}, errBadCredentials
		}
		return sub, nil
	}
	m, err := s.tenants.Membership(ctx, sub.TenantID, sub.UserID)
	if errors.Is(err, tenancy.ErrNotFound) {
		return auth.Subject{}, errBadCredentials
	}
	if err != nil {
		return auth.Subject{}, err
	}
	sub.Role = m.Role
	return sub, nil
}

// checkPrincipal runs on every authenticated request (auth's
// WithPrincipalCheck): the credential's user must still exist and be
// enabled, a superadmin flag must still hold, and the user must still be a
// member of the credential's tenant with at least the credential's role.
// Removing a member, demoting one or deleting a tenant thus takes effect
// at once for access tokens and API keys alike; a demoted user's next
// refresh yields tokens with the new role. Database failures answer 503.
//
// In steady state both rows come from the principal cache
// (principals.go), which every write that can take access away empties
// on every replica.
func (s *Server) checkPrincipal(ctx context.Context, p auth.Principal) error {
	u, err := s.principalUser(ctx, p.UserID)
	switch {
	case errors.Is(err, tenancy.ErrNotFound):
		return errBadCredentials
	case err != nil:
		return &auth.StoreError{Err: err}
	case u.disabled, p.Superadmin && !u.superadmin:
		return errBadCredentials
	case p.TenantID == "":
		return nil
	}
	m, err := s.principalMembership(ctx, p.TenantID, p.UserID)
	switch {
	case errors.Is(err, tenancy.ErrNotFound):
		return errBadCredentials
	case err != nil:
		return &auth.StoreError{Err: err}
	case m.role < p.Role:
		return errBadCredentials
	}
	return nil
}

// tenantScope moves the principal's tenant into the request context with
// tenancy.Middleware, so every query of the handler is scoped to it. A
// superadmin whose credential is bound to no tenant passes without one:
// platform routes (tenants) need none, and a tenant-owned query on such a
// context fails closed with tenancy.ErrNoTenant.
func (s *Server) tenantScope(next http.Handler) http.Handler {
	scoped := tenancy.Middleware(next, tenancy.WithErrorResponder(func(w http.ResponseWriter, _ *http.Request, status int) {
		if status == http.StatusUnauthorized {
			writeProblem(w, unauthorized())
			return
		}
		problem(w, status, "tenant_required", "this needs a credential bound to a tenant")
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := principal(r); p.TenantID == "" && p.Superadmin {
			next.ServeHTTP(w, r)
			return
		}
		scoped.ServeHTTP(w, r)
	})
}

// user returns the API view of user id.
func (s *Server) user(ctx context.Context, id string) (userBody, error) {
	u, err := s.tenants.User(ctx, id)
	if err != nil {
		return userBody{}, err
	}
	return userBody{ID: u.ID, Username: u.Username, Email: u.Email, IsSuperadmin: u.IsSuperadmin}, nil
}

// tenant returns tenant id.
func (s *Server) tenant(ctx context.Context, id string) (tenancy.Tenant, error) {
	return s.tenants.Tenant(ctx, id)
}

// usernameTaken is the 409 for a request that would create a user whose
// name exists but that the caller may not attach (see findOrCreateUser). It
// says only that the name is not available: the same for another tenant's
// user and for a user without a tenant.
func usernameTaken() error {
	return newAPIError(http.StatusConflict, "username_taken", "the username is not available")
}

// findOrCreateUser returns the user named in a request to add a member to
// tenant tenantID, creating it when the name is new: a password is then
// required and must pass the policy, and created is true.
//
// Only a superadmin (mayAttach) attaches an existing user who is not yet a
// member of the tenant; password and email must then be omitted, since
// nobody changes an existing user this way. For a tenant admin the request
// is a creation, validated as one first, and an existing name that is not
// already a member of its tenant answers usernameTaken — whether the
// user belongs to another tenant or to none. So a tenant admin neither
// attaches other tenants' users nor learns more about a name than that it
// cannot be created, which no creation can hide (SECURITY.md, F-7). An
// existing member of the tenant is returned as is (adding it again is a
// conflict); its admin knows its members anyway.
func (s *Server) findOrCreateUser(ctx context.Context, tenantID string, mayAttach bool, in memberRequest) (_ tenancy.User, created bool, _ error) {
	u, err := s.tenants.UserByUsername(ctx, in.Username)
	switch {
	case err == nil:
		member := mayAttach
		if !member {
			_, err := s.tenants.Membership(ctx, tenantID, u.ID)
			switch {
			case errors.Is(err, tenancy.ErrNotFound):
			case err != nil:
				return tenancy.User{}, false, err
			default:
				member = true
			}
		}
		if !member {
			if err := checkNewUser(in); err != nil {
				return tenancy.User{}, false, err
			}
			return tenancy.User{}, false, usernameTaken()
		}
		v := &validator{}
		v.check(in.Password == "", "password", "must be omitted: the user exists")
		v.check(in.Email == "", "email", "must be omitted: the user exists")
		return u, false, v.err()
	case !errors.Is(err, tenancy.ErrNotFound):
		return tenancy.User{}, false, err
	}
	if err := checkNewUser(in); err != nil {
		return tenancy.User{}, false, err
	}
	hash, err := s.identity.hasher.Hash(ctx, in.Password)
	if err != nil {
		return tenancy.User{}, false, err
	}
	u, err = s.tenants.CreateUser(ctx, tenancy.NewUser{Username: in.Username, Email: in.Email, PasswordHash: hash})
	if errors.Is(err, tenancy.ErrConflict) {
		return tenancy.User{}, false, usernameTaken() // created meanwhile by another request
	}
	return u, err == nil, err
}

// checkNewUser validates a request that creates a user: a valid name, a
// valid e-mail address when one is given, and a password that passes the
// policy. Its answers do
// not depend on whether the name exists.
func checkNewUser(in memberRequest) error {
	if err := tenancy.ValidateUsername(in.Username); err != nil {
		return err
	}
	if in.Email != "" {
		// tenancy.Manager.CreateUser checks the same; checking here keeps
		// the answer independent of whether the name exists.
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
			return invalid(fieldError{Field: "email", Message: "must be a plain address such as ada@example.com"})
		}
	}
	if in.Password == "" {
		return invalid(fieldError{Field: "password", Message: "required for a new user"})
	}
	v := &validator{}
	v.checkPassword("password", in.Password, in.Username, in.Email)
	return v.err()
}

// bootstrap makes an empty database usable: when no tenant exists it
// creates the tenant "default" and — unless it exists — the superadmin
// "admin" as its admin. The password is MAESTRO_ADMIN_PASSWORD (which must
// pass the policy), else a random one written once to
// MAESTRO_HOME/initial_admin_password (0600); it is never logged. Once a
// tenant exists, bootstrap changes nothing.
func (s *Server) bootstrap(ctx context.Context) error {
	existing, err := s.tenants.ListTenants(ctx, tenancy.ListOptions{Limit: 1})
	if err != nil || len(existing) > 0 {
		return err
	}
	admin, err := s.tenants.UserByUsername(ctx, bootstrapAdmin)
	if errors.Is(err, tenancy.ErrNotFound) {
		admin, err = s.createBootstrapAdmin(ctx)
	}
	if err != nil {
		return err
	}
	t, err := s.tenants.CreateTenant(ctx, bootstrapTenantName, bootstrapTenantSlug)
	if err != nil {
		return err
	}
	if _, err := s.tenants.AddMember(ctx, t.ID, admin.ID, auth.RoleAdmin); err != nil {
		return err
	}
	s.audit(ctx, auditBootstrap, slog.String("user_id", admin.ID), slog.String("tenant_id", t.ID))
	return nil
}

// createBootstrapAdmin creates the superadmin "admin".
func (s *Server) createBootstrapAdmin(ctx context.Context) (tenancy.User, error) {
	password := s.cfg.AdminPassword
	if password == "" {
		var err error
		password, err = homeSecret(ctx, s.cfg.Home, adminPasswordFile, func() (string, error) {
			return secrets.Generate(bootstrapPasswordBytes)
		})
		if err != nil {
			return tenancy.User{}, err
		}
		s.log.Info("created the user admin; its password is in MAESTRO_HOME/" + adminPasswordFile)
	} else if err := auth.CheckPasswordPolicy(password, bootstrapAdmin); err != nil {
		return tenancy.User{}, fmt.Errorf("%s: %w", envAdminPassword, err)
	}
	hash, err := s.identity.hasher.Hash(ctx, password)
	if err != nil {
		return tenancy.User{}, err
	}
	return s.tenants.CreateUser(ctx, tenancy.NewUser{Username: bootstrapAdmin, PasswordHash: hash, IsSuperadmin: true})
}

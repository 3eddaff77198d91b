package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/tenancy"
)

// memberBody is a membership as the API shows it. It carries no e-mail
// address: a member may also belong to other tenants (attached by a
// superadmin), whose admins must not learn its address this way.
type memberBody struct {
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	Role     auth.Role `json:"role"`
}

type memberRequest struct {
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role"`
}

// addMember adds a user to the tenant, creating the user when the name is
// new (a password that passes the policy is then required). Only a
// superadmin attaches a user who already exists; see findOrCreateUser.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	var in memberRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	role, err := parseRoleField(in.Role)
	if err != nil {
		return err
	}
	// A full tenant is refused before a new user is created, so that the
	// refusal leaves no user behind; AddMember checks the quota again in
	// its transaction, which decides.
	if err := s.tenants.CheckQuota(r.Context(), t.ID, tenancy.ResourceUsers, 1); err != nil {
		return err
	}
	u, created, err := s.findOrCreateUser(r.Context(), t.ID, principal(r).Superadmin, in)
	if err != nil {
		return err
	}
	if _, err := s.tenants.AddMember(r.Context(), t.ID, u.ID, role); err != nil {
		if created {
			// The user exists for this membership only: remove it, or its
			// name would stay taken by a user of no tenant.
			if derr := s.tenants.DeleteUser(context.WithoutCancel(r.Context()), u.ID); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return err
	}
	s.principals.invalidate() // committed: no read of this replica may keep the old rows
	s.audit(r.Context(), auditMemberAdded, slog.String("tenant_id", t.ID), slog.String("user_id", u.ID),
		slog.String("role", role.String()))
	writeJSON(w, http.StatusCreated, memberBody{UserID: u.ID, Username: u.Username, Role: role})
	return nil
}

// listMembers lists the tenant's members.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	pg, err := idPageParams(r)
	if err != nil {
		return err
	}
	ms, err := s.tenants.Members(r.Context(), t.ID, tenancy.ListOptions{Limit: pg.Limit, After: pg.Cursor})
	if err != nil {
		return err
	}
	out := make([]memberBody, len(ms))
	for i, m := range ms {
		out[i] = memberBody{UserID: m.UserID, Username: m.Username, Role: m.Role}
	}
	writePage(w, out, nextAfter(len(ms), pg, func() string { return ms[len(ms)-1].UserID }))
	return nil
}

type memberPatch struct {
	Role string `json:"role"`
}

// updateMember changes a member's role. Existing tokens of the member with
// a higher role stop working at once (see checkPrincipal).
func (s *Server) updateMember(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	var in memberPatch
	if err := decode(w, r, &in); err != nil {
		return err
	}
	role, err := parseRoleField(in.Role)
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id", "member")
	if err != nil {
		return err
	}
	old, err := s.tenants.Membership(r.Context(), t.ID, uid)
	if err != nil {
		return err
	}
	if role < old.Role {
		if err := s.endAccess(r.Context(), t.ID, uid); err != nil {
			return err
		}
	}
	m, err := s.tenants.SetMemberRole(r.Context(), t.ID, uid, role)
	if err != nil {
		return err
	}
	s.principals.invalidate()
	u, err := s.tenants.User(r.Context(), uid)
	if err != nil {
		return err
	}
	s.audit(r.Context(), auditMemberUpdated, slog.String("tenant_id", t.ID), slog.String("user_id", uid),
		slog.String("role", role.String()))
	writeJSON(w, http.StatusOK, memberBody{UserID: m.UserID, Username: u.Username, Role: m.Role})
	return nil
}

// removeMember removes a user from the tenant; the user's credentials for
// the tenant stop working at once.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	t, err := s.pathTenant(r)
	if err != nil {
		return err
	}
	uid, err := pathID(r, "user_id", "member")
	if err != nil {
		return err
	}
	if _, err := s.tenants.Membership(r.Context(), t.ID, uid); err != nil {
		return err
	}
	if err := s.endAccess(r.Context(), t.ID, uid); err != nil {
		return err
	}
	if err := s.tenants.RemoveMember(r.Context(), t.ID, uid); err != nil {
		return err
	}
	s.principals.invalidate()
	s.audit(r.Context(), auditMemberRemoved, slog.String("tenant_id", t.ID), slog.String("user_id", uid))
	noContent(w)
	return nil
}

// parseRoleField parses the "role" field of a request (422 when invalid).
func parseRoleField(s string) (auth.Role, error) {
	role, err := auth.ParseRole(s)
	if err != nil {
		return auth.RoleNone, invalid(fieldError{Field: "role", Message: "must be viewer, member or admin"})
	}
	return role, nil
}

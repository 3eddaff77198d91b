package platform

import (
	"net/http"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/tenancy"
)

// accountView is the data of the account page.
type accountView struct {
	User   userBody
	Keys   []apiKeyBody
	NewKey *apiKeyBody // the key just created: shown this once
	Roles  []string
	Errors []fieldError
	Form   map[string]string
	Admin  bool
}

// pageAccount shows the caller's account and API keys (every key of the
// tenant for its admins).
func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request) error {
	v, err := s.accountPage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "account", "Account", v)
	return nil
}

// accountPage reads the account page's data through the API's handlers.
func (s *Server) accountPage(r *http.Request) (accountView, error) {
	p := principal(r)
	u, err := s.user(r.Context(), p.UserID)
	if err != nil {
		return accountView{}, err
	}
	var keys page[apiKeyBody]
	if err := s.callAPI(r, (*Server).listAPIKeys, nil, nil, &keys); err != nil {
		return accountView{}, err
	}
	roles := []string{"viewer"}
	if p.Role.AtLeast(auth.RoleMember) {
		roles = append(roles, "member")
	}
	if p.Role.AtLeast(auth.RoleAdmin) {
		roles = append(roles, "admin")
	}
	return accountView{User: u, Keys: keys.Items, Roles: roles, Form: map[string]string{}}, nil
}

// pageAPIKeyCreate creates an API key with the API's handler (current
// password, role at most the caller's, expiry) and shows it once.
func (s *Server) pageAPIKeyCreate(w http.ResponseWriter, r *http.Request) error {
	f := &form{r: r}
	in := apiKeyRequest{CurrentPassword: r.PostFormValue("current_password"), Name: f.str("name"), Role: f.str("role")}
	if d := f.str("expires_in_days"); d != "" {
		in.ExpiresInDays = f.integer("expires_in_days")
	}
	var key apiKeyBody
	err := f.v.err()
	if err == nil {
		err = s.callAPI(r, (*Server).createAPIKey, nil, in, &key)
	}
	v, verr := s.accountPage(r)
	if verr != nil {
		return verr
	}
	if err != nil {
		e := classify(err)
		if e.status != http.StatusUnprocessableEntity {
			return err
		}
		v.Errors, v.Form = e.fields, map[string]string{"name": in.Name, "role": in.Role, "expires_in_days": f.str("expires_in_days")}
		s.render(w, r, http.StatusUnprocessableEntity, "account", "Account", v)
		return nil
	}
	v.NewKey = &key
	s.render(w, r, http.StatusCreated, "account", "Account", v)
	return nil
}

// pageAPIKeyRevoke revokes an API key with the API's handler.
func (s *Server) pageAPIKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "API key")
	if err != nil {
		return err
	}
	if err := s.callAPI(r, (*Server).deleteAPIKey, map[string]string{"id": id}, nil, nil); err != nil {
		return err
	}
	redirect(w, r, "/account")
	return nil
}

// adminView is the data of the tenant administration page.
type adminView struct {
	Tenant  tenancy.Tenant
	Members []memberBody
	Errors  []fieldError
	Form    map[string]string
	Self    string
	Quota   []quotaRow
}

// quotaRow is one resource of the tenant's quota: its use and limit.
type quotaRow struct {
	Resource  string
	Used      int64
	Limit     int64 // 0: unlimited
	Bytes     bool  // the figures are sizes
	Share     float64
	Exhausted bool
}

// quotaRows lists the limits and use of each resource of body.
func quotaRows(body quotaBody) []quotaRow {
	l, u := body.Limits, body.Usage
	rows := []quotaRow{
		{Resource: "Users", Used: u.Users, Limit: l.Users},
		{Resource: "Projects", Used: u.Projects, Limit: l.Projects},
		{Resource: "Artifacts", Used: u.Artifacts, Limit: l.Artifacts},
		{Resource: "Artifact storage", Used: u.StorageBytes, Limit: l.StorageBytes, Bytes: true},
		{Resource: "Metric points", Used: u.MetricPoints, Limit: l.MetricPoints},
	}
	for i := range rows {
		if rows[i].Limit > 0 {
			rows[i].Share = min(1, float64(rows[i].Used)/float64(rows[i].Limit))
			rows[i].Exhausted = rows[i].Used >= rows[i].Limit
		}
	}
	return rows
}

// pageAdmin shows the tenant's quota (limits and use of each) and lists
// its members with their roles.
func (s *Server) pageAdmin(w http.ResponseWriter, r *http.Request) error {
	v, err := s.adminPage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "admin", "Administration", v)
	return nil
}

// adminPage reads the administration page's data through the API's
// member list.
func (s *Server) adminPage(r *http.Request) (adminView, error) {
	p := principal(r)
	t, err := s.tenant(r.Context(), p.TenantID)
	if err != nil {
		return adminView{}, err
	}
	q, err := s.quotaOf(r.Context(), p.TenantID)
	if err != nil {
		return adminView{}, err
	}
	v := adminView{Tenant: t, Form: map[string]string{}, Self: p.UserID, Quota: quotaRows(q)}
	cursor := ""
	for {
		var ms page[memberBody]
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = "limit=1000&cursor=" + cursor
		if err := s.callAPI(r2, (*Server).listMembers, map[string]string{"id": p.TenantID}, nil, &ms); err != nil {
			return adminView{}, err
		}
		v.Members = append(v.Members, ms.Items...)
		if ms.NextCursor == nil {
			return v, nil
		}
		cursor = *ms.NextCursor
	}
}

// pageMemberAdd adds a member with the API's handler (a new user with a
// password that passes the policy).
func (s *Server) pageMemberAdd(w http.ResponseWriter, r *http.Request) error {
	f := &form{r: r}
	in := memberRequest{Username: f.str("username"), Password: r.PostFormValue("password"), Role: f.str("role")}
	err := s.callAPI(r, (*Server).addMember, map[string]string{"id": principal(r).TenantID}, in, nil)
	if err != nil {
		e := classify(err)
		if e.status != http.StatusUnprocessableEntity && e.status != http.StatusConflict {
			return err
		}
		v, verr := s.adminPage(r)
		if verr != nil {
			return verr
		}
		v.Errors = e.fields
		if len(v.Errors) == 0 {
			v.Errors = []fieldError{{Field: "username", Message: e.detail}}
		}
		v.Form = map[string]string{"username": in.Username, "role": in.Role}
		s.render(w, r, e.status, "admin", "Administration", v)
		return nil
	}
	redirect(w, r, "/admin")
	return nil
}

// pageMemberRole changes a member's role with the API's handler (a
// demoted member's sessions and keys end at once).
func (s *Server) pageMemberRole(w http.ResponseWriter, r *http.Request) error {
	uid, err := pathID(r, "user_id", "member")
	if err != nil {
		return err
	}
	in := memberPatch{Role: r.PostFormValue("role")}
	if err := s.callAPI(r, (*Server).updateMember, map[string]string{"id": principal(r).TenantID, "user_id": uid}, in, nil); err != nil {
		return err
	}
	redirect(w, r, "/admin")
	return nil
}

// pageMemberRemove removes a member with the API's handler.
func (s *Server) pageMemberRemove(w http.ResponseWriter, r *http.Request) error {
	uid, err := pathID(r, "user_id", "member")
	if err != nil {
		return err
	}
	if err := s.callAPI(r, (*Server).removeMember, map[string]string{"id": principal(r).TenantID, "user_id": uid}, nil, nil); err != nil {
		return err
	}
	redirect(w, r, "/admin")
	return nil
}

package platform

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

func TestTenantAdministration(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, open(t), testServerOptions{})
			root := ts.adminToken()

			var created tenantBody
			expect(t, ts.do("POST", "/api/v1/tenants", root, map[string]string{"name": "Acme", "slug": "acme"}), 201).json(t, &created)
			if created.ID == "" || created.Slug != "acme" || created.Name != "Acme" || created.CreatedAt.IsZero() {
				t.Fatalf("created %+v", created)
			}
			p := expect(t, ts.do("POST", "/api/v1/tenants", root, map[string]string{"name": "Acme 2", "slug": "acme"}), 409).problem(t)
			if p.Code != "conflict" {
				t.Fatalf("duplicate slug: %+v", p)
			}
			p = expect(t, ts.do("POST", "/api/v1/tenants", root, map[string]string{"name": "Bad", "slug": "Not A Slug"}), 422).problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != "slug" {
				t.Fatalf("bad slug: %+v", p)
			}

			var got tenantBody
			expect(t, ts.do("GET", "/api/v1/tenants/"+created.ID, root, nil), 200).json(t, &got)
			if got.ID != created.ID {
				t.Fatalf("get %+v", got)
			}
			expect(t, ts.do("PATCH", "/api/v1/tenants/"+created.ID, root, map[string]string{"name": "Acme Corp"}), 200).json(t, &got)
			if got.Name != "Acme Corp" || got.Slug != "acme" {
				t.Fatalf("patched %+v", got)
			}
			expect(t, ts.do("PATCH", "/api/v1/tenants/00000000-0000-0000-0000-000000000000", root, map[string]string{"name": "x"}), 404)
			expect(t, ts.do("GET", "/api/v1/tenants/00000000-0000-0000-0000-000000000000", root, nil), 404)

			// Paging through all tenants (default, acme, and three more).
			for _, slug := range []string{"t1", "t2", "t3"} {
				ts.createTenant(root, slug)
			}
			seen := map[string]bool{}
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 5 {
					t.Fatal("paging does not end")
				}
				var pg page[tenantBody]
				path := "/api/v1/tenants?limit=2"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				expect(t, ts.do("GET", path, root, nil), 200).json(t, &pg)
				for _, tb := range pg.Items {
					if seen[tb.ID] {
						t.Fatalf("tenant %s on two pages", tb.Slug)
					}
					seen[tb.ID] = true
				}
				if pg.NextCursor == nil {
					break
				}
				cursor = *pg.NextCursor
			}
			if len(seen) != 5 {
				t.Fatalf("paged through %d tenants, want 5", len(seen))
			}
			expect(t, ts.do("GET", "/api/v1/tenants?limit=5000", root, nil), 400)

			// Members: add (creating), list, change role, remove.
			uid := ts.addMember(root, created.ID, "mia", memberPassword, "member")
			expect(t, ts.do("POST", "/api/v1/tenants/"+created.ID+"/members", root,
				map[string]string{"username": "mia", "role": "admin"}), 409)
			expect(t, ts.do("POST", "/api/v1/tenants/"+created.ID+"/members", root,
				map[string]string{"username": "newbie", "role": "member"}), 422) // password required
			expect(t, ts.do("POST", "/api/v1/tenants/"+created.ID+"/members", root,
				map[string]string{"username": "newbie", "password": "short", "role": "member"}), 422)
			expect(t, ts.do("POST", "/api/v1/tenants/"+created.ID+"/members", root,
				map[string]string{"username": "newbie", "password": memberPassword, "role": "owner"}), 422)
			expect(t, ts.do("POST", "/api/v1/tenants/"+created.ID+"/members", root,
				map[string]string{"username": "bad name!", "password": memberPassword, "role": "member"}), 422)
			def := ts.me(root).Tenant.ID
			expect(t, ts.do("POST", "/api/v1/tenants/"+def+"/members", root,
				map[string]string{"username": "mia", "password": memberPassword, "role": "member"}), 422) // exists: no password
			var m memberBody
			expect(t, ts.do("PATCH", "/api/v1/tenants/"+created.ID+"/members/"+uid, root, map[string]string{"role": "admin"}), 200).json(t, &m)
			if m.Role.String() != "admin" || m.Username != "mia" {
				t.Fatalf("patched member %+v", m)
			}
			var members page[memberBody]
			expect(t, ts.do("GET", "/api/v1/tenants/"+created.ID+"/members", root, nil), 200).json(t, &members)
			if len(members.Items) != 1 || members.Items[0].UserID != uid {
				t.Fatalf("members %+v", members.Items)
			}
			expect(t, ts.do("DELETE", "/api/v1/tenants/"+created.ID+"/members/"+uid, root, nil), 204)
			expect(t, ts.do("DELETE", "/api/v1/tenants/"+created.ID+"/members/"+uid, root, nil), 404)
			for _, ev := range []string{auditTenantCreated, auditTenantUpdated, auditMemberAdded, auditMemberUpdated, auditMemberRemoved} {
				if len(ts.logs.records("event", ev)) == 0 {
					t.Errorf("%s not audited", ev)
				}
			}
		})
	}
}

func TestRoleGating(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	def := ts.me(root).Tenant.ID
	other := ts.createTenant(root, "other")
	ts.addMember(root, def, "tenant-admin", memberPassword, "admin")
	vid := ts.addMember(root, def, "val", memberPassword, "viewer")
	ts.addMember(root, def, "mel", memberPassword, "member")
	tenantAdmin := ts.login("tenant-admin", memberPassword, "").AccessToken
	viewerTok := ts.login("val", memberPassword, "").AccessToken
	memberTok := ts.login("mel", memberPassword, "").AccessToken

	cases := []struct {
		token, method, path string
		body                any
		want                int
	}{
		// Platform operations: superadmin only, even for a tenant admin.
		{tenantAdmin, "POST", "/api/v1/tenants", map[string]string{"name": "X", "slug": "x"}, 403},
		{tenantAdmin, "PATCH", "/api/v1/tenants/" + def, map[string]string{"name": "X"}, 403},
		{tenantAdmin, "DELETE", "/api/v1/tenants/" + def, nil, 403},
		// Membership administration: the tenant's admin, not members or viewers.
		{memberTok, "GET", "/api/v1/tenants/" + def + "/members", nil, 403},
		{viewerTok, "POST", "/api/v1/tenants/" + def + "/members", map[string]string{"username": "z", "password": memberPassword, "role": "admin"}, 403},
		{memberTok, "PATCH", "/api/v1/tenants/" + def + "/members/" + vid, map[string]string{"role": "admin"}, 403},
		{memberTok, "DELETE", "/api/v1/tenants/" + def + "/members/" + vid, nil, 403},
		{tenantAdmin, "GET", "/api/v1/tenants/" + def + "/members", nil, 200},
		{tenantAdmin, "PATCH", "/api/v1/tenants/" + def + "/members/" + vid, map[string]string{"role": "member"}, 200},
		// Seeing tenants: one's own only.
		{viewerTok, "GET", "/api/v1/tenants/" + def, nil, 200},
		{viewerTok, "GET", "/api/v1/tenants/" + other, nil, 404},
		// Without a credential: 401 everywhere.
		{"", "GET", "/api/v1/tenants", nil, 401},
		{"", "GET", "/api/v1/auth/me", nil, 401},
		{"not-a-token", "GET", "/api/v1/auth/me", nil, 401},
	}
	for _, c := range cases {
		r := ts.do(c.method, c.path, c.token, c.body)
		if r.status != c.want {
			t.Errorf("%s %s: %d, want %d; %s", c.method, c.path, r.status, c.want, r.body)
			continue
		}
		if c.want >= 400 {
			r.problem(t)
		}
	}
	var list page[tenantBody]
	expect(t, ts.do("GET", "/api/v1/tenants", viewerTok, nil), 200).json(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != def {
		t.Fatalf("a viewer lists %+v", list.Items)
	}
}

func TestDeleteTenantRemovesEverything(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.PlatformDatabases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			ts := newTestServer(t, db, testServerOptions{})
			root := ts.adminToken()
			doomed := ts.createTenant(root, "doomed")
			kept := ts.createTenant(root, "kept")
			ts.addMember(root, doomed, "dora", memberPassword, "admin")
			ts.addMember(root, kept, "kim", memberPassword, "admin")
			dora := ts.login("dora", memberPassword, "").AccessToken
			kim := ts.login("kim", memberPassword, "").AccessToken
			var key apiKeyBody
			expect(t, ts.do("POST", "/api/v1/auth/api-keys", dora, map[string]any{"current_password": memberPassword, "name": "k"}), 201).json(t, &key)
			for _, tok := range []string{dora, kim} {
				var proj, art struct{ ID string }
				expect(t, ts.do("POST", "/api/v1/projects", tok, map[string]any{
					"name": "churn", "problem_class": "classification", "complexity_score": 5, "team_size": 3,
				}), 201).json(t, &proj)
				expect(t, ts.do("POST", "/api/v1/artifacts", tok, map[string]any{
					"name": "features", "type": "feature_pipeline", "version": "1.0.0",
				}), 201).json(t, &art)
				expect(t, ts.do("PUT", "/api/v1/artifacts/"+art.ID+"/content", tok, []byte("blob bytes"),
					"Content-Type", "application/octet-stream"), 200)
			}
			blobDir := filepath.Join(ts.s.cfg.Home, blobDir, doomed)
			if _, err := os.Stat(blobDir); err != nil {
				t.Fatalf("the doomed tenant's blobs are not where expected: %v", err)
			}

			expect(t, ts.do("DELETE", "/api/v1/tenants/"+doomed, root, nil), 204)
			expect(t, ts.do("GET", "/api/v1/tenants/"+doomed, root, nil), 404)
			expect(t, ts.do("GET", "/api/v1/auth/me", dora, nil), 401)
			expect(t, ts.do("GET", "/api/v1/auth/me", key.Key, nil), 401)
			if _, err := os.Stat(blobDir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("blobs survived the tenant: %v", err)
			}
			// No row of the tenant is left in any tenant-owned table; the
			// other tenant keeps its own.
			for _, m := range tenantModels() {
				for tenant, want := range map[string]bool{doomed: false, kept: true} {
					var n int64
					ctx := tenancy.WithTenant(context.Background(), tenant)
					if err := db.WithContext(ctx).Model(m).Count(&n).Error; err != nil {
						t.Fatalf("count %T: %v", m, err)
					}
					if !want && n != 0 {
						t.Errorf("%T: %d rows of the deleted tenant left", m, n)
					}
				}
			}
			var projects page[struct{ ID string }]
			expect(t, ts.do("GET", "/api/v1/projects", kim, nil), 200).json(t, &projects)
			if len(projects.Items) != 1 {
				t.Fatalf("the kept tenant has %d projects", len(projects.Items))
			}
			if len(ts.logs.records("event", auditTenantDeleted)) != 1 {
				t.Fatal("deletion not audited")
			}
		})
	}
}

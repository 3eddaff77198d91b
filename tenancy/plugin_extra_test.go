package tenancy_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

func TestNestedJoinScopesEveryLevel(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, openWithPlugin(t, open, tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {})))
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Joins("Owner.Company").Find(&ps).Error)
			if len(ps) != 1 || ps[0].Owner == nil || ps[0].Owner.Company == nil || ps[0].Owner.Company.Name != "company-A" {
				t.Fatalf("nested join = %+v", ps)
			}
			// Point A's owner at B's company: the nested join shows none.
			var ownerB owner
			mustNoErr(t, w.db.WithContext(w.ctxB).First(&ownerB, "id = ?", *w.projB.OwnerID).Error)
			xctx := tenancy.CrossTenant(context.Background(), "test: plant a foreign reference")
			mustNoErr(t, w.db.WithContext(xctx).Model(&owner{}).Where("id = ?", *w.projA.OwnerID).Update("company_id", ownerB.CompanyID).Error)
			ps = nil
			mustNoErr(t, w.db.WithContext(w.ctxA).Joins("Owner").Joins("Owner.Company").Find(&ps).Error)
			if len(ps) != 1 || (ps[0].Owner != nil && ps[0].Owner.Company != nil && ps[0].Owner.Company.ID != "") {
				t.Fatalf("nested join leaked: %+v", ps[0].Owner)
			}
			// Point A's project at B's owner: the intermediate level is
			// scoped too.
			mustNoErr(t, w.db.WithContext(xctx).Model(&project{}).Where("id = ?", w.projA.ID).Update("owner_id", w.projB.OwnerID).Error)
			ps = nil
			mustNoErr(t, w.db.WithContext(w.ctxA).InnerJoins("Owner.Company").Find(&ps).Error)
			if len(ps) != 0 {
				t.Fatalf("inner nested join through B's owner: %+v", ps)
			}
			// Without a tenant, a join of a tenant-owned relation fails.
			wantErr(t, w.db.Joins("Project").Find(&[]bookmark{}).Error, tenancy.ErrNoTenant)
			mustNoErr(t, w.db.WithContext(xctx).Joins("Project").Find(&[]bookmark{}).Error)
			wantErr(t, w.db.Joins("Project.Owner").Find(&[]bookmark{}).Error, tenancy.ErrNoTenant)
		})
	}
}

func TestTableExpressions(t *testing.T) {
	t.Parallel()
	w := newWorld(t, openWithPlugin(t, testenv.SQLite))
	var out []summary
	sub := w.db.WithContext(w.ctxA).Model(&project{}).Select("id, name, score")
	mustNoErr(t, w.db.WithContext(w.ctxA).Table("(?) AS sub", sub).Find(&out).Error)
	if len(out) != 1 || out[0].Name != "project-A" {
		t.Fatalf("subquery table = %+v", out)
	}
	mustNoErr(t, w.db.WithContext(w.ctxA).Table("main.projects").Find(&out).Error)
	if len(out) != 1 {
		t.Fatalf("schema-qualified table = %+v", out)
	}
	wantErr(t, w.db.WithContext(w.ctxA).Table("(SELECT * FROM projects) AS p").Find(&out).Error, tenancy.ErrRawSQL)
	wantErr(t, w.db.WithContext(w.ctxA).Table("projects WHERE 1 = ?", 1).Find(&out).Error, tenancy.ErrRawSQL)
	// Opted in, a raw table expression passes (and is the caller's duty).
	mustNoErr(t, w.db.WithContext(tenancy.AllowRawSQL(w.ctxA)).Table("(SELECT * FROM projects WHERE tenant_id = ?) AS p", w.a).Find(&out).Error)
	if len(out) != 1 {
		t.Fatalf("opted-in raw table = %+v", out)
	}
	// A DTO without tenant_id cannot create into a tenant-owned table.
	type named struct{ ID, Name string }
	err := w.db.WithContext(w.ctxA).Table("projects").Create(&named{ID: uuid.NewString(), Name: "x"}).Error
	wantErr(t, err, tenancy.ErrNoTenantColumn)
}

func TestPluginOptions(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	p := tenancy.NewPlugin(tenancy.WithTables("settings"), tenancy.WithModels(&project{}), tenancy.WithLogger(logger))
	if p.Name() != tenancy.PluginName || p.RowLevelSecurity() {
		t.Fatal("plugin name or RLS flag wrong")
	}
	db := testenv.SQLite(t)
	mustNoErr(t, db.AutoMigrate(&company{}, &owner{}, &project{}, &task{}, &tag{}, &setting{}))
	mustNoErr(t, db.Use(p))
	if err := testenv.SQLite(t).Use(p); err == nil {
		t.Fatal("one plugin installed on two databases")
	}
	// settings was declared tenant-owned, so it needs a tenant now.
	var n int64
	wantErr(t, db.Table("settings").Count(&n).Error, tenancy.ErrNoTenant)
	mustNoErr(t, db.WithContext(tenancy.CrossTenant(context.Background(), "audited")).Model(&project{}).Count(&n).Error)
	mu.Lock()
	logged := buf.String()
	mu.Unlock()
	if !strings.Contains(logged, "cross-tenant") || !strings.Contains(logged, "reason=audited") {
		t.Fatalf("audit log = %q", logged)
	}
	if err := testenv.SQLite(t).Use(tenancy.NewPlugin(tenancy.WithModels(&setting{}))); err == nil {
		t.Fatal("WithModels accepted a model without tenancy.Model")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		is   error
		want string
	}{
		{&tenancy.ScopeError{Op: tenancy.OpQuery, Table: "projects", Err: tenancy.ErrNoTenant}, tenancy.ErrNoTenant, "query on projects"},
		{&tenancy.ScopeError{Op: tenancy.OpRaw, Err: tenancy.ErrRawSQL}, tenancy.ErrRawSQL, "(raw)"},
		{&tenancy.ValidationError{Field: "slug", Message: "bad"}, tenancy.ErrInvalid, "invalid slug: bad"},
		{&tenancy.QuotaError{Resource: tenancy.ResourceProjects, Limit: 2, Used: 2, Requested: 1}, tenancy.ErrQuotaExceeded, "2 used + 1 requested > limit 2"},
		{&tenancy.RoleError{Role: "app", Superuser: true, BypassRLS: true, MemberOf: []string{"postgres"}, OwnedTables: []string{"public.t"}}, tenancy.ErrUnsafeRole, `role "app" is a superuser; has BYPASSRLS; can become postgres; owns public.t`},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.is) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%v: want Is(%v) and text %q", tc.err, tc.is, tc.want)
		}
	}
}

func TestManagerMore(t *testing.T) {
	t.Parallel()
	m, db := newManager(t, testenv.SQLite)
	ctx := context.Background()
	var hooked []string
	m.OnTenantDelete(func(_ context.Context, id string) error { hooked = append(hooked, id); return nil })
	m.RegisterCounter(tenancy.ResourceArtifacts, tenancy.CountRows(&task{}))
	mustNoErr(t, m.RegisterModels(&project{}, &task{}))
	tn, err := m.CreateTenant(ctx, "T", "t")
	mustNoErr(t, err)
	q, err := m.Quota(ctx, tn.ID)
	mustNoErr(t, err)
	if q != (tenancy.Quota{TenantID: tn.ID}) {
		t.Fatalf("default quota = %+v", q)
	}
	mustNoErr(t, m.SetQuota(ctx, tn.ID, tenancy.Quota{Artifacts: 1}))
	wantErr(t, m.SetQuota(ctx, tn.ID, tenancy.Quota{Projects: -1}), tenancy.ErrInvalid)
	tctx := tenancy.WithTenant(ctx, tn.ID)
	pid := uuid.NewString()
	mustNoErr(t, db.WithContext(tctx).Create(&project{ID: pid}).Error)
	mustNoErr(t, db.WithContext(tctx).Create(&task{ID: uuid.NewString(), ProjectID: pid}).Error)
	err = db.WithContext(tctx).Transaction(func(tx *gorm.DB) error {
		return m.CheckQuotaTx(tctx, tx, tn.ID, tenancy.ResourceArtifacts, 1)
	})
	wantErr(t, err, tenancy.ErrQuotaExceeded)
	mustNoErr(t, m.CheckQuota(ctx, tn.ID, tenancy.ResourceArtifacts, 0))
	wantErr(t, m.CheckQuota(ctx, tn.ID, tenancy.Resource("gpus"), 1), tenancy.ErrInvalid)
	_, err = m.Usage(ctx, tn.ID, tenancy.Resource("gpus"))
	if err == nil {
		t.Fatal("usage of an unknown resource")
	}

	u, err := m.CreateUser(ctx, tenancy.NewUser{Username: "carol", PasswordHash: "h1"})
	mustNoErr(t, err)
	email, hash, super := "carol@example.com", "h2", true
	u2, err := m.UpdateUser(ctx, u.ID, tenancy.UserUpdate{Email: &email, PasswordHash: &hash, IsSuperadmin: &super})
	mustNoErr(t, err)
	if u2.Email != email || u2.PasswordHash != hash || !u2.IsSuperadmin {
		t.Fatalf("UpdateUser = %+v", u2)
	}
	bad := "nope"
	_, err = m.UpdateUser(ctx, u.ID, tenancy.UserUpdate{Email: &bad})
	wantErr(t, err, tenancy.ErrInvalid)
	empty := ""
	_, err = m.UpdateUser(ctx, u.ID, tenancy.UserUpdate{PasswordHash: &empty})
	wantErr(t, err, tenancy.ErrInvalid)
	_, err = m.UpdateUser(ctx, uuid.NewString(), tenancy.UserUpdate{})
	wantErr(t, err, tenancy.ErrNotFound)
	got, err := m.User(ctx, u.ID)
	mustNoErr(t, err)
	if got.Username != "carol" {
		t.Fatalf("User = %+v", got)
	}
	_, err = m.UserByUsername(ctx, "nobody")
	wantErr(t, err, tenancy.ErrNotFound)
	_, err = m.CreateUser(ctx, tenancy.NewUser{Username: "-bad", PasswordHash: "h"})
	wantErr(t, err, tenancy.ErrInvalid)
	_, err = m.SetMemberRole(ctx, tn.ID, u.ID, 2)
	wantErr(t, err, tenancy.ErrNotFound)
	_, err = m.SetMemberRole(ctx, tn.ID, u.ID, 0)
	wantErr(t, err, tenancy.ErrInvalid)
	badName := ""
	_, err = m.UpdateTenant(ctx, tn.ID, tenancy.TenantUpdate{Name: &badName})
	wantErr(t, err, tenancy.ErrInvalid)
	badSlug := "Bad"
	_, err = m.UpdateTenant(ctx, tn.ID, tenancy.TenantUpdate{Slug: &badSlug})
	wantErr(t, err, tenancy.ErrInvalid)
	off := true
	upd, err := m.UpdateTenant(ctx, tn.ID, tenancy.TenantUpdate{Disabled: &off})
	mustNoErr(t, err)
	if !upd.Disabled {
		t.Fatal("tenant not disabled")
	}
	_, err = m.UpdateTenant(ctx, uuid.NewString(), tenancy.TenantUpdate{})
	wantErr(t, err, tenancy.ErrNotFound)
	list, err := m.ListTenants(ctx, tenancy.ListOptions{Limit: 5000})
	mustNoErr(t, err)
	if len(list) != 1 {
		t.Fatalf("ListTenants = %+v", list)
	}
	mustNoErr(t, m.DeleteTenant(ctx, tn.ID))
	if len(hooked) != 1 {
		t.Fatalf("hooks = %v", hooked)
	}
	var n int64
	mustNoErr(t, db.WithContext(tctx).Model(&task{}).Count(&n).Error)
	if n != 0 {
		t.Fatalf("%d tasks survived the tenant", n)
	}
}

func TestDisableRLS(t *testing.T) {
	t.Parallel()
	w := newRLSWorld(t, false)
	app := testenv.OpenPostgres(t, w.appURL)
	var n int64
	mustNoErr(t, app.Model(&project{}).Count(&n).Error)
	if n != 0 {
		t.Fatalf("with RLS and no tenant: %d rows", n)
	}
	mustNoErr(t, tenancy.DisableRLS(context.Background(), w.ownerDB, &company{}, &owner{}, "projects", &task{}, &tag{}))
	mustNoErr(t, app.Model(&project{}).Count(&n).Error)
	if n != 2 {
		t.Fatalf("after DisableRLS: %d rows", n)
	}
	if err := tenancy.EnableRLS(context.Background(), w.ownerDB, &setting{}); err == nil {
		t.Fatal("EnableRLS accepted a model without tenancy.Model")
	}
	if err := tenancy.EnableRLS(context.Background(), w.ownerDB, "settings"); !errors.Is(err, tenancy.ErrNoTenantColumn) {
		t.Fatalf("EnableRLS on a table without tenant_id: %v", err)
	}
}

func TestExplicitFromClause(t *testing.T) {
	t.Parallel()
	w := newWorld(t, openWithPlugin(t, testenv.SQLite))
	var rows []map[string]interface{}
	from := clause.From{Tables: []clause.Table{{Name: "settings"}, {Name: "tasks", Alias: "t"}}}
	mustNoErr(t, w.db.Create(&setting{Key: uuid.NewString(), Value: "v"}).Error)
	mustNoErr(t, w.db.WithContext(w.ctxA).Table("settings").Clauses(from).Select("t.title").Where("1 = 0").Or("1 = 1").Find(&rows).Error)
	if len(rows) != 2 {
		t.Fatalf("explicit FROM rows = %v", rows)
	}
	for _, r := range rows {
		if !strings.HasSuffix(r["title"].(string), "-A") {
			t.Fatalf("leaked %v", r)
		}
	}
	wantErr(t, w.db.Table("settings").Clauses(from).Find(&rows).Error, tenancy.ErrNoTenant)
}

func TestUpsertWithCallerCondition(t *testing.T) {
	t.Parallel()
	w := newWorld(t, openWithPlugin(t, testenv.SQLite))
	p := project{ID: w.projA.ID, Name: "renamed"}
	res := w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "1 = 0"}}},
	}).Create(&p)
	mustNoErr(t, res.Error)
	evil := project{ID: w.projB.ID, Name: "hijacked"}
	mustNoErr(t, w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "1 = 1"}}},
	}).Create(&evil).Error)
	bUntouched(t, w)
}

// projectReadModel maps the projects table without embedding
// tenancy.Model, as a host's read model might.
type projectReadModel struct {
	ID   string
	Name string
}

func (projectReadModel) TableName() string { return "projects" }

func TestReadModelOnTenantTable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, openWithPlugin(t, testenv.SQLite))
	var rows []projectReadModel
	mustNoErr(t, w.db.WithContext(w.ctxA).Find(&rows).Error)
	if len(rows) != 1 || rows[0].Name != "project-A" {
		t.Fatalf("read model rows = %+v", rows)
	}
	wantErr(t, w.db.Find(&rows).Error, tenancy.ErrNoTenant)

	// A platform model with its own tenant_id column stays unscoped,
	// even after the table was probed through db.Table.
	mustNoErr(t, tenancy.Migrate(context.Background(), w.db))
	m, err := tenancy.NewManager(w.db)
	mustNoErr(t, err)
	var n int64
	mustNoErr(t, w.db.WithContext(w.ctxA).Table("memberships").Count(&n).Error)
	wantErr(t, w.db.Table("memberships").Count(&n).Error, tenancy.ErrNoTenant)
	_, err = m.UserTenants(context.Background(), uuid.NewString())
	mustNoErr(t, err)
}

// TestInvalidOptions checks that invalid options fail the plugin's
// installation instead of being ignored (or panicking).
func TestInvalidOptions(t *testing.T) {
	t.Parallel()
	cases := map[string][]tenancy.Option{
		"nil option":       {nil},
		"nil audit":        {tenancy.WithAudit(nil)},
		"nil logger":       {tenancy.WithLogger(nil)},
		"empty table":      {tenancy.WithTables("")},
		"blank table":      {tenancy.WithTables("  ")},
		"table expression": {tenancy.WithTables("projects p")},
		"nil model":        {tenancy.WithModels(nil)},
		"no tenancy.Model": {tenancy.WithModels(&setting{})},
		"unparsable model": {tenancy.WithModels(42)},
		"one bad among ok": {tenancy.WithTables("projects"), tenancy.WithTables("")},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			var p *tenancy.Plugin
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("NewPlugin panicked: %v", r)
					}
				}()
				p = tenancy.NewPlugin(opts...)
			}()
			if err := testenv.SQLite(t).Use(p); err == nil {
				t.Fatal("plugin with an invalid option installed")
			}
		})
	}
	mustNoErr(t, testenv.SQLite(t).Use(tenancy.NewPlugin(tenancy.WithTables("projects", "main.tasks"), tenancy.WithModels(&project{}))))
}

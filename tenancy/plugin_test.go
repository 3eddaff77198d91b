package tenancy_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// leakCase runs one GORM access path as tenant A and checks that nothing
// of tenant B was read or written.
type leakCase struct {
	name string
	run  func(t *testing.T, w *world)
	// rows marks cases that use Row, Rows or Scan, which need a
	// transaction under row-level security.
	rows bool
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func onlyA(t *testing.T, w *world, ps []project) {
	t.Helper()
	if len(ps) == 0 {
		t.Fatal("no rows: want tenant A's")
	}
	for _, p := range ps {
		if p.TenantID != w.a || strings.HasSuffix(p.Name, "-B") {
			t.Fatalf("leaked row %+v", p)
		}
	}
}

// bUntouched checks tenant B's project is exactly as seeded.
func bUntouched(t *testing.T, w *world) {
	t.Helper()
	var p project
	mustNoErr(t, w.db.WithContext(w.ctxB).Preload("Tasks").First(&p, "id = ?", w.projB.ID).Error)
	if p.Name != "project-B" || p.Score != 7 || p.TenantID != w.b || len(p.Tasks) != 2 {
		t.Fatalf("tenant B's project changed: %+v", p)
	}
}

func leakCases() []leakCase {
	return []leakCase{
		{"First", func(t *testing.T, w *world) {
			var p project
			mustNoErr(t, w.db.WithContext(w.ctxA).First(&p).Error)
			onlyA(t, w, []project{p})
			wantErr(t, w.db.WithContext(w.ctxA).First(&p, "id = ?", w.projB.ID).Error, gorm.ErrRecordNotFound)
		}, false},
		{"Find", func(t *testing.T, w *world) {
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Find(&ps).Error)
			onlyA(t, w, ps)
			if len(ps) != 1 {
				t.Fatalf("got %d rows", len(ps))
			}
		}, false},
		{"Find with OR condition", func(t *testing.T, w *world) {
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Where("name = ?", "nothing").Or("1 = 1").Find(&ps).Error)
			onlyA(t, w, ps)
			mustNoErr(t, w.db.WithContext(w.ctxA).Where("name = 'x' OR\n1 = 1").Find(&ps).Error)
			onlyA(t, w, ps)
		}, false},
		{"Take", func(t *testing.T, w *world) {
			var p project
			mustNoErr(t, w.db.WithContext(w.ctxA).Take(&p).Error)
			onlyA(t, w, []project{p})
		}, false},
		{"Last", func(t *testing.T, w *world) {
			var p project
			mustNoErr(t, w.db.WithContext(w.ctxA).Last(&p).Error)
			onlyA(t, w, []project{p})
		}, false},
		{"Count", func(t *testing.T, w *world) {
			var n int64
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Count(&n).Error)
			if n != 1 {
				t.Fatalf("count = %d, want 1", n)
			}
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&task{}).Count(&n).Error)
			if n != 2 {
				t.Fatalf("task count = %d, want 2", n)
			}
		}, false},
		{"Pluck", func(t *testing.T, w *world) {
			var names []string
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Pluck("name", &names).Error)
			if len(names) != 1 || names[0] != "project-A" {
				t.Fatalf("names = %v", names)
			}
		}, false},
		{"Scan", func(t *testing.T, w *world) {
			var out []summary
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Select("id, name, score").Scan(&out).Error)
			if len(out) != 1 || out[0].Name != "project-A" {
				t.Fatalf("scan = %+v", out)
			}
		}, true},
		{"Rows", func(t *testing.T, w *world) {
			rows, err := w.db.WithContext(w.ctxA).Model(&project{}).Select("name").Rows()
			mustNoErr(t, err)
			defer rows.Close()
			var names []string
			for rows.Next() {
				var n string
				mustNoErr(t, rows.Scan(&n))
				names = append(names, n)
			}
			mustNoErr(t, rows.Err())
			if len(names) != 1 || names[0] != "project-A" {
				t.Fatalf("rows = %v", names)
			}
		}, true},
		{"Row", func(t *testing.T, w *world) {
			var n int64
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&task{}).Select("count(*)").Row().Scan(&n))
			if n != 2 {
				t.Fatalf("row count = %d", n)
			}
		}, true},
		{"Preload", func(t *testing.T, w *world) {
			// Point A's project at B's owner, and give A's project one of
			// B's tasks and tags by id: the preloads must not show them.
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Preload("Owner").Preload("Tasks").Preload("Tags").Find(&ps).Error)
			onlyA(t, w, ps)
			p := ps[0]
			if p.Owner == nil || p.Owner.TenantID != w.a || len(p.Tasks) != 2 || len(p.Tags) != 1 || p.Tags[0].TenantID != w.a {
				t.Fatalf("preloaded %+v", p)
			}
			for _, tk := range p.Tasks {
				if tk.TenantID != w.a {
					t.Fatalf("leaked task %+v", tk)
				}
			}
		}, false},
		{"Preload with a foreign reference", func(t *testing.T, w *world) {
			// A's project made to reference B's owner (as a malicious or
			// buggy write could): neither Preload nor Joins may show it.
			ctxX := tenancy.CrossTenant(context.Background(), "test: forge a foreign reference")
			mustNoErr(t, w.db.WithContext(ctxX).Model(&project{}).Where("id = ?", w.projA.ID).Update("owner_id", w.projB.OwnerID).Error)
			mustNoErr(t, w.db.WithContext(ctxX).Create(&task{ID: uuid.NewString(), Model: tenancy.Model{TenantID: w.b}, ProjectID: w.projA.ID, Title: "planted-B"}).Error)
			var p project
			mustNoErr(t, w.db.WithContext(w.ctxA).Preload("Owner").Preload("Tasks").First(&p, "id = ?", w.projA.ID).Error)
			if p.Owner != nil {
				t.Fatalf("preload leaked B's owner: %+v", p.Owner)
			}
			for _, tk := range p.Tasks {
				if tk.TenantID != w.a {
					t.Fatalf("preload leaked %+v", tk)
				}
			}
			var j project
			mustNoErr(t, w.db.WithContext(w.ctxA).Joins("Owner").First(&j, "projects.id = ?", w.projA.ID).Error)
			if j.Owner != nil && j.Owner.ID != "" {
				t.Fatalf("join leaked B's owner: %+v", j.Owner)
			}
		}, false},
		{"Joins", func(t *testing.T, w *world) {
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Joins("Owner").Find(&ps).Error)
			onlyA(t, w, ps)
			if ps[0].Owner == nil || ps[0].Owner.Name != "owner-A" {
				t.Fatalf("joined owner %+v", ps[0].Owner)
			}
			mustNoErr(t, w.db.WithContext(w.ctxA).InnerJoins("Owner", w.db.Where(&owner{Name: "owner-A"})).Find(&ps).Error)
			onlyA(t, w, ps)
		}, false},
		{"Raw join refused", func(t *testing.T, w *world) {
			var ps []project
			err := w.db.WithContext(w.ctxA).Joins("JOIN owners ON owners.id = projects.owner_id").Find(&ps).Error
			wantErr(t, err, tenancy.ErrRawSQL)
		}, false},
		{"Association", func(t *testing.T, w *world) {
			var tags []tag
			p := w.projA
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&p).Association("Tags").Find(&tags))
			if len(tags) != 1 || tags[0].Label != "tag-A" {
				t.Fatalf("tags = %+v", tags)
			}
			// Asking for B's project's tasks as A yields nothing.
			pb := w.projB
			var tasks []task
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&pb).Association("Tasks").Find(&tasks))
			if len(tasks) != 0 {
				t.Fatalf("leaked tasks %+v", tasks)
			}
			if n := w.db.WithContext(w.ctxA).Model(&pb).Association("Tasks").Count(); n != 0 {
				t.Fatalf("association count = %d", n)
			}
			// Appending B's tag to A's project neither moves nor exposes
			// it, nor links it: the join row would name B's tag.
			bt := w.projB.Tags[0]
			wantErr(t, w.db.WithContext(w.ctxA).Model(&p).Association("Tags").Append(&tag{ID: bt.ID, Label: "stolen"}), tenancy.ErrForeignTenant)
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&p).Association("Tags").Find(&tags))
			for _, tg := range tags {
				if tg.TenantID != w.a {
					t.Fatalf("leaked tag %+v", tg)
				}
			}
			var still tag
			mustNoErr(t, w.db.WithContext(w.ctxB).First(&still, "id = ?", bt.ID).Error)
			if still.Label != "tag-B" {
				t.Fatalf("B's tag changed: %+v", still)
			}
		}, false},
		{"Create one sets tenant", func(t *testing.T, w *world) {
			p := project{ID: uuid.NewString(), Name: "new-A"}
			mustNoErr(t, w.db.WithContext(w.ctxA).Create(&p).Error)
			if p.TenantID != w.a || w.rawCount(t, "projects", w.a) != 2 {
				t.Fatalf("created %+v", p)
			}
		}, false},
		{"Create slice sets tenant", func(t *testing.T, w *world) {
			ps := []*project{{ID: uuid.NewString(), Name: "s1"}, {ID: uuid.NewString(), Name: "s2"}}
			mustNoErr(t, w.db.WithContext(w.ctxA).Create(ps).Error)
			if w.rawCount(t, "projects", w.a) != 3 || w.rawCount(t, "projects", w.b) != 1 {
				t.Fatal("slice create misplaced rows")
			}
			vs := []task{{ID: uuid.NewString(), ProjectID: w.projA.ID}}
			mustNoErr(t, w.db.WithContext(w.ctxA).CreateInBatches(&vs, 10).Error)
			if vs[0].TenantID != w.a {
				t.Fatalf("batch create %+v", vs)
			}
		}, false},
		{"Create map sets tenant", func(t *testing.T, w *world) {
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Create(map[string]interface{}{"ID": uuid.NewString(), "Name": "m1"}).Error)
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Create([]map[string]interface{}{{"id": uuid.NewString(), "name": "m2"}}).Error)
			mustNoErr(t, w.db.WithContext(w.ctxA).Table("projects").Create(map[string]interface{}{"id": uuid.NewString(), "name": "m3"}).Error)
			if n := w.rawCount(t, "projects", w.a); n != 4 {
				t.Fatalf("tenant A has %d projects, want 4", n)
			}
		}, false},
		{"Create foreign tenant refused", func(t *testing.T, w *world) {
			p := project{ID: uuid.NewString(), Name: "evil", Model: tenancy.Model{TenantID: w.b}}
			wantErr(t, w.db.WithContext(w.ctxA).Create(&p).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Create([]project{{ID: uuid.NewString()}, {ID: uuid.NewString(), Model: tenancy.Model{TenantID: w.b}}}).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Create(map[string]interface{}{"id": uuid.NewString(), "tenant_id": w.b}).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Create(map[string]interface{}{"id": uuid.NewString(), "TenantID": w.b}).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Table("projects").Create(map[string]interface{}{"id": uuid.NewString(), "tenant_id": w.b}).Error, tenancy.ErrForeignTenant)
			if n := w.rawCount(t, "projects", w.b); n != 1 {
				t.Fatalf("tenant B has %d projects", n)
			}
		}, false},
		{"Save new and existing", func(t *testing.T, w *world) {
			p := project{ID: uuid.NewString(), Name: "saved"}
			mustNoErr(t, w.db.WithContext(w.ctxA).Save(&p).Error)
			p.Name = "saved again"
			p.TenantID = ""
			mustNoErr(t, w.db.WithContext(w.ctxA).Save(&p).Error)
			var got project
			mustNoErr(t, w.db.WithContext(w.ctxA).First(&got, "id = ?", p.ID).Error)
			if got.Name != "saved again" || got.TenantID != w.a {
				t.Fatalf("saved %+v", got)
			}
		}, false},
		{"Save over another tenant's id", func(t *testing.T, w *world) {
			evil := w.projB
			evil.Name = "hijacked"
			evil.TenantID = ""
			evil.Owner, evil.Tasks, evil.Tags = nil, nil, nil
			wantErr(t, w.db.WithContext(w.ctxA).Save(&evil).Error, tenancy.ErrForeignTenant)
			bUntouched(t, w)
			evil.TenantID = w.b
			wantErr(t, w.db.WithContext(w.ctxA).Save(&evil).Error, tenancy.ErrForeignTenant)
			bUntouched(t, w)
		}, false},
		{"Upsert over another tenant's id", func(t *testing.T, w *world) {
			evil := project{ID: w.projB.ID, Name: "hijacked"}
			err := w.db.WithContext(w.ctxA).Clauses(clause.OnConflict{UpdateAll: true}).Create(&evil).Error
			wantErr(t, err, tenancy.ErrForeignTenant)
			bUntouched(t, w)
		}, false},
		{"Update and Updates", func(t *testing.T, w *world) {
			res := w.db.WithContext(w.ctxA).Model(&project{}).Where("1 = 1").Update("score", 99)
			mustNoErr(t, res.Error)
			if res.RowsAffected != 1 {
				t.Fatalf("rows affected %d", res.RowsAffected)
			}
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Where("id = ?", w.projB.ID).Updates(map[string]interface{}{"name": "x"}).Error)
			pb := project{ID: w.projB.ID}
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&pb).Updates(project{Name: "x"}).Error)
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&pb).UpdateColumn("name", "x").Error)
			mustNoErr(t, w.db.WithContext(w.ctxA).Table("projects").Where("id = ?", w.projB.ID).Update("name", "x").Error)
			bUntouched(t, w)
		}, false},
		{"Update to another tenant refused", func(t *testing.T, w *world) {
			pa := w.projA
			wantErr(t, w.db.WithContext(w.ctxA).Model(&pa).Update("tenant_id", w.b).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Model(&pa).Updates(map[string]interface{}{"TenantID": w.b}).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Model(&pa).Updates(project{Model: tenancy.Model{TenantID: w.b}}).Error, tenancy.ErrForeignTenant)
			wantErr(t, w.db.WithContext(w.ctxA).Model(&pa).Clauses(clause.Set{{Column: clause.Column{Name: "tenant_id"}, Value: w.b}}).Updates(map[string]interface{}{"name": "n"}).Error, tenancy.ErrForeignTenant)
			// Select("*") with an empty tenant on the value keeps the tenant.
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&pa).Select("*").Updates(project{ID: pa.ID, Name: "all"}).Error)
			if n := w.rawCount(t, "projects", w.a); n != 1 {
				t.Fatalf("tenant A has %d projects", n)
			}
		}, false},
		{"Global update refused", func(t *testing.T, w *world) {
			wantErr(t, w.db.WithContext(w.ctxA).Model(&project{}).Update("score", 1).Error, gorm.ErrMissingWhereClause)
			wantErr(t, w.db.WithContext(w.ctxA).Delete(&project{}).Error, gorm.ErrMissingWhereClause)
		}, false},
		{"Delete", func(t *testing.T, w *world) {
			pb := project{ID: w.projB.ID}
			res := w.db.WithContext(w.ctxA).Delete(&pb)
			mustNoErr(t, res.Error)
			if res.RowsAffected != 0 {
				t.Fatalf("deleted %d of B's rows", res.RowsAffected)
			}
			mustNoErr(t, w.db.WithContext(w.ctxA).Unscoped().Where("1 = 1").Delete(&task{}).Error)
			if w.rawCount(t, "tasks", w.b) != 2 || w.rawCount(t, "tasks", w.a) != 0 {
				t.Fatal("delete crossed tenants")
			}
			mustNoErr(t, w.db.WithContext(w.ctxA).Where("1 = 1").Delete(&project{}).Error)
			bUntouched(t, w)
		}, false},
		{"Unscoped does not lift scoping", func(t *testing.T, w *world) {
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Unscoped().Find(&ps).Error)
			onlyA(t, w, ps)
			mustNoErr(t, w.db.WithContext(w.ctxA).Unscoped().Where("id = ?", w.projB.ID).Delete(&project{}).Error)
			bUntouched(t, w)
		}, false},
		{"FirstOrCreate", func(t *testing.T, w *world) {
			var p project
			mustNoErr(t, w.db.WithContext(w.ctxA).Where(project{Name: "project-B"}).Attrs(project{ID: uuid.NewString()}).FirstOrCreate(&p).Error)
			if p.TenantID != w.a || p.ID == w.projB.ID || p.Name != "project-B" {
				t.Fatalf("FirstOrCreate %+v", p)
			}
			var q project
			err := w.db.WithContext(w.ctxA).Where(project{Name: "zzz", Model: tenancy.Model{TenantID: w.b}}).Attrs(project{ID: uuid.NewString()}).FirstOrCreate(&q).Error
			wantErr(t, err, tenancy.ErrForeignTenant)
			var r project
			mustNoErr(t, w.db.WithContext(w.ctxA).Where(project{ID: w.projA.ID}).Assign(project{Score: 3}).FirstOrCreate(&r).Error)
			if r.Score != 3 || r.TenantID != w.a {
				t.Fatalf("FirstOrCreate assign %+v", r)
			}
		}, false},
		{"Transaction", func(t *testing.T, w *world) {
			err := w.db.WithContext(w.ctxA).Transaction(func(tx *gorm.DB) error {
				var ps []project
				if err := tx.Find(&ps).Error; err != nil {
					return err
				}
				onlyA(t, w, ps)
				if err := tx.Create(&project{ID: uuid.NewString(), Name: "in-tx"}).Error; err != nil {
					return err
				}
				return tx.Transaction(func(tx2 *gorm.DB) error {
					var n int64
					if err := tx2.Model(&project{}).Count(&n).Error; err != nil {
						return err
					}
					if n != 2 {
						t.Errorf("nested count = %d", n)
					}
					return nil
				})
			})
			mustNoErr(t, err)
			if w.rawCount(t, "projects", w.a) != 2 {
				t.Fatal("transaction create lost")
			}
		}, false},
		{"Session NewDB", func(t *testing.T, w *world) {
			var ps []project
			mustNoErr(t, w.db.WithContext(w.ctxA).Session(&gorm.Session{NewDB: true}).Find(&ps).Error)
			onlyA(t, w, ps)
		}, false},
		{"Table", func(t *testing.T, w *world) {
			var out []summary
			mustNoErr(t, w.db.WithContext(w.ctxA).Table("projects").Find(&out).Error)
			if len(out) != 1 || out[0].Name != "project-A" {
				t.Fatalf("Table find %+v", out)
			}
			var rows []map[string]interface{}
			mustNoErr(t, w.db.WithContext(w.ctxA).Table("projects AS p").Where("p.score > ?", 0).Find(&rows).Error)
			if len(rows) != 1 {
				t.Fatalf("aliased Table find %d rows", len(rows))
			}
			var n int64
			mustNoErr(t, w.db.WithContext(w.ctxA).Table("tasks").Count(&n).Error)
			if n != 2 {
				t.Fatalf("Table count %d", n)
			}
			var one summary
			mustNoErr(t, w.db.WithContext(w.ctxA).Model(&project{}).First(&one).Error)
			if one.Name != "project-A" {
				t.Fatalf("DTO first %+v", one)
			}
			wantErr(t, w.db.WithContext(w.ctxA).Table("projects p, tasks t").Find(&rows).Error, tenancy.ErrRawSQL)
		}, false},
		{"Subquery", func(t *testing.T, w *world) {
			var ps []project
			sub := w.db.WithContext(w.ctxA).Model(&task{}).Select("project_id")
			mustNoErr(t, w.db.WithContext(w.ctxA).Where("id IN (?)", sub).Find(&ps).Error)
			onlyA(t, w, ps)
			// A subquery run on a tenant context stays scoped even when the
			// outer statement is on another context.
			var all []project
			xctx := tenancy.CrossTenant(context.Background(), "test: subquery")
			mustNoErr(t, w.db.WithContext(xctx).Where("id IN (?)", w.db.WithContext(w.ctxA).Model(&task{}).Select("project_id")).Find(&all).Error)
			onlyA(t, w, all)
		}, false},
		{"FindInBatches", func(t *testing.T, w *world) {
			var batch []task
			var seen int
			mustNoErr(t, w.db.WithContext(w.ctxA).FindInBatches(&batch, 1, func(tx *gorm.DB, _ int) error {
				for _, tk := range batch {
					if tk.TenantID != w.a {
						t.Errorf("leaked %+v", tk)
					}
				}
				seen += len(batch)
				return nil
			}).Error)
			if seen != 2 {
				t.Fatalf("saw %d tasks", seen)
			}
		}, false},
		{"Raw refused and opt-in", func(t *testing.T, w *world) {
			var ps []project
			wantErr(t, w.db.WithContext(w.ctxA).Raw("SELECT * FROM projects").Scan(&ps).Error, tenancy.ErrRawSQL)
			wantErr(t, w.db.WithContext(w.ctxA).Raw("SELECT * FROM projects").Find(&ps).Error, tenancy.ErrRawSQL)
			wantErr(t, w.db.WithContext(w.ctxA).Exec("UPDATE projects SET score = 0").Error, tenancy.ErrRawSQL)
			_, err := w.db.WithContext(w.ctxA).Raw("SELECT id FROM projects").Rows()
			wantErr(t, err, tenancy.ErrRawSQL)
			bUntouched(t, w)
			ctx := tenancy.AllowRawSQL(w.ctxA)
			mustNoErr(t, w.db.WithContext(ctx).Raw("SELECT * FROM projects WHERE tenant_id = ?", w.a).Scan(&ps).Error)
			onlyA(t, w, ps)
			mustNoErr(t, w.db.WithContext(ctx).Exec("UPDATE projects SET score = 1 WHERE tenant_id = ?", w.a).Error)
		}, true},
		{"Non-tenant model passes through", func(t *testing.T, w *world) {
			key := uuid.NewString()
			mustNoErr(t, w.db.WithContext(w.ctxA).Create(&setting{Key: key, Value: "v"}).Error)
			var s []setting
			mustNoErr(t, w.db.Find(&s, "key = ?", key).Error)
			if len(s) != 1 {
				t.Fatalf("settings %+v", s)
			}
		}, false},
	}
}

func TestPluginIsolatesTenants(t *testing.T) {
	t.Parallel()
	dbs := map[string]func(testing.TB) *gorm.DB{}
	for name, open := range testenv.Databases(t) {
		dbs[name] = func(tb testing.TB) *gorm.DB { return openWithPlugin(tb, open) }
	}
	if _, ok := dbs["postgres"]; ok {
		// Both walls: the plugin with row-level security, as a
		// non-superuser role (policies honour the cross-tenant flag, which
		// the suite's inspection helper uses).
		dbs["postgres+rls"] = openRLSApp
		// The plugin alone, as a role that is no superuser and owns
		// nothing.
		dbs["postgres+app"] = func(tb testing.TB) *gorm.DB { return openApp(tb, false) }
	}
	for dbName, open := range dbs {
		t.Run(dbName, func(t *testing.T) {
			t.Parallel()
			db := open(t)
			rls := installedRLS(db)
			for _, tc := range append(leakCases(), classCases()...) {
				t.Run(tc.name, func(t *testing.T) {
					w := newWorld(t, db)
					if rls && tc.rows {
						// Row, Rows and Scan need a transaction under RLS.
						mustNoErr(t, db.Transaction(func(tx *gorm.DB) error {
							w.db = tx
							tc.run(t, w)
							return nil
						}))
						w.db = db
					} else {
						tc.run(t, w)
					}
					// Whatever A did, B's data is intact.
					if tc.name != "Preload with a foreign reference" {
						bUntouched(t, w)
					}
				})
			}
		})
	}
}

func TestNoTenant(t *testing.T) {
	t.Parallel()
	w := newWorld(t, openWithPlugin(t, testenv.SQLite))
	db := w.db.WithContext(context.Background())
	var ps []project
	var n int64
	cases := map[string]error{
		"find":       db.Find(&ps).Error,
		"first":      db.First(&project{}).Error,
		"count":      db.Model(&project{}).Count(&n).Error,
		"table":      db.Table("projects").Count(&n).Error,
		"create":     db.Create(&project{ID: uuid.NewString()}).Error,
		"create map": db.Model(&project{}).Create(map[string]interface{}{"id": "x"}).Error,
		"update":     db.Model(&project{}).Where("1 = 1").Update("name", "x").Error,
		"delete":     db.Where("1 = 1").Delete(&project{}).Error,
		"preload":    db.Preload("Tasks").Find(&ps).Error,
		"rows":       rowsErr(db.Model(&project{}).Select("name").Rows()),
	}
	for name, err := range cases {
		if !errors.Is(err, tenancy.ErrNoTenant) {
			t.Errorf("%s: error = %v, want ErrNoTenant", name, err)
		}
		var se *tenancy.ScopeError
		if !errors.As(err, &se) || se.Table == "" {
			t.Errorf("%s: error %v is not a *ScopeError with a table", name, err)
		}
	}
}

func rowsErr(rows *sql.Rows, err error) error {
	if rows != nil {
		_ = rows.Close()
	}
	return err
}

func TestCrossTenant(t *testing.T) {
	t.Parallel()
	var events []tenancy.AuditEvent
	var mu sync.Mutex
	w := newWorld(t, openWithPlugin(t, testenv.SQLite, tenancy.WithAudit(func(_ context.Context, e tenancy.AuditEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	})))
	ctx := tenancy.CrossTenant(context.Background(), "list all projects")
	var ps []project
	mustNoErr(t, w.db.WithContext(ctx).Find(&ps).Error)
	if len(ps) != 2 {
		t.Fatalf("cross-tenant find: %d rows", len(ps))
	}
	mu.Lock()
	first := append([]tenancy.AuditEvent(nil), events...)
	mu.Unlock()
	if len(first) == 0 || first[0].Reason != "list all projects" || first[0].Table != "projects" || first[0].Op != tenancy.OpQuery {
		t.Fatalf("audit events %+v", first)
	}
	// Creates must name their tenant.
	wantErr(t, w.db.WithContext(ctx).Create(&project{ID: uuid.NewString()}).Error, tenancy.ErrNoTenant)
	mustNoErr(t, w.db.WithContext(ctx).Create(&project{ID: uuid.NewString(), Model: tenancy.Model{TenantID: w.b}}).Error)
	// An empty reason is no cross-tenant context.
	wantErr(t, w.db.WithContext(tenancy.CrossTenant(context.Background(), "")).Find(&ps).Error, tenancy.ErrNoTenant)
	// A tenant wins over the cross-tenant marker.
	mustNoErr(t, w.db.WithContext(tenancy.CrossTenant(w.ctxA, "ignored")).Find(&ps).Error)
	onlyA(t, w, ps)
	if _, ok := tenancy.CrossTenantReason(tenancy.CrossTenant(w.ctxA, "x")); ok {
		t.Fatal("CrossTenantReason reports a scoped context as cross-tenant")
	}
}

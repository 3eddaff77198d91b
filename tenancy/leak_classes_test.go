package tenancy_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glebarez/sqlite"
	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/tenancy"
)

// The leak classes of the second red-team review. Each case runs as tenant
// A against tenant B on every database of TestPluginIsolatesTenants
// (SQLite, PostgreSQL as superuser, as an application role, and with
// row-level security); after it, bUntouched checks B's project and tasks,
// and each case checks what else it could have reached.

// xctx is a cross-tenant context for the tests' own inspection.
var xctx = tenancy.CrossTenant(context.Background(), "test inspection")

// joinRows counts the project_tags rows of project id, as the platform
// sees them.
func joinRows(t *testing.T, w *world, projectID string) int64 {
	t.Helper()
	var n int64
	mustNoErr(t, w.db.WithContext(xctx).Table("project_tags").Where("project_id = ?", projectID).Count(&n).Error)
	return n
}

// bJoinIntact checks that B's project still has exactly its one tag, and
// that no join row links B's project and A's tag or A's project and B's
// tag.
func bJoinIntact(t *testing.T, w *world) {
	t.Helper()
	var rows []map[string]interface{}
	mustNoErr(t, w.db.WithContext(xctx).Table("project_tags").Where("project_id = ?", w.projB.ID).Find(&rows).Error)
	if len(rows) != 1 || rows[0]["tag_id"] != w.projB.Tags[0].ID {
		t.Fatalf("B's project_tags rows changed: %v", rows)
	}
	var n int64
	mustNoErr(t, w.db.WithContext(xctx).Table("project_tags").Where("project_id = ? AND tag_id = ?", w.projA.ID, w.projB.Tags[0].ID).Count(&n).Error)
	if n != 0 {
		t.Fatal("a join row links A's project to B's tag")
	}
}

// failedClosed reports whether err is one of the plugin's refusals.
func failedClosed(err error) bool {
	var se *tenancy.ScopeError
	return errors.As(err, &se)
}

func projectsOf(t *testing.T, w *world, tenant string) []project {
	t.Helper()
	var ps []project
	mustNoErr(t, w.db.WithContext(xctx).Where("tenant_id = ?", tenant).Find(&ps).Error)
	return ps
}

func aIntact(t *testing.T, w *world) {
	t.Helper()
	ps := projectsOf(t, w, w.a)
	if len(ps) != 1 || ps[0].Name != "project-A" {
		t.Fatalf("tenant A's projects changed: %+v", ps)
	}
}

func classCases() []leakCase {
	return []leakCase{
		// 1. Join rows of many-to-many relations carry no tenant_id: every
		// statement on them is confined to join rows whose owners are the
		// tenant's, and join rows are only written between the tenant's
		// rows.
		{"Class: many2many join rows of another tenant", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			tagA, tagB := w.projA.Tags[0], w.projB.Tags[0]
			steps := []struct {
				name string
				run  func() error
			}{
				{"Association.Clear", func() error { return db.Model(&project{ID: w.projB.ID}).Association("Tags").Clear() }},
				{"Association.Delete", func() error {
					return db.Model(&project{ID: w.projB.ID}).Association("Tags").Delete(&tag{ID: tagB.ID})
				}},
				{"Association.Replace", func() error {
					return db.Model(&project{ID: w.projB.ID}).Association("Tags").Replace(&tag{ID: tagA.ID})
				}},
				{"Association.Replace empty", func() error { return db.Model(&project{ID: w.projB.ID}).Association("Tags").Replace() }},
				{"Association.Append to B's project", func() error {
					return db.Model(&project{ID: w.projB.ID}).Association("Tags").Append(&tag{ID: tagA.ID})
				}},
				{"Association.Append B's tag", func() error {
					return db.Model(&project{ID: w.projA.ID}).Association("Tags").Append(&tag{ID: tagB.ID})
				}},
				{"Select(Tags).Delete", func() error { return db.Select("Tags").Delete(&project{ID: w.projB.ID}).Error }},
				{"Select(Associations).Delete", func() error {
					return db.Select(clause.Associations).Delete(&project{ID: w.projB.ID}).Error
				}},
				{"Table(join).Delete", func() error {
					return db.Table("project_tags").Where("1 = 1").Delete(&map[string]interface{}{}).Error
				}},
				{"Table(join).Update", func() error {
					return db.Table("project_tags").Where("project_id = ?", w.projB.ID).Update("tag_id", tagA.ID).Error
				}},
				{"Table(join).Create", func() error {
					return db.Table("project_tags").Create(map[string]interface{}{"project_id": w.projB.ID, "tag_id": tagA.ID}).Error
				}},
			}
			for _, s := range steps {
				err := s.run()
				if err != nil && !failedClosed(err) {
					t.Fatalf("%s: error %v is not the plugin's", s.name, err)
				}
				bJoinIntact(t, w)
			}
			// Reads of the join table see only the tenant's join rows.
			var rows []map[string]interface{}
			mustNoErr(t, db.Table("project_tags").Find(&rows).Error)
			for _, r := range rows {
				if r["project_id"] == w.projB.ID {
					t.Fatalf("join table read leaked %v", r)
				}
			}
			var tags []tag
			mustNoErr(t, db.Model(&project{ID: w.projB.ID}).Association("Tags").Find(&tags))
			if len(tags) != 0 {
				t.Fatalf("B's tags through the association: %+v", tags)
			}
			// A's own association work still works.
			newTag := tag{ID: uuid.NewString(), Label: "tag-A2"}
			mustNoErr(t, db.Model(&project{ID: w.projA.ID}).Association("Tags").Append(&newTag))
			if n := joinRows(t, w, w.projA.ID); n < 1 {
				t.Fatalf("A's append: %d join rows", n)
			}
			mustNoErr(t, db.Model(&project{ID: w.projA.ID}).Association("Tags").Clear())
			if n := joinRows(t, w, w.projA.ID); n != 0 {
				t.Fatalf("A's clear left %d join rows", n)
			}
			bJoinIntact(t, w)
			// Without a tenant, join tables of tenant-owned models fail.
			wantErr(t, w.db.Model(&project{ID: w.projB.ID}).Association("Tags").Clear(), tenancy.ErrNoTenant)
			wantErr(t, w.db.Table("project_tags").Find(&rows).Error, tenancy.ErrNoTenant)
		}, false},

		// 2. Identifier spellings: case, quotes, schema prefix and alias
		// resolve as the database resolves them, and an unknown table is
		// an error.
		{"Class: table spellings", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			schemaName := "public"
			if w.db.Dialector.Name() == "sqlite" {
				schemaName = "main"
			}
			spellings := []string{"PROJECTS p", "Projects AS p", "projects AS p", `"projects" p`, schemaName + ".projects p", "PROJECTS", "Projects", schemaName + ".PROJECTS AS p"}
			for _, sp := range spellings {
				var rows []map[string]interface{}
				err := db.Table(sp).Find(&rows).Error
				if err != nil {
					if !failedClosed(err) && !strings.Contains(strings.ToLower(err.Error()), "exist") && !strings.Contains(err.Error(), "no such table") {
						t.Fatalf("Table(%q): %v", sp, err)
					}
					continue
				}
				for _, r := range rows {
					if r["tenant_id"] != w.a {
						t.Fatalf("Table(%q) leaked %v", sp, r)
					}
				}
				var n int64
				if err := db.Table(sp).Count(&n).Error; err == nil && n != 1 {
					t.Fatalf("Table(%q).Count = %d", sp, n)
				}
				_ = db.Table(sp).Where("1 = 1").Update("name", "renamed").Error
				// Without a tenant, the same spelling is refused.
				wantErr(t, w.db.Table(sp).Find(&rows).Error, tenancy.ErrNoTenant)
				if !installedRLS(w.db) {
					var c int64
					if err := db.Table(sp).Select("count(*)").Row().Scan(&c); err == nil && c != 1 {
						t.Fatalf("Table(%q).Row count = %d", sp, c)
					}
				}
				_ = db.Table(sp).Where("1 = 1").Delete(&map[string]interface{}{}).Error
				bUntouched(t, w)
			}
			// The same spellings in a FROM clause.
			for _, name := range []string{"PROJECTS", "Projects", schemaName + ".projects"} {
				var rows []map[string]interface{}
				err := db.Table("settings").Clauses(clause.From{Tables: []clause.Table{{Name: name, Alias: "x"}}}).Select("x.*").Find(&rows).Error
				if err != nil {
					if !failedClosed(err) {
						t.Fatalf("FROM %q: %v", name, err)
					}
					continue
				}
				for _, r := range rows {
					if r["tenant_id"] != w.a {
						t.Fatalf("FROM %q leaked %v", name, r)
					}
				}
			}
			var rows []map[string]interface{}
			wantErr(t, db.Table("no_such_table").Find(&rows).Error, tenancy.ErrUnknownTable)
			wantErr(t, db.Table("NO_SUCH_TABLE t").Find(&rows).Error, tenancy.ErrUnknownTable)
		}, false},

		// 3. Insert and update modifiers that overwrite conflicting rows,
		// and clauses that redirect the statement to another table.
		{"Class: insert and update modifiers and targets", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			err := db.Clauses(clause.Insert{Modifier: "OR REPLACE"}).Create(&project{ID: w.projB.ID, Name: "hijacked"}).Error
			if err == nil {
				t.Fatal("INSERT OR REPLACE over B's id succeeded")
			}
			bUntouched(t, w)
			pa := project{ID: w.projA.ID}
			_ = db.Model(&pa).Clauses(clause.Update{Modifier: "OR REPLACE"}).Update("id", w.projB.ID).Error
			bUntouched(t, w)
			// OR IGNORE skips the conflicting row.
			err = db.Clauses(clause.Insert{Modifier: "OR IGNORE"}).Create(&project{ID: w.projB.ID, Name: "hijacked"}).Error
			if w.db.Dialector.Name() == "sqlite" {
				mustNoErr(t, err)
			}
			bUntouched(t, w)
			// An INSERT clause naming a tenant-owned table is scoped as
			// that table.
			id := uuid.NewString()
			err = db.Clauses(clause.Insert{Table: clause.Table{Name: "projects"}}).Create(&settingRow{ID: id, TenantID: w.b, Name: "planted"}).Error
			if err == nil {
				t.Fatal("insert into B through clause.Insert.Table succeeded")
			}
			if n := len(projectsOf(t, w, w.b)); n != 1 {
				t.Fatalf("tenant B has %d projects", n)
			}
			// An UPDATE clause naming a tenant-owned table.
			_ = db.Model(&setting{}).Clauses(clause.Update{Table: clause.Table{Name: "projects"}}).Where("1 = 1").Update("name", "x").Error
			// A DELETE whose FROM names a tenant-owned table.
			_ = db.Clauses(clause.From{Tables: []clause.Table{{Name: "projects"}}}).Where("1 = 1").Delete(&setting{}).Error
			bUntouched(t, w)
		}, false},

		// 4. Raw SQL in nested statements and raw FROM tables.
		{"Class: raw nested statements and raw tables", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			var rows []map[string]interface{}
			wantErr(t, db.Table("(?) AS t", w.db.Raw("SELECT * FROM projects")).Find(&rows).Error, tenancy.ErrRawSQL)
			wantErr(t, db.Table("(?) AS t", w.db.WithContext(w.ctxA).Raw("SELECT * FROM projects")).Find(&rows).Error, tenancy.ErrRawSQL)
			var ps []project
			wantErr(t, db.Where("EXISTS (?)", w.db.Raw("SELECT 1 FROM projects WHERE tenant_id = ?", w.b)).Find(&ps).Error, tenancy.ErrRawSQL)
			wantErr(t, db.Model(&project{}).Where("1 = 1").Update("name", w.db.Raw("SELECT name FROM projects WHERE tenant_id = ?", w.b)).Error, tenancy.ErrRawSQL)
			wantErr(t, db.Table("settings").Clauses(clause.From{Tables: []clause.Table{{Name: "projects", Raw: true}}}).Find(&rows).Error, tenancy.ErrRawSQL)
			wantErr(t, db.Table("settings").Clauses(clause.From{Joins: []clause.Join{{Expression: clause.Expr{SQL: "JOIN projects ON 1 = 1"}}}}).Find(&rows).Error, tenancy.ErrRawSQL)
			aIntact(t, w)
			// Opted in, the caller's raw subquery runs.
			mustNoErr(t, w.db.WithContext(tenancy.AllowRawSQL(w.ctxA)).Table("(?) AS t", w.db.Raw("SELECT * FROM projects WHERE tenant_id = ?", w.a)).Find(&rows).Error)
			if len(rows) != 1 {
				t.Fatalf("opted-in raw subquery: %v", rows)
			}
		}, false},

		// 5. Tables in UPDATE ... FROM and DELETE's FROM are scoped.
		{"Class: FROM on update and delete", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			from := clause.From{Tables: []clause.Table{{Name: "tasks", Alias: "t"}}}
			err := db.Model(&project{}).Clauses(from).Where("t.title LIKE ?", "%-B").Update("name", gorm.Expr("t.title")).Error
			if err != nil && !failedClosed(err) && w.db.Dialector.Name() != "sqlite" {
				t.Fatalf("update from: %v", err)
			}
			aIntact(t, w)
			from = clause.From{Tables: []clause.Table{{Name: "tasks"}}}
			_ = db.Model(&setting{}).Clauses(from).Where("1 = 1").Update("value", "x").Error
			_ = db.Clauses(clause.From{Tables: []clause.Table{{Name: "tasks"}}}).Where("1 = 1").Delete(&setting{}).Error
			if n := w.rawCount(t, "tasks", w.b); n != 2 {
				t.Fatalf("tenant B has %d tasks", n)
			}
		}, false},

		// 6. Column selection cannot leave tenant_id to the column's
		// default.
		{"Class: create column selection", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			creates := map[string]func(id string) error{
				"Omit(tenant_id)": func(id string) error { return db.Omit("tenant_id").Create(&gadget{ID: id, Name: "g"}).Error },
				"Omit(TenantID)":  func(id string) error { return db.Omit("TenantID").Create(&gadget{ID: id, Name: "g"}).Error },
				"Select(id, name)": func(id string) error {
					return db.Select("id", "name").Create(&gadget{ID: id, Name: "g"}).Error
				},
				"Select map": func(id string) error {
					return db.Model(&gadget{}).Select("id", "name").Create(map[string]interface{}{"id": id, "name": "g"}).Error
				},
				"Omit map": func(id string) error {
					return db.Model(&gadget{}).Omit("tenant_id").Create(map[string]interface{}{"id": id, "name": "g"}).Error
				},
				"Omit slice": func(id string) error {
					return db.Omit("tenant_id").Create([]gadget{{ID: id, Name: "g"}}).Error
				},
			}
			for name, create := range creates {
				id := uuid.NewString()
				err := create(id)
				var g []gadget
				mustNoErr(t, w.db.WithContext(xctx).Where("id = ?", id).Find(&g).Error)
				if err != nil {
					if len(g) != 0 {
						t.Fatalf("%s: failed but wrote %+v", name, g)
					}
					continue
				}
				if len(g) != 1 || g[0].TenantID != w.a {
					t.Fatalf("%s: created %+v, want tenant A's", name, g)
				}
			}
		}, false},

		// 7. Nested statements whose error is set fail the outer one.
		{"Class: nested statement errors", func(t *testing.T, w *world) {
			db := w.db.WithContext(w.ctxA)
			noCtx := w.db.Model(&task{}).Select("project_id")
			wantErr(t, db.Where("id NOT IN (?)", noCtx).Delete(&project{}).Error, tenancy.ErrNoTenant)
			aIntact(t, w)
			var ps []project
			wantErr(t, db.Where("id IN (?)", w.db.Model(&task{}).Select("project_id")).Find(&ps).Error, tenancy.ErrNoTenant)
			wantErr(t, db.Model(&project{}).Where("1 = 1").Update("score", w.db.Model(&task{}).Select("count(*)")).Error, tenancy.ErrNoTenant)
			var rows []map[string]interface{}
			wantErr(t, db.Table("(?) AS t", w.db.Model(&task{})).Find(&rows).Error, tenancy.ErrNoTenant)
			// Nested twice.
			inner := w.db.Model(&task{}).Select("project_id")
			outer := w.db.WithContext(w.ctxA).Model(&task{}).Select("project_id").Where("project_id IN (?)", inner)
			wantErr(t, db.Where("id NOT IN (?)", outer).Delete(&project{}).Error, tenancy.ErrNoTenant)
			aIntact(t, w)
			// Any error of a nested statement.
			boom := errors.New("boom")
			bad := w.db.WithContext(w.ctxA).Model(&task{}).Select("project_id")
			_ = bad.AddError(boom)
			wantErr(t, db.Where("id NOT IN (?)", bad).Delete(&project{}).Error, boom)
			aIntact(t, w)
			// Raw and Exec build their nested statements at once, where
			// the plugin cannot fail them: they render SQL that fails.
			rawCtx := tenancy.AllowRawSQL(w.ctxA)
			res := w.db.WithContext(rawCtx).Exec("DELETE FROM projects WHERE tenant_id = ? AND id NOT IN (?)", w.a, w.db.Model(&task{}).Select("project_id"))
			if res.Error == nil {
				t.Fatalf("Exec with a refused subquery ran (%d rows)", res.RowsAffected)
			}
			aIntact(t, w)
			if err := w.db.WithContext(rawCtx).Raw("SELECT * FROM projects WHERE tenant_id = ? AND id NOT IN (?)", w.a, w.db.Model(&task{}).Select("project_id")).Scan(&ps).Error; err == nil {
				t.Fatal("Raw with a refused subquery ran")
			}
			// A nested statement inside a caller's own expression type,
			// out of the plugin's sight, renders SQL that fails too.
			err := db.Where(hiddenSub{sub: w.db.Model(&task{}).Select("project_id")}).Delete(&project{}).Error
			if err == nil {
				t.Fatal("delete with a hidden refused subquery ran")
			}
			aIntact(t, w)
			// A scoped subquery still works.
			mustNoErr(t, db.Where("id IN (?)", w.db.WithContext(w.ctxA).Model(&task{}).Select("project_id")).Find(&ps).Error)
			onlyA(t, w, ps)
		}, false},
	}
}

// settingRow maps a platform table but has the columns of projects.
type settingRow struct {
	ID       string
	TenantID string
	Name     string
}

func (settingRow) TableName() string { return "settings" }

// TestJoinTableBeforeOwnerSeen checks that a join table is protected even
// when the first statement a fresh plugin sees is on the join table itself
// (Association.Delete goes straight to it).
func TestJoinTableBeforeOwnerSeen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "test.db")
	open := func() *gorm.DB {
		db, err := gorm.Open(sqlite.Open(path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)"), &gorm.Config{Logger: logger.Discard})
		mustNoErr(t, err)
		t.Cleanup(func() {
			if s, err := db.DB(); err == nil {
				_ = s.Close()
			}
		})
		return db
	}
	w := newWorld(t, openWithPlugin(t, func(testing.TB) *gorm.DB { return open() }))
	fresh := open()
	mustNoErr(t, fresh.Use(tenancy.NewPlugin(tenancy.WithAudit(func(context.Context, tenancy.AuditEvent) {}))))
	err := fresh.WithContext(w.ctxA).Model(&project{ID: w.projB.ID}).Association("Tags").Delete(&tag{ID: w.projB.Tags[0].ID})
	if err != nil && !failedClosed(err) {
		t.Fatal(err)
	}
	bJoinIntact(t, w)
}

// TestMoreClasses covers the remaining places and kinds: subqueries in raw
// joins, unknown tables in FROM, DELETE modifiers, cross-tenant work on
// join tables, and declared table spellings.
func TestMoreClasses(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, openWithPlugin(t, open))
			db := w.db.WithContext(w.ctxA)
			var ps []project
			// A raw join opted in still has its nested statements checked.
			err := w.db.WithContext(tenancy.AllowRawSQL(w.ctxA)).Joins("JOIN (?) t ON t.project_id = projects.id", w.db.Model(&task{}).Select("project_id")).Find(&ps).Error
			wantErr(t, err, tenancy.ErrNoTenant)
			// A nested statement in a relation join's conditions.
			err = db.Joins("Owner", w.db.Where("owner.id IN (?)", w.db.Model(&owner{}).Select("id"))).Find(&ps).Error
			wantErr(t, err, tenancy.ErrNoTenant)
			// Unknown tables in FROM and joins of FROM.
			var rows []map[string]interface{}
			wantErr(t, db.Table("settings").Clauses(clause.From{Tables: []clause.Table{{Name: "settings"}, {Name: "nope"}}}).Find(&rows).Error, tenancy.ErrUnknownTable)
			wantErr(t, db.Table("settings").Clauses(clause.From{Joins: []clause.Join{{Table: clause.Table{Name: "nope"}}}}).Find(&rows).Error, tenancy.ErrUnknownTable)
			// Without a tenant, an unknown table is the database's error.
			if err := w.db.Table("nope").Find(&rows).Error; err == nil || errors.Is(err, tenancy.ErrUnknownTable) {
				t.Fatalf("unknown table without a tenant: %v", err)
			}
			// A DELETE modifier is raw SQL.
			wantErr(t, db.Clauses(clause.Delete{Modifier: "IGNORE"}).Where("1 = 1").Delete(&task{}).Error, tenancy.ErrRawSQL)
			// ON CONFLICT DO UPDATE on a join table is refused.
			err = db.Table("project_tags").Clauses(clause.OnConflict{UpdateAll: true}).Create(map[string]interface{}{"project_id": w.projA.ID, "tag_id": w.projA.Tags[0].ID}).Error
			wantErr(t, err, tenancy.ErrForeignTenant)
			// Cross-tenant work on join tables is audited, not scoped.
			var n int64
			mustNoErr(t, w.db.WithContext(xctx).Table("project_tags").Count(&n).Error)
			if n != 2 {
				t.Fatalf("cross-tenant join rows = %d", n)
			}
			// A join table in a FROM clause is scoped.
			mustNoErr(t, db.Table("settings").Clauses(clause.From{Tables: []clause.Table{{Name: "project_tags", Alias: "pt"}}}).Select("pt.project_id").Find(&rows).Error)
			if len(rows) != 1 || rows[0]["project_id"] != w.projA.ID {
				t.Fatalf("join table in FROM: %v", rows)
			}
			// A's own Replace and Preload of many-to-many still work.
			newTag := tag{ID: uuid.NewString(), Label: "tag-A3"}
			mustNoErr(t, db.Model(&project{ID: w.projA.ID}).Association("Tags").Replace(&newTag))
			var p project
			mustNoErr(t, db.Preload("Tags").First(&p, "id = ?", w.projA.ID).Error)
			if len(p.Tags) != 1 || p.Tags[0].ID != newTag.ID {
				t.Fatalf("after Replace: %+v", p.Tags)
			}
			bUntouched(t, w)
			bJoinIntact(t, w)
		})
	}
}

// hiddenSub is a caller's expression that keeps a subquery where the
// plugin's walk cannot see it (an unexported field).
type hiddenSub struct{ sub *gorm.DB }

func (h hiddenSub) Build(b clause.Builder) {
	b.WriteString("id NOT IN (")
	b.AddVar(b, h.sub)
	b.WriteString(")")
}

// Composite keys on a many-to-many relation.
type kit struct {
	Org string `gorm:"primaryKey;type:varchar(36)"`
	Num int    `gorm:"primaryKey;autoIncrement:false"`
	tenancy.Model
	Parts []part `gorm:"many2many:kit_parts"`
}

type part struct {
	ID string `gorm:"primaryKey;type:varchar(36)"`
	tenancy.Model
}

// TestCompositeJoinKeys checks join rows whose owner has a composite key:
// each distinct key is checked (keys whose parts concatenate alike
// included), and another tenant's join rows are out of reach.
func TestCompositeJoinKeys(t *testing.T) {
	t.Parallel()
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := openWithPlugin(t, open)
			mustNoErr(t, db.AutoMigrate(&kit{}, &part{}))
			a, b := uuid.NewString(), uuid.NewString()
			ctxA, ctxB := tenancy.WithTenant(context.Background(), a), tenancy.WithTenant(context.Background(), b)
			// A owns kit ("x1", 2); B owns kit ("x", 12).
			mustNoErr(t, db.WithContext(ctxA).Create(&kit{Org: "x1", Num: 2, Parts: []part{{ID: uuid.NewString()}}}).Error)
			mustNoErr(t, db.WithContext(ctxB).Create(&kit{Org: "x", Num: 12, Parts: []part{{ID: uuid.NewString()}}}).Error)
			var pa []part
			mustNoErr(t, db.WithContext(ctxA).Find(&pa).Error)
			// Linking A's part to both kits at once must fail: B's kit is
			// not A's, even though its key concatenates like A's.
			rows := []map[string]interface{}{
				{"kit_org": "x1", "kit_num": 2, "part_id": pa[0].ID},
				{"kit_org": "x", "kit_num": 12, "part_id": pa[0].ID},
			}
			wantErr(t, db.WithContext(ctxA).Table("kit_parts").Create(rows).Error, tenancy.ErrForeignTenant)
			mustNoErr(t, db.WithContext(ctxA).Model(&kit{Org: "x", Num: 12}).Association("Parts").Clear())
			var n int64
			mustNoErr(t, db.WithContext(xctx).Table("kit_parts").Where("kit_org = ?", "x").Count(&n).Error)
			if n != 1 {
				t.Fatalf("B's kit_parts rows: %d", n)
			}
			var got []part
			mustNoErr(t, db.WithContext(ctxA).Model(&kit{Org: "x1", Num: 2}).Association("Parts").Find(&got))
			if len(got) != 1 {
				t.Fatalf("A's parts: %+v", got)
			}
		})
	}
}

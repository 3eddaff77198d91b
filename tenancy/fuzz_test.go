package tenancy

import (
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// FuzzBaseTable checks the reading of db.Table expressions: it never
// panics, and whenever it names a table (and so decides scoping by that
// name) the name is taken from the expression, and an expression listing
// several tables is raw.
func FuzzBaseTable(f *testing.F) {
	for _, s := range []string{"projects", `"public"."projects"`, "projects p", "projects AS p", "`projects`",
		"(?) AS sub", "projects p, users u", "(SELECT 1) x", "projects WHERE 1=1", " projects ", "a.b.c",
		"PROJECTS p", `"Projects" AS "P"`, `"a""b"`, "[x] y", "projects AS", "projects JOIN x"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, expr string, withVar bool) {
		for _, dialect := range []string{"postgres", "sqlite"} {
			p := &Plugin{dialect: dialect}
			st := &gorm.Statement{TableExpr: &clause.Expr{SQL: expr}}
			if withVar {
				st.TableExpr.Vars = []interface{}{&gorm.DB{}}
			}
			tg := p.targetOf(st, OpQuery)
			named := !tg.raw && !tg.none
			if tg.raw && tg.name.name != "" {
				t.Fatalf("raw expression %q also named table %q", expr, tg.name.name)
			}
			if !named {
				continue
			}
			// The name as written: as is, or with the quote character
			// doubled inside a quoted identifier ("a""b", `a``b`).
			lower := strings.ToLower(expr)
			spelled := func(name string) bool { return strings.Contains(lower, strings.ToLower(name)) }
			if tg.name.name == "" || !spelled(tg.name.name) && !spelled(strings.ReplaceAll(tg.name.name, `"`, `""`)) && !spelled(strings.ReplaceAll(tg.name.name, "`", "``")) {
				t.Fatalf("expression %q read as table %q", expr, tg.name.name)
			}
			if !strings.ContainsAny(expr, "\"`[") && strings.ContainsAny(expr, ",()") {
				t.Fatalf("expression %q read as one table %q", expr, tg.name.name)
			}
			if dialect == "postgres" && !strings.ContainsAny(expr, "\"`[") && tg.name.name != strings.ToLower(tg.name.name) {
				t.Fatalf("unquoted %q not folded: %q", expr, tg.name.name)
			}
		}
	})
}

// FuzzValidate checks the validation of slugs and usernames, which come
// from HTTP requests: no panics, and accepted values have the documented
// shape.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"acme", "a", "-a", "a-", "Acme", "ada.lovelace@x", "", strings.Repeat("a", 64), "a\x00b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateSlug(s) == nil {
			if len(s) < 1 || len(s) > 63 || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.ToLower(s) != s {
				t.Fatalf("accepted slug %q", s)
			}
			for _, r := range s {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
					t.Fatalf("accepted slug %q", s)
				}
			}
		}
		if ValidateUsername(s) == nil {
			if len(s) < 1 || len(s) > 64 || strings.ContainsAny(s, " \t\n\x00'\"") {
				t.Fatalf("accepted username %q", s)
			}
		}
		_ = validateEmail(s)
		_ = validateName(s)
	})
}

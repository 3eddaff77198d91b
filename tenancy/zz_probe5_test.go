package tenancy_test

import (
	"testing"

	"github.com/maestro-ml/maestro/internal/testenv"
)

func TestZZProbe5(t *testing.T) {
	for name, open := range testenv.Databases(t) {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, openWithPlugin(t, open))
			reads := map[string]func(out *[]map[string]interface{}) error{
				"alias":         func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table("projects p").Find(o).Error },
				"as alias":      func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table("projects AS p").Where("p.score = 7").Find(o).Error },
				"quoted":        func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table(`"projects"`).Find(o).Error },
				"schema":        func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table("main.projects").Find(o).Error },
				"pgschema":      func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table("public.projects").Find(o).Error },
				"model+table":   func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Model(&setting{}).Table("projects").Find(o).Error },
				"upper table":   func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table("PROJECTS").Find(o).Error },
				"subq from":     func(o *[]map[string]interface{}) error { return w.db.WithContext(w.ctxA).Table("(?) AS t", w.db.WithContext(w.ctxA).Model(&project{})).Find(o).Error },
			}
			for n, f := range reads {
				var out []map[string]interface{}
				err := f(&out)
				leak := false
				for _, r := range out {
					if r["tenant_id"] == w.b {
						leak = true
					}
				}
				t.Logf("%s: err=%v rows=%d LEAK=%v", n, err, len(out), leak)
			}
		})
	}
}

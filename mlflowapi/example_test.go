package mlflowapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/mlflowapi"
	"github.com/maestro-ml/maestro/registry"
	"github.com/maestro-ml/maestro/tenancy"
)

// A host mounts the Handler behind its authentication; here a fixed
// principal stands in for auth.Middleware (see Authenticate).
func Example() {
	dir, _ := os.MkdirTemp("", "mlflowapi-example")
	defer os.RemoveAll(dir)
	db, _ := gorm.Open(sqlite.Open(filepath.Join(dir, "m.db")+"?_pragma=foreign_keys(1)"), &gorm.Config{Logger: logger.Discard})
	_ = db.Use(tenancy.NewPlugin())
	_ = registry.Migrate(context.Background(), db)
	reg, _ := registry.New(db)
	h, err := mlflowapi.New(reg)
	if err != nil {
		panic(err)
	}
	member := auth.Principal{UserID: "ann", TenantID: "acme", Role: auth.RoleMember}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), member)))
	}))
	defer srv.Close()

	call := func(path, body string) string {
		resp, err := http.Post(srv.URL+mlflowapi.APIPrefix+path, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	fmt.Println(call("experiments/create", `{"name": "churn"}`)[:3])
	fmt.Println(call("experiments/create", `{"name": "churn"}`))
	fmt.Println(call("runs/get", `{}`))
	// Output:
	// 200
	// 400 {"error_code":"RESOURCE_ALREADY_EXISTS","message":"Experiment(name=churn) already exists."}
	// 405 {"error_code":"BAD_REQUEST","message":"method POST is not allowed for runs/get"}
}

package platform_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/maestro-ml/maestro/platform"
)

// A host mounts the platform under its own mux, here under /maestro/ beside
// a route of its own. The zero Config serves on a SQLite file in Home.
func Example() {
	home, err := os.MkdirTemp("", "maestro-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(home)

	ctx := context.Background()
	srv, err := platform.New(ctx, platform.Config{Home: home})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("/maestro/", http.StripPrefix("/maestro", srv.Handler()))
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "host route") })
	hs := httptest.NewServer(mux)
	defer hs.Close()

	for _, path := range []string{"/maestro/health/live", "/maestro/api/v1/auth/me", "/hello"} {
		res, err := http.Get(hs.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(path, res.StatusCode, res.Header.Get("Content-Type"), len(body) > 0)
	}
	// Output:
	// /maestro/health/live 200 application/json true
	// /maestro/api/v1/auth/me 401 application/problem+json true
	// /hello 200 text/plain; charset=utf-8 true
}

// Routes lists every route with its access rule; here the platform
// operations that only a superadmin may call.
func ExampleRoutes() {
	for _, r := range platform.Routes() {
		if r.Access == platform.Superadmin {
			fmt.Println(r.Pattern, "—", r.Summary)
		}
	}
	// Output:
	// DELETE /api/v1/tenants/{id} — Delete a tenant with all its data and blobs.
	// PATCH /api/v1/tenants/{id} — Rename a tenant or change its slug.
	// POST /api/v1/tenants — Create a tenant.
	// PUT /api/v1/tenants/{id}/quota — Set the tenant's limits (0 means unlimited).
}

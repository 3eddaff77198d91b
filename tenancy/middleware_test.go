package tenancy_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/tenancy"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	var seen string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := tenancy.TenantFrom(r.Context())
		if !ok {
			t.Error("handler ran without a tenant")
		}
		seen = id
		w.WriteHeader(http.StatusNoContent)
	})
	cases := []struct {
		name      string
		principal *auth.Principal
		header    string
		want      int
		wantSeen  string
	}{
		{"principal with tenant", &auth.Principal{UserID: "u", TenantID: "t1", Role: auth.RoleMember}, "", http.StatusNoContent, "t1"},
		{"header ignored", &auth.Principal{UserID: "u", TenantID: "t1", Role: auth.RoleMember}, "t2", http.StatusNoContent, "t1"},
		{"no principal", nil, "t2", http.StatusUnauthorized, ""},
		{"principal without tenant", &auth.Principal{UserID: "u", Superadmin: true}, "", http.StatusForbidden, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen = ""
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tc.header != "" {
				r.Header.Set("X-Tenant-ID", tc.header)
			}
			if tc.principal != nil {
				r = r.WithContext(auth.WithPrincipal(r.Context(), *tc.principal))
			}
			w := httptest.NewRecorder()
			tenancy.Middleware(next).ServeHTTP(w, r)
			if w.Code != tc.want || seen != tc.wantSeen {
				t.Fatalf("status %d, tenant %q; want %d, %q", w.Code, seen, tc.want, tc.wantSeen)
			}
			if tc.want >= 400 {
				if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q", ct)
				}
				var body map[string]any
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["status"] != float64(tc.want) {
					t.Fatalf("body %s (%v)", w.Body.String(), err)
				}
			}
			if tc.want == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Fatal("401 without WWW-Authenticate: Bearer")
			}
		})
	}
	t.Run("custom responder", func(t *testing.T) {
		var status int
		h := tenancy.Middleware(next, tenancy.WithErrorResponder(func(w http.ResponseWriter, _ *http.Request, s int) {
			status = s
			w.WriteHeader(http.StatusTeapot)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
		if status != http.StatusUnauthorized || w.Code != http.StatusTeapot {
			t.Fatalf("responder saw %d, wrote %d", status, w.Code)
		}
	})
}

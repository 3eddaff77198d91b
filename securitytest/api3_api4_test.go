package securitytest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testMassAssignment sends writes with fields a client must not set:
// they are refused (the server refuses unknown fields with 422) and
// nothing is stored.
func testMassAssignment(t *testing.T, w *world) {
	a, b := w.a, w.b
	project := func() map[string]any {
		return map[string]any{"name": "mass " + randHex(3), "problem_class": "other", "complexity_score": 1, "team_size": 1}
	}
	artifact := func() map[string]any {
		return map[string]any{"name": "mass " + randHex(3), "type": "other", "version": "1"}
	}
	type extra struct {
		field string
		value any
	}
	smuggled := []extra{
		{"tenant_id", b.id}, {"TenantID", b.id}, {"id", "00000000-0000-0000-0000-000000000001"},
		{"success_score", 100}, {"created_at", "2000-01-01T00:00:00Z"}, {"updated_at", "2000-01-01T00:00:00Z"},
		{"status", "completed"}, {"owner_id", a.admin.id}, {"user_id", a.admin.id}, {"completed_at", "2000-01-01T00:00:00Z"},
	}
	check := func(t *testing.T, u *user, method, path string, base func() map[string]any, fields []extra) {
		for _, f := range fields {
			body := base()
			if _, clash := body[f.field]; clash {
				continue
			}
			body[f.field] = f.value
			r := w.do(t, u, method, path, body)
			if r.status < 400 {
				t.Errorf("%s %s with %q=%v: %d, want 422: %.300s", method, path, f.field, f.value, r.status, r.body)
			}
		}
	}
	t.Run("project create", func(t *testing.T) {
		check(t, a.member, "POST", "/api/v1/projects", project, smuggled)
	})
	t.Run("project patch", func(t *testing.T) {
		fields := append(smuggled[:0:0], smuggled...)
		fields = append(fields, extra{"model_performance", 1}, extra{"business_impact", 1e9})
		check(t, a.member, "PATCH", "/api/v1/projects/"+a.project, func() map[string]any { return map[string]any{} }, fields)
		r := w.do(t, a.member, "PATCH", "/api/v1/projects/"+a.project, map[string]any{"status": "completed"})
		if r.status < 400 {
			t.Errorf("PATCH status=completed: %d: a project may only be completed by its outcome", r.status)
		}
	})
	t.Run("outcome", func(t *testing.T) {
		check(t, a.member, "PUT", "/api/v1/projects/"+a.project+"/outcome", func() map[string]any {
			return map[string]any{"model_performance": 0.5, "business_impact": 1, "deployment_days": 1, "compute_cost": 1}
		}, []extra{{"success_score", 100}, {"tenant_id", b.id}, {"status", "completed"}})
	})
	t.Run("artifact", func(t *testing.T) {
		check(t, a.member, "POST", "/api/v1/artifacts", artifact, []extra{
			{"tenant_id", b.id}, {"id", "00000000-0000-0000-0000-000000000002"}, {"usage_count", 1000},
			{"avg_impact_score", 100}, {"content_sha256", strings.Repeat("0", 64)}, {"size_bytes", 1}, {"content_key", "../../etc/passwd"},
		})
	})
	t.Run("model and run", func(t *testing.T) {
		check(t, a.member, "POST", "/api/v1/models", func() map[string]any { return map[string]any{"name": "mass-" + randHex(3)} },
			[]extra{{"latest_version", 99}, {"tenant_id", b.id}, {"id", "x"}})
		check(t, a.member, "POST", "/api/v1/experiments/"+a.experiment+"/runs", func() map[string]any { return map[string]any{"name": "r"} },
			[]extra{{"status", "finished"}, {"experiment_id", b.experiment}, {"tenant_id", b.id}})
	})
	t.Run("members and roles", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"username": "mass" + randHex(4), "password": strongPassword(), "role": "superadmin"},
			{"username": "mass" + randHex(4), "password": strongPassword(), "role": "owner"},
			{"username": "mass" + randHex(4), "password": strongPassword(), "role": "admin", "is_superadmin": true},
			{"username": "mass" + randHex(4), "password": strongPassword(), "role": "viewer", "tenant_id": b.id},
			{"username": "admin", "role": "viewer", "password": strongPassword()}, // an existing user's password cannot be set
		} {
			r := w.do(t, a.admin, "POST", "/api/v1/tenants/"+a.id+"/members", body)
			if r.status < 400 {
				t.Errorf("add member %v: %d, want 4xx: %.200s", body, r.status, r.body)
			}
		}
		r := w.do(t, a.admin, "PATCH", "/api/v1/tenants/"+a.id+"/members/"+a.member.id, map[string]any{"role": "superadmin"})
		if r.status < 400 {
			t.Errorf("role superadmin through PATCH member: %d", r.status)
		}
		r = w.do(t, a.admin, "PATCH", "/api/v1/tenants/"+a.id, map[string]any{"name": "x", "id": b.id})
		if r.status < 400 {
			t.Errorf("tenant admin patches tenant: %d", r.status)
		}
	})
	t.Run("api key role above the caller's", func(t *testing.T) {
		for _, c := range []struct {
			u    *user
			role string
		}{{a.member, "admin"}, {a.viewer, "member"}, {a.viewer, "admin"}, {a.admin, "superadmin"}} {
			r := w.do(t, c.u, "POST", "/api/v1/auth/api-keys", map[string]any{"name": "esc", "role": c.role, "current_password": c.u.password})
			if r.status < 400 {
				t.Errorf("%s creates a %s key: %d", c.u.role, c.role, r.status)
				if r.status == http.StatusCreated {
					w.p.scan.forbidValue("an API key", r.str(t, "key"))
				}
			}
		}
		r := w.do(t, a.member, "POST", "/api/v1/auth/api-keys", map[string]any{"name": "esc", "key": "mst_chosen", "user_id": a.admin.id, "current_password": a.member.password})
		if r.status < 400 {
			t.Errorf("API key with a chosen key/user: %d", r.status)
		}
		r = w.do(t, a.member, "POST", "/api/v1/auth/api-keys", map[string]any{"name": "long", "expires_in_days": 100000, "current_password": a.member.password})
		if r.status < 400 {
			t.Errorf("API key valid for 100000 days: %d", r.status)
		}
	})
	t.Run("login", func(t *testing.T) {
		r := w.p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: w.p.newClient(randomLoopback()),
			body: map[string]any{"username": a.viewer.name, "password": a.viewer.password, "role": "admin"}})
		if r.status == http.StatusOK {
			t.Errorf("login with an extra role field answered 200")
			w.p.scan.forbidValue("an access token", r.str(t, "access_token"))
			w.p.scan.forbidValue("a refresh token", r.str(t, "refresh_token"))
		}
	})
	// A viewer's profile shows no one else and nothing secret (the
	// scanner checks every body for hashes and secrets).
	t.Run("profile", func(t *testing.T) {
		r := w.do(t, a.viewer, "GET", "/api/v1/auth/me", nil)
		mustStatus(t, r, http.StatusOK, "me")
		m := r.json(t)
		if m["role"] != "viewer" {
			t.Errorf("me: role %v", m["role"])
		}
	})
}

// testResourceLimits checks the body, batch and page limits.
func testResourceLimits(t *testing.T, w *world) {
	a := w.a
	m := a.member
	t.Run("body size", func(t *testing.T) {
		big := fmt.Sprintf(`{"name":"big","problem_class":"other","complexity_score":1,"team_size":1,"description":%q}`,
			strings.Repeat("x", 2<<20))
		rq := as(m)
		rq.method, rq.path, rq.body = "POST", "/api/v1/projects", []byte(big)
		rq.contentType = "application/json"
		r := w.p.do(t, rq)
		want(t, r, http.StatusRequestEntityTooLarge, "2 MiB JSON body")
		deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
		rq.body = []byte(deep)
		r = w.p.do(t, rq)
		if r.status != http.StatusBadRequest && r.status != http.StatusRequestEntityTooLarge && r.status != http.StatusUnprocessableEntity {
			t.Errorf("deeply nested JSON: %d", r.status)
		}
	})
	t.Run("long password", func(t *testing.T) {
		// A password far beyond any policy must be refused before it is
		// hashed, not cost the server a long hash.
		start := time.Now()
		r := w.p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: w.p.newClient(randomLoopback()),
			body: map[string]any{"username": "long" + randHex(4), "password": strings.Repeat("p", 512<<10)}})
		if r.status < 400 || r.status >= 500 {
			t.Errorf("login with a 512 KiB password: %d", r.status)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("login with a 512 KiB password took %v", d)
		}
	})
	t.Run("batch size", func(t *testing.T) {
		points := make([]map[string]any, 10001)
		for i := range points {
			points[i] = map[string]any{"key": "loss", "value": 1, "step": i}
		}
		want(t, w.do(t, m, "POST", "/api/v1/runs/"+a.run+"/metrics", points), http.StatusRequestEntityTooLarge, "10,001 metric points")
		pm := make([]map[string]any, 10001)
		for i := range pm {
			pm[i] = map[string]any{"metric_type": "velocity", "value": 1}
		}
		want(t, w.do(t, m, "POST", "/api/v1/projects/"+a.project+"/process-metrics", pm), http.StatusRequestEntityTooLarge, "10,001 process metrics")
		r := w.do(t, m, "GET", "/api/v1/runs/"+a.run+"/metrics/loss", nil)
		if r.status == http.StatusOK && strings.Count(string(r.body), `"step"`) != 1 {
			t.Errorf("a refused batch stored points: %.300s", r.body)
		}
		r = w.do(t, m, "POST", "/api/v1/recommendations", map[string]any{"problem_class": "other", "complexity_score": 1,
			"team_size": 1, "team": make([]map[string]any, 1001)})
		if r.status < 400 || r.status >= 500 {
			t.Errorf("recommendation with 1,001 team members: %d", r.status)
		}
	})
	t.Run("page size", func(t *testing.T) {
		for _, path := range []string{"/api/v1/projects", "/api/v1/artifacts", "/api/v1/models", "/api/v1/auth/api-keys",
			"/api/v1/experiments/" + a.experiment + "/runs", "/api/v1/tenants/" + a.id + "/members"} {
			u := m
			if strings.Contains(path, "/members") {
				u = a.admin
			}
			var ignored []string
			for _, l := range []string{"1001", "0", "-1", "abc", "1e3", "99999999999999999999", "1000000"} {
				r := w.do(t, u, "GET", path+"?limit="+url.QueryEscape(l), nil)
				if path == "/api/v1/auth/api-keys" && r.status == http.StatusOK {
					ignored = append(ignored, l)
					continue
				}
				want(t, r, http.StatusBadRequest, path+"?limit="+l)
			}
			openFinding(t, "F-2", len(ignored) > 0,
				"GET %s ignores ?limit= (%s answered 200 with every item in one page)", path, strings.Join(ignored, ", "))
			want(t, w.do(t, u, "GET", path+"?limit=1000", nil), http.StatusOK, path+"?limit=1000")
		}
		for _, mp := range []string{"100001", "1", "0", "-5", "x"} {
			r := w.do(t, m, "GET", "/api/v1/runs/"+a.run+"/metrics/loss?max_points="+mp, nil)
			if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Errorf("max_points=%s: %d, want 400", mp, r.status)
			}
		}
		for _, path := range []string{"/api/v1/projects/" + a.project + "/similar?limit=100000", "/api/v1/artifacts/top?limit=100000"} {
			r := w.do(t, m, "GET", path, nil)
			if r.status == http.StatusOK {
				if n := strings.Count(string(r.body), `"id"`) + strings.Count(string(r.body), `"project_id"`); n > 1000 {
					t.Errorf("%s answered %d items", path, n)
				}
			} else if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d", path, r.status)
			}
		}
		r := w.do(t, m, "POST", "/api/v1/specs/similar", map[string]any{"text": "churn", "limit": 1000000})
		if r.status != http.StatusOK && r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Errorf("specs/similar limit=1e6: %d", r.status)
		}
	})
	t.Run("headers too large", func(t *testing.T) {
		// HTTP/1.1 only, so that the server's MaxHeaderBytes applies as such.
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: w.p.roots, ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}},
			TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		}}
		hr, _ := http.NewRequest("GET", w.p.base+"/health/live", nil)
		hr.Header.Set("X-Big", strings.Repeat("a", 200<<10))
		resp, err := c.Do(hr)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("200 KiB of headers: %d, want 431", resp.StatusCode)
			}
		}
	})
}

// testSlowClient opens a TLS connection, sends part of a request's headers
// and stops: the server must close the connection once its header timeout
// (5 s) has passed, not hold it for ever.
func testSlowClient(t *testing.T, w *world) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", w.p.addr, &tls.Config{RootCAs: w.p.roots, ServerName: "127.0.0.1",
		NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	// Trickle a byte a second, as a slow-loris client does.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()
	br := bufio.NewReader(conn)
	_, err = br.ReadByte()
	for err == nil {
		_, err = br.ReadByte()
	}
	elapsed := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a slow client's connection open for %v", elapsed)
	}
	t.Logf("slow client cut off after %v (%v)", elapsed.Round(100*time.Millisecond), err)
	if elapsed > 10*time.Second {
		t.Errorf("slow client cut off after %v, want about the 5 s header timeout", elapsed)
	}
}

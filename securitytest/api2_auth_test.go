package securitytest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/maestro-ml/maestro/client"
)

// decodeJWT returns the header and claims of a JWT without verifying it.
func decodeJWT(t testing.TB, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
	}
	return header, claims
}

// forge re-signs token's claims after mutate with method and key; key nil
// with method none makes an unsigned token.
func forge(t testing.TB, token string, method jwt.SigningMethod, key any, mutate func(h, c map[string]any)) string {
	t.Helper()
	h, c := decodeJWT(t, token)
	if mutate != nil {
		mutate(h, c)
	}
	tok := jwt.NewWithClaims(method, jwt.MapClaims(c))
	for k, v := range h {
		if k != "alg" {
			tok.Header[k] = v
		}
	}
	if method == jwt.SigningMethodNone {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign forged token: %v", err)
	}
	return s
}

func testAuthentication(t *testing.T, w *world) {
	p, a, b := w.p, w.a, w.b
	viewer := a.viewer
	secret := p.jwtSecret
	now := time.Now().Unix()
	hs := jwt.SigningMethodHS256
	me := func(t *testing.T, token string) response {
		return p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: token, owner: a.slug})
	}

	// The control: the suite's forging re-creates a token the server
	// accepts, so every refusal below is due to the one change made.
	control := forge(t, viewer.access, hs, secret, nil)
	if r := me(t, control); r.status != http.StatusOK {
		t.Fatalf("a token re-signed unchanged with the server's key is refused (%d): the forging is broken", r.status)
	}

	cases := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"three dots", "a.b.c"},
		{"signature stripped", strings.Join(strings.Split(viewer.access, ".")[:2], ".") + "."},
		{"wrong key", forge(t, viewer.access, hs, []byte(strings.Repeat("k", 32)), nil)},
		{"alg none", forge(t, viewer.access, jwt.SigningMethodNone, nil, nil)},
		{"alg none, no kid", forge(t, viewer.access, jwt.SigningMethodNone, nil, func(h, _ map[string]any) { delete(h, "kid") })},
		{"HS512 with the right secret", forge(t, viewer.access, jwt.SigningMethodHS512, secret, nil)},
		{"HS384 with the right secret", forge(t, viewer.access, jwt.SigningMethodHS384, secret, nil)},
		{"unknown kid", forge(t, viewer.access, hs, secret, func(h, _ map[string]any) { h["kid"] = "other" })},
		{"kid path traversal", forge(t, viewer.access, hs, secret, func(h, _ map[string]any) { h["kid"] = "../../../../dev/null" })},
		{"no kid", forge(t, viewer.access, hs, secret, func(h, _ map[string]any) { delete(h, "kid") })},
		{"jku header", forge(t, viewer.access, hs, []byte("x"), func(h, _ map[string]any) { h["jku"] = "https://evil.example/jwks" })},
		{"expired", forge(t, viewer.access, hs, secret, func(_, c map[string]any) {
			c["exp"], c["iat"], c["nbf"] = now-3600, now-7200, now-7200
		})},
		{"no exp", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { delete(c, "exp") })},
		{"not yet valid", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["nbf"] = now + 3600 })},
		{"issued in the future", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["iat"] = now + 3600 })},
		{"wrong issuer", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["iss"] = "evil" })},
		{"wrong audience", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["aud"] = []string{"other"} })},
		{"refresh typ claim", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["typ"] = "refresh" })},
		{"refresh typ header", forge(t, viewer.access, hs, secret, func(h, _ map[string]any) { h["typ"] = "rt+jwt" })},
		{"refresh token as access token", viewer.refresh},
		{"unknown session", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["sid"] = uuid.NewString() })},
		{"no session", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { delete(c, "sid") })},
		{"role escalated to admin (real key)", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["role"] = "admin" })},
		{"superadmin flag added (real key)", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["sa"] = true })},
		{"tenant switched to B (real key)", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["tid"] = b.id })},
		{"unknown user (real key)", forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["sub"] = uuid.NewString() })},
		{"payload tampered, signature kept", tamper(t, viewer.access)},
		{"oversized", "eyJ" + strings.Repeat("A", 8000)},
		{"API key look-alike", "mst_" + strings.Repeat("A", 40)},
		{"API key of tenant A with a flipped character", flip(a.apiKey)},
	}
	// Every refused credential gets the same answer: no oracle tells an
	// expired token from a forged one or a revoked key.
	reference := me(t, "not-a-token").body
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := me(t, c.token)
			want(t, r, http.StatusUnauthorized, c.name)
			if c.token != "" && len(c.token) < 4096 && r.status == http.StatusUnauthorized && !bytes.Equal(r.body, reference) {
				t.Errorf("%s: 401 body differs from that of a garbage token:\n%s\n%s", c.name, r.body, reference)
			}
		})
	}

	// Escalated tokens must not reach the functions they claim either.
	escalated := forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["role"] = "admin" })
	if r := p.do(t, req{method: "POST", path: "/api/v1/tenants/" + a.id + "/members", token: escalated,
		body: map[string]any{"username": "esc" + randHex(4), "password": strongPassword(), "role": "admin"}}); r.status < 400 {
		t.Errorf("a viewer token re-signed as admin added a member: %d", r.status)
	}
	sa := forge(t, viewer.access, hs, secret, func(_, c map[string]any) { c["sa"] = true })
	if r := p.do(t, req{method: "GET", path: "/api/v1/tenants", token: sa, owner: a.slug}); r.status < 400 {
		t.Errorf("a viewer token re-signed as superadmin listed tenants: %d", r.status)
	}

	// A session belongs to one user: a token naming another user in the
	// same session (forged with the real key, the attacker's own sid) is
	// refused. Defence in depth: it matters only once the key is known.
	t.Run("session bound to its user", func(t *testing.T) {
		other := forge(t, viewer.access, hs, secret, func(_, c map[string]any) {
			c["sub"], c["tid"], c["role"] = b.admin.id, b.id, "admin"
		})
		r := p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: other})
		openFinding(t, "F-1", r.status == http.StatusOK,
			"an access token naming B's admin inside A's viewer's session is accepted: VerifyAccess does not check that the session belongs to the token's subject")
	})

	// Credentials only in the Authorization header.
	t.Run("credentials elsewhere are ignored", func(t *testing.T) {
		for _, rq := range []req{
			{method: "GET", path: "/api/v1/auth/me?access_token=" + viewer.access},
			{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Cookie": "access_token=" + viewer.access}},
			{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"X-API-Key": a.apiKey}},
			{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"X-User-ID": viewer.id, "X-Tenant-ID": a.id}},
			{method: "GET", path: "/api/v1/projects", header: map[string]string{"X-User-ID": w.superadmin.name, "X-Role": "admin",
				"X-Forwarded-User": "admin", "X-Remote-User": "admin", "X-Tenant-ID": a.id}},
			{method: "GET", path: "/api/v1/auth/me", header: map[string]string{"Authorization": "Basic " +
				base64.StdEncoding.EncodeToString([]byte("admin:"+p.adminPassword))}},
		} {
			r := p.do(t, rq)
			want(t, r, http.StatusUnauthorized, rq.method+" "+rq.path+" without a bearer credential")
		}
	})

	// Identity headers next to a valid credential change nothing.
	t.Run("identity headers ignored", func(t *testing.T) {
		spoof := map[string]string{
			"X-User-ID": b.admin.id, "X-Tenant-ID": b.id, "X-Tenant": b.slug, "X-Role": "admin",
			"X-Forwarded-User": b.admin.name, "X-Remote-User": b.admin.name, "X-Auth-Request-User": b.admin.name,
			"X-Original-URL": "/api/v1/tenants", "X-Rewrite-URL": "/api/v1/tenants", "X-HTTP-Method-Override": "DELETE",
			"X-Forwarded-For": "10.0.0.1", "X-Real-IP": "10.0.0.1", "Forwarded": "for=10.0.0.1",
		}
		r := p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: viewer.access, header: spoof, owner: a.slug})
		mustStatus(t, r, http.StatusOK, "me with spoofed headers")
		m := r.json(t)
		u, _ := m["user"].(map[string]any)
		tn, _ := m["tenant"].(map[string]any)
		if u["id"] != viewer.id || tn["id"] != a.id || m["role"] != "viewer" {
			t.Errorf("identity headers changed the caller: %s", r.body)
		}
		r = p.do(t, req{method: "POST", path: "/api/v1/projects", token: viewer.access, header: spoof, owner: a.slug,
			body: map[string]any{"name": "spoof", "problem_class": "other", "complexity_score": 1, "team_size": 1}})
		want(t, r, http.StatusForbidden, "viewer with X-Role: admin creates a project")
		r = p.do(t, req{method: "GET", path: "/api/v1/projects/" + a.project, token: viewer.access, header: spoof, owner: a.slug})
		want(t, r, http.StatusOK, "GET with X-HTTP-Method-Override: DELETE")
		r = p.do(t, req{method: "GET", path: "/api/v1/projects", token: b.member.access, owner: b.slug,
			header: map[string]string{"X-Tenant-ID": a.id, "X-Tenant": a.slug}})
		want(t, r, http.StatusOK, "B lists with X-Tenant-ID of A")
		if bytes.Contains(r.body, []byte(a.marker)) {
			t.Errorf("X-Tenant-ID switched the tenant")
		}
	})

	// API keys: a revoked key stops at once; a key is not a refresh token;
	// a key cannot mint keys or log out.
	t.Run("api keys", func(t *testing.T) {
		created, err := a.member.api.CreateAPIKey(context.Background(), client.APIKeyInput{Name: "short-lived", ExpiresInDays: 1, CurrentPassword: a.member.password})
		if err != nil {
			t.Fatalf("create key: %v", err)
		}
		id, key := created.ID, created.Key
		p.scan.forbidValue("an API key", key)
		p.scan.forbidValue("the SHA-256 of an API key", sha256hex(key))
		if !strings.HasPrefix(key, "mst_") {
			t.Errorf("API key %q has no mst_ prefix", key[:min(6, len(key))])
		}
		want(t, me(t, key), http.StatusOK, "fresh key")
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/api-keys", token: key, owner: a.slug,
			body: map[string]any{"name": "from a key"}})
		if r.status != http.StatusForbidden && r.status != http.StatusUnauthorized {
			t.Errorf("an API key minted another key: %d %.200s", r.status, r.body)
		}
		r = p.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]any{"refresh_token": key}})
		want(t, r, http.StatusUnauthorized, "API key as refresh token")
		r = w.do(t, a.member, "DELETE", "/api/v1/auth/api-keys/"+id, nil)
		want(t, r, http.StatusNoContent, "revoke key")
		want(t, me(t, key), http.StatusUnauthorized, "revoked key")
		r = w.do(t, a.member, "GET", "/api/v1/auth/api-keys", nil)
		if r.status == http.StatusOK && bytes.Contains(r.body, []byte(key)) {
			t.Errorf("listing API keys shows a key")
		}
		// A member cannot see or revoke another member's key.
		r = w.do(t, a.viewer, "DELETE", "/api/v1/auth/api-keys/"+a.apiKeyID, nil)
		want(t, r, http.StatusNotFound, "viewer revokes the member's key")
		r = w.do(t, a.viewer, "GET", "/api/v1/auth/api-keys", nil)
		if bytes.Contains(r.body, []byte(a.apiKeyID)) {
			t.Errorf("a viewer lists another member's API key")
		}
	})
}

// jwtNone is the "none" algorithm.
func jwtNone() jwt.SigningMethod { return jwt.SigningMethodNone }

// tamper changes the payload of token (the role) and keeps its signature.
func tamper(t testing.TB, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	_, c := decodeJWT(t, token)
	c["role"] = "admin"
	b, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// flip changes one character in the middle of s.
func flip(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

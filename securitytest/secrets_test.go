package securitytest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedSecrets starts the platform without MAESTRO_JWT_SECRET and
// MAESTRO_ADMIN_PASSWORD, as a newcomer would: there is no built-in
// credential. The server generates both into MAESTRO_HOME (directory 0700,
// files 0600), never prints or logs them, and a restart keeps them: the
// admin password is not regenerated and sessions survive.
func TestGeneratedSecrets(t *testing.T) {
	t.Parallel()
	p := startPlatform(t, "generated-secrets", options{noSecrets: true})
	home := filepath.Join(p.home, "maestro")
	read := func(name string) string {
		t.Helper()
		path := filepath.Join(home, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, perm)
		}
		b, err := os.ReadFile(path) // #nosec G304 -- a file the server wrote into the test's MAESTRO_HOME
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("MAESTRO_HOME: %v, mode %v, want 0700", err, fi.Mode().Perm())
	}
	password, secret := read("initial_admin_password"), read("jwt_secret")
	if len(password) < 24 || len(secret) < 32 {
		t.Errorf("generated admin password (%d chars) or JWT secret (%d chars) too short", len(password), len(secret))
	}
	p.scan.forbidValue("the generated admin password", password)
	p.scan.forbidValue("the generated JWT secret", secret)
	for _, common := range []string{"admin", "password", "changeme", "maestro"} {
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: p.newClient(randomLoopback()),
			body: map[string]any{"username": "admin", "password": common}})
		want(t, r, http.StatusUnauthorized, "admin with the default password "+common)
	}
	access, _ := p.login(t, "admin", password, "")

	p.stop()
	p.start(t)
	if got := read("initial_admin_password"); got != password {
		t.Errorf("a restart changed the admin password file")
	}
	if got := read("jwt_secret"); got != secret {
		t.Errorf("a restart changed the JWT secret")
	}
	want(t, p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: access}), http.StatusOK, "session across a restart")
	p.scan.checkLog(t, p.log.String())
}

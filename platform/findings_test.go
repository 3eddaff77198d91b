package platform

// Regression tests for the findings of SECURITY.md ("Audit findings")
// that concern this server. Each test failed before its fix.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/maestro-ml/maestro/internal/testenv"
	"github.com/maestro-ml/maestro/secrets"
)

// realConnectError returns the *pgconn.ConnectError of a connection
// attempt to a closed loopback port (its fields are unexported, so it
// cannot be built by hand).
func realConnectError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = pgconn.Connect(ctx, "postgres://nobody@"+addr+"/none?sslmode=disable&connect_timeout=2")
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("connecting to a closed port: %T %v, want a *pgconn.ConnectError", err, err)
	}
	return err
}

// sqliteBusyError returns the driver's error for a write to an SQLite
// database that another connection holds an exclusive lock on.
func sqliteBusyError(t *testing.T) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "busy.db")
	holder, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	ctx := context.Background()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TABLE t (a INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // cleanup
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("a write under another connection's exclusive lock succeeded")
	}
	return fmt.Errorf("registry: project: %w", err)
}

// TestClassifyConnectionFailures is the regression test of F-3: a database
// connection that fails after authentication succeeded is a 503 with
// Retry-After, not a 500; errors of the query itself stay 500.
func TestClassifyConnectionFailures(t *testing.T) {
	t.Parallel()
	pg := func(code string) error {
		return fmt.Errorf("registry: project tags: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: "terminating connection"})
	}
	unavailableCases := map[string]error{
		"08000 connection_exception":         pg("08000"),
		"08003 connection_does_not_exist":    pg("08003"),
		"08006 connection_failure":           pg("08006"),
		"57P01 admin_shutdown":               pg("57P01"),
		"57P02 crash_shutdown":               pg("57P02"),
		"57P03 cannot_connect_now":           pg("57P03"),
		"53300 too_many_connections":         pg("53300"),
		"pgconn.ConnectError":                fmt.Errorf("registry: project: %w", realConnectError(t)),
		"driver.ErrBadConn":                  fmt.Errorf("x: %w", driver.ErrBadConn),
		"net.OpError":                        fmt.Errorf("x: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}),
		"io.ErrUnexpectedEOF":                fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		"sql.ErrConnDone":                    fmt.Errorf("x: %w", sql.ErrConnDone),
		"SQLite database is locked (a real)": sqliteBusyError(t),
	}
	for name, err := range unavailableCases {
		e := classify(err)
		if e.status != http.StatusServiceUnavailable || e.code != "unavailable" || e.retryAfter <= 0 || e.cause == nil {
			t.Errorf("%s: classified as %d %s (retry after %v), want 503 unavailable with Retry-After", name, e.status, e.code, e.retryAfter)
		}
	}
	internalCases := map[string]error{
		"23505 unique_violation": pg("23505"),
		"42P01 undefined_table":  pg("42P01"),
		"57014 query_canceled":   pg("57014"),
		"22P02 invalid_text":     pg("22P02"),
		"plain error":            errors.New("disk on fire"),
		"io.EOF is not a drop":   fmt.Errorf("x: %w", io.EOF),
	}
	for name, err := range internalCases {
		if e := classify(err); e.status != http.StatusInternalServerError {
			t.Errorf("%s: classified as %d %s, want 500", name, e.status, e.code)
		}
	}

	// Through fail, the 503 says nothing about the cause and tells the
	// client when to retry.
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/projects", nil)
	ts.s.fail(rec, req, unavailableCases["57P01 admin_shutdown"])
	res := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	p := expect(t, res, http.StatusServiceUnavailable).problem(t)
	if p.Code != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("problem %+v, Retry-After %q", p, rec.Header().Get("Retry-After"))
	}
	if bytes.Contains(res.body, []byte("57P01")) || bytes.Contains(res.body, []byte("terminating")) {
		t.Fatalf("the cause leaked into the answer: %s", res.body)
	}
}

// TestPasswordChangeRefusesAPIKeys is the regression test of F-10: an API
// key cannot change its user's password (nor, therefore, revoke the
// user's login sessions or serve as a password-guessing oracle).
func TestPasswordChangeRefusesAPIKeys(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	ts.addMember(admin, def, "kim", memberPassword, "member")
	session := ts.login("kim", memberPassword, "")
	var key apiKeyBody
	expect(t, ts.do("POST", "/api/v1/auth/api-keys", session.AccessToken, map[string]any{"current_password": memberPassword, "name": "ci"}), 201).json(t, &key)

	for _, current := range []string{memberPassword, "wrong-guess-entirely"} {
		p := expect(t, ts.do("POST", "/api/v1/auth/password", key.Key,
			map[string]string{"current_password": current, "new_password": "Another-Passphrase-42!"}), 403).problem(t)
		if p.Code != "forbidden" {
			t.Fatalf("problem %+v", p)
		}
	}
	// Nothing changed: the session lives, the old password works, and the
	// refused attempts did not count as failures.
	ts.me(session.AccessToken)
	ts.login("kim", memberPassword, "")
	if n := len(ts.logs.records("event", auditPasswordFailure)) + len(ts.logs.records("event", auditPasswordChanged)); n != 0 {
		t.Fatalf("%d password events for refused requests", n)
	}
}

// TestAPIKeyListPages is the regression test of F-2: the API-key list
// honours ?limit= and ?cursor= like every other list.
func TestAPIKeyListPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	admin := ts.adminToken()
	def := ts.me(admin).Tenant.ID
	ts.addMember(admin, def, "lee", memberPassword, "member")
	lee := ts.login("lee", memberPassword, "").AccessToken
	var want []string
	for i := range 5 {
		var key apiKeyBody
		expect(t, ts.do("POST", "/api/v1/auth/api-keys", lee, map[string]any{"current_password": memberPassword, "name": fmt.Sprintf("k%d", i)}), 201).json(t, &key)
		want = append(want, key.ID)
	}
	slices.Sort(want)

	for _, limit := range []string{"abc", "0", "-1", "1001", "1e3"} {
		p := expect(t, ts.do("GET", "/api/v1/auth/api-keys?limit="+limit, lee, nil), 400).problem(t)
		if p.Code != "invalid_parameter" || len(p.Errors) != 1 || p.Errors[0].Field != "limit" {
			t.Fatalf("limit=%s: %+v", limit, p)
		}
	}
	for _, cursor := range []string{"not-an-id", "00000000-0000-0000-0000-00000000000G", strings.Repeat("a", 100)} {
		expect(t, ts.do("GET", "/api/v1/auth/api-keys?cursor="+cursor, lee, nil), 400)
	}

	for _, tc := range []struct {
		limit int
		sizes []int
	}{{2, []int{2, 2, 1}}, {5, []int{5}}, {1000, []int{5}}, {1, []int{1, 1, 1, 1, 1}}} {
		var got []string
		var sizes []int
		cursor := ""
		for range 10 {
			var pg page[apiKeyBody]
			expect(t, ts.do("GET", fmt.Sprintf("/api/v1/auth/api-keys?limit=%d&cursor=%s", tc.limit, cursor), lee, nil), 200).json(t, &pg)
			sizes = append(sizes, len(pg.Items))
			for _, k := range pg.Items {
				got = append(got, k.ID)
			}
			if pg.NextCursor == nil {
				break
			}
			cursor = *pg.NextCursor
		}
		if !slices.Equal(got, want) || !slices.Equal(sizes, tc.sizes) {
			t.Fatalf("limit %d: pages of %v with %v, want %v in id order with %v", tc.limit, sizes, got, want, tc.sizes)
		}
	}
	// Paging stays per caller: another member sees none of lee's keys.
	ts.addMember(admin, def, "max", memberPassword, "member")
	var pg page[apiKeyBody]
	expect(t, ts.do("GET", "/api/v1/auth/api-keys?limit=1&cursor="+want[0], ts.login("max", memberPassword, "").AccessToken, nil), 200).json(t, &pg)
	if len(pg.Items) != 0 || pg.NextCursor != nil {
		t.Fatalf("max sees %+v", pg)
	}
}

// TestTenantAdminCannotAttachOtherUsers is the regression test of F-7: a
// tenant admin who is not a superadmin cannot attach a user who exists
// outside its tenant, and the answer is the same for another tenant's
// user, a user without a tenant and — up to the creation itself — an
// unknown name. A superadmin still can.
func TestTenantAdminCannotAttachOtherUsers(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testenv.PlatformSQLite(t), testServerOptions{})
	root := ts.adminToken()
	tenantA := ts.createTenant(root, "tenant-a")
	tenantB := ts.createTenant(root, "tenant-b")
	ts.addMember(root, tenantA, "ann", memberPassword, "admin")
	bea := ts.addMember(root, tenantB, "bea", memberPassword, "viewer")
	solo := ts.addMember(root, tenantB, "solo", memberPassword, "viewer")
	expect(t, ts.do("DELETE", "/api/v1/tenants/"+tenantB+"/members/"+solo, root, nil), 204) // no tenant now
	ann := ts.login("ann", memberPassword, "").AccessToken
	members := "/api/v1/tenants/" + tenantA + "/members"

	// Another tenant's user and a user without a tenant: 409
	// username_taken, byte for byte alike, with or without a password.
	var bodies [][]byte
	for _, name := range []string{"bea", "solo"} {
		r := expect(t, ts.do("POST", members, ann, map[string]string{"username": name, "password": "Fresh-Passphrase-77!", "role": "viewer"}), 409)
		if p := r.problem(t); p.Code != "username_taken" {
			t.Fatalf("%s: %+v", name, p)
		}
		bodies = append(bodies, r.body)
	}
	if !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("answers differ:\n%s\n%s", bodies[0], bodies[1])
	}
	// Without a valid password, a taken name answers like a free one.
	for _, body := range []map[string]string{
		{"role": "viewer"},
		{"role": "viewer", "password": "short"},
		{"role": "viewer", "email": "x@example.com"},
		{"role": "viewer", "password": "Fresh-Passphrase-77!", "email": "not an address"},
		{"role": "owner", "password": "Fresh-Passphrase-77!"},
	} {
		var answers [][]byte
		var statuses []int
		for _, name := range []string{"bea", "solo", "nobody-at-all"} {
			b := map[string]string{"username": name}
			for k, v := range body {
				b[k] = v
			}
			r := ts.do("POST", members, ann, b)
			statuses = append(statuses, r.status)
			answers = append(answers, bytes.ReplaceAll(r.body, []byte(name), nil))
		}
		if statuses[0] == 201 || statuses[0] != statuses[1] || statuses[1] != statuses[2] ||
			!bytes.Equal(answers[0], answers[1]) || !bytes.Equal(answers[1], answers[2]) {
			t.Fatalf("body %v: statuses %v, answers\n%s\n%s\n%s", body, statuses, answers[0], answers[1], answers[2])
		}
	}
	// Nobody was attached: bea still logs in without naming a tenant.
	ts.login("bea", memberPassword, "")
	var list page[memberBody]
	expect(t, ts.do("GET", members, ann, nil), 200).json(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("tenant A's members: %+v", list.Items)
	}

	// The admin still creates new users, and re-adding a member of its own
	// tenant is a plain conflict.
	ts.addMember(ann, tenantA, "newcomer", memberPassword, "member")
	p := expect(t, ts.do("POST", members, ann, map[string]string{"username": "newcomer", "role": "viewer"}), 409).problem(t)
	if p.Code == "username_taken" {
		t.Fatalf("re-adding an own member: %+v", p)
	}

	// A superadmin may attach an existing user of another tenant.
	if id := ts.addMember(root, tenantA, "bea", "", "viewer"); id != bea {
		t.Fatalf("attached user %s, want bea %s", id, bea)
	}
	expect(t, ts.do("POST", "/api/v1/auth/login", "", map[string]string{"username": "bea", "password": memberPassword}), 400)
	ts.login("bea", memberPassword, "tenant-a")
}

// TestHomeSecretRefusesWeakValues is a regression test of F-4: a secret
// read back from MAESTRO_HOME is strength-checked like MAESTRO_JWT_SECRET,
// so a truncated file stops the start with an error that names the file
// and says what to do (and never repeats the value).
func TestHomeSecretRefusesWeakValues(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	strong, err := secrets.Generate(secrets.KeyBytes)
	if err != nil {
		t.Fatal(err)
	}
	truncated := strong[:11]
	if err := os.WriteFile(filepath.Join(dir, jwtSecretFile), []byte(truncated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gen := func() (string, error) { return secrets.Generate(secrets.KeyBytes) }
	_, err = homeSecret(ctx, dir, jwtSecretFile, gen)
	if err == nil {
		t.Fatal("a truncated secret file was accepted")
	}
	var weak *secrets.WeakSecretError
	if !errors.As(err, &weak) || !strings.Contains(err.Error(), filepath.Join(dir, jwtSecretFile)) ||
		!strings.Contains(err.Error(), "delete") || strings.Contains(err.Error(), truncated) {
		t.Fatalf("error %q", err)
	}
	// loadConfig reports it too, so the server does not start.
	if _, err := loadConfig(ctx, envOf(map[string]string{envHome: dir})); err == nil {
		t.Fatal("loadConfig accepted a truncated jwt_secret")
	}
}

// mustGenerate returns a fresh strong secret.
func mustGenerate(t *testing.T) string {
	t.Helper()
	v, err := secrets.Generate(secrets.KeyBytes)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSecretFileWriteIsAtomic is a regression test of F-4: a write that
// fails half-way (a full disk) leaves neither a partial secret nor a
// temporary file, so the next start generates a fresh secret; a
// successful write is 0600 and never replaces an existing file.
func TestSecretFileWriteIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	full := func(f *os.File) error {
		if _, err := f.WriteString("half-of-a-sec"); err != nil {
			return err
		}
		return &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	err := writeSecretFile(dir, jwtSecretFile, full)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %v, want ENOSPC", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("left behind after a failed write: %v %v", entries, err)
	}
	secret := mustGenerate(t)
	v, err := homeSecret(ctx, dir, jwtSecretFile, func() (string, error) { return secret, nil })
	if err != nil || v != secret {
		t.Fatalf("after a failed write: %q %v", v, err)
	}
	fi, err := os.Stat(filepath.Join(dir, jwtSecretFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file %v %v, want mode 0600", fi, err)
	}
	// A second writer loses without replacing the file, and homeSecret
	// then uses the winner's value.
	err = writeSecretFile(dir, jwtSecretFile, func(f *os.File) error { _, err := f.WriteString("other\n"); return err })
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second write: %v, want fs.ErrExist", err)
	}
	if v, err := homeSecret(ctx, dir, jwtSecretFile, func() (string, error) { return mustGenerate(t), nil }); err != nil || v != secret {
		t.Fatalf("after a lost race: %q %v", v, err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Fatalf("directory after the writes: %v %v", entries, err)
	}
}

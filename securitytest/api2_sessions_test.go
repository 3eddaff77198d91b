package securitytest

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/client"
)

func testSessions(t *testing.T, w *world) {
	p, a := w.p, w.a
	me := func(t *testing.T, token string) int {
		return p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: token, owner: a.slug}).status
	}
	refresh := func(t *testing.T, rt string) response {
		return p.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]any{"refresh_token": rt}})
	}
	// Every case uses its own user, so that no revocation here touches the
	// sessions other tests run on.
	newUser := func(t *testing.T, role string) *user { return w.addUser(t, a, "sess"+role, role) }
	ctx := context.Background()
	// createKey creates an API key as u through the client; the key must
	// not appear in any later answer.
	createKey := func(t *testing.T, u *user, name string) string {
		t.Helper()
		k, err := u.api.CreateAPIKey(ctx, client.APIKeyInput{Name: name, CurrentPassword: u.password})
		if err != nil {
			t.Fatalf("create key %q: %v", name, err)
		}
		p.scan.forbidValue("an API key", k.Key)
		return k.Key
	}

	t.Run("refresh rotation and reuse detection", func(t *testing.T) {
		u := newUser(t, "member")
		r := refresh(t, u.refresh)
		mustStatus(t, r, http.StatusOK, "first refresh")
		access2, refresh2 := r.str(t, "access_token"), r.str(t, "refresh_token")
		p.scan.forbidValue("a refresh token", refresh2)
		p.scan.forbidValue("an access token", access2)
		p.scan.forbidValue("the hash of a refresh token", sha256hex(refresh2))
		if refresh2 == u.refresh {
			t.Fatal("refresh returned the same refresh token")
		}
		want(t, refresh(t, u.refresh), http.StatusUnauthorized, "replayed refresh token")
		// Reuse revokes the whole session: the rotated pair is dead too.
		want(t, refresh(t, refresh2), http.StatusUnauthorized, "refresh token of a session revoked by reuse")
		if got := me(t, access2); got != http.StatusUnauthorized {
			t.Errorf("access token of a session revoked by reuse: %d, want 401", got)
		}
		if got := me(t, u.access); got != http.StatusUnauthorized {
			t.Errorf("first access token of a session revoked by reuse: %d, want 401", got)
		}
	})

	t.Run("concurrent refreshes: exactly one wins", func(t *testing.T) {
		u := newUser(t, "viewer")
		const n = 6
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := refresh(t, u.refresh)
				if r.status == http.StatusOK {
					p.scan.forbidValue("an access token", r.str(t, "access_token"))
					p.scan.forbidValue("a refresh token", r.str(t, "refresh_token"))
				}
				statuses <- r.status
			}()
		}
		wg.Wait()
		close(statuses)
		ok := 0
		for st := range statuses {
			if st == http.StatusOK {
				ok++
			} else if st != http.StatusUnauthorized {
				t.Errorf("concurrent refresh answered %d", st)
			}
		}
		if ok > 1 {
			t.Errorf("%d of %d concurrent refreshes of one token succeeded, want at most 1", ok, n)
		}
	})

	t.Run("logout needs an access token", func(t *testing.T) {
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/logout", token: a.apiKey, owner: a.slug})
		if r.status == http.StatusNoContent {
			t.Errorf("logout with an API key answered 204")
		}
		want(t, p.do(t, req{method: "GET", path: "/api/v1/auth/me", token: a.apiKey, owner: a.slug}), http.StatusOK,
			"the API key after a refused logout")
	})

	t.Run("an API key cannot change the password", func(t *testing.T) {
		// A key is for automation; account management needs a login
		// session (keys cannot mint keys or log out either).
		u := newUser(t, "member")
		key := createKey(t, u, "automation")
		newPassword := strongPassword()
		p.scan.forbidValue("a new password", newPassword)
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/password", token: key, owner: a.slug,
			body: map[string]any{"current_password": u.password, "new_password": newPassword}})
		openFinding(t, "F-10", r.status == http.StatusNoContent,
			"POST /api/v1/auth/password accepts an API key: a key (with the password) changes the password and revokes every login session of the user")
		if r.status == http.StatusNoContent {
			if got := me(t, u.access); got != http.StatusUnauthorized {
				t.Logf("the login session after a password change through a key: %d", got)
			}
		}
	})

	t.Run("deleted tenant: its credentials stop at once", func(t *testing.T) {
		c := w.newTenant(t, "c", false)
		key := createKey(t, c.member, "doomed")
		created, err := c.member.api.CreateProject(ctx, client.ProjectInput{Name: "doomed " + c.marker,
			ProblemClass: "other", ComplexityScore: 1, TeamSize: 1})
		if err != nil {
			t.Fatalf("project in C: %v", err)
		}
		project := created.ID
		p.scan.own(c.slug, project)
		if err := w.superadmin.api.DeleteTenant(ctx, c.id); err != nil {
			t.Fatalf("delete tenant C: %v", err)
		}
		for what, tok := range map[string]string{"admin token": c.admin.access, "member token": c.member.access, "API key": key} {
			if got := p.do(t, req{method: "GET", path: "/api/v1/projects/" + project, token: tok}).status; got != http.StatusUnauthorized {
				t.Errorf("%s of a deleted tenant: %d, want 401", what, got)
			}
		}
		want(t, refresh(t, c.member.refresh), http.StatusUnauthorized, "refresh token of a deleted tenant")
		want(t, p.do(t, req{method: "GET", path: "/api/v1/tenants/" + c.id, token: w.superadmin.access}),
			http.StatusNotFound, "deleted tenant")
	})

	t.Run("password change is throttled", func(t *testing.T) {
		u := newUser(t, "viewer")
		var last response
		for i := 0; i < 8; i++ {
			last = p.do(t, req{method: "POST", path: "/api/v1/auth/password", token: u.access, owner: a.slug,
				body: map[string]any{"current_password": "guess-" + randHex(4), "new_password": strongPassword()}})
			if last.status == http.StatusTooManyRequests {
				break
			}
		}
		want(t, last, http.StatusTooManyRequests, "eighth wrong current password")
	})

	t.Run("tenant admins attach other tenants' users", func(t *testing.T) {
		// docs/platform.md: a tenant admin may add any existing user by
		// name. That lets one tenant's admin learn which user names exist
		// platform-wide and attach another tenant's user without consent,
		// after which that user must name a tenant to log in.
		victim := w.addUser(t, w.b, "attached", "viewer")
		p.scan.disown(victim.id, victim.name) // shared by A and B from here on
		probe := w.do(t, a.admin, "POST", "/api/v1/tenants/"+a.id+"/members", map[string]any{"username": "nobody" + randHex(4), "role": "viewer"})
		r := w.do(t, a.admin, "POST", "/api/v1/tenants/"+a.id+"/members", map[string]any{"username": victim.name, "role": "viewer"})
		attached := r.status == http.StatusCreated
		lr := p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: p.newClient(randomLoopback()),
			body: map[string]any{"username": victim.name, "password": victim.password}})
		if lr.status == http.StatusOK {
			p.scan.forbidValue("an access token", lr.str(t, "access_token"))
			p.scan.forbidValue("a refresh token", lr.str(t, "refresh_token"))
		}
		openFinding(t, "F-7", attached && probe.status != r.status,
			"tenant A's admin attached tenant B's user %s without consent (201; an unknown name answers %d, so names can be enumerated); the user's login without a tenant now answers %d",
			victim.name, probe.status, lr.status)
	})

	t.Run("token confusion", func(t *testing.T) {
		u := a.viewer
		want(t, refresh(t, u.access), http.StatusUnauthorized, "access token as refresh token")
		want(t, refresh(t, "garbage"), http.StatusUnauthorized, "garbage refresh token")
		want(t, refresh(t, forge(t, u.refresh, jwtNone(), nil, nil)), http.StatusUnauthorized, "alg none refresh token")
		r := refresh(t, "")
		if r.status != http.StatusUnauthorized && r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Errorf("empty refresh token: %d", r.status)
		}
		// The viewer's own session survived all of that.
		if got := me(t, u.access); got != http.StatusOK {
			t.Errorf("failed refresh attempts broke the viewer's session: %d", got)
		}
	})

	t.Run("logout", func(t *testing.T) {
		u := newUser(t, "viewer")
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/logout", token: u.access, owner: a.slug})
		want(t, r, http.StatusNoContent, "logout")
		if got := me(t, u.access); got != http.StatusUnauthorized {
			t.Errorf("access token after logout: %d, want 401", got)
		}
		want(t, refresh(t, u.refresh), http.StatusUnauthorized, "refresh token after logout")
	})

	t.Run("password change revokes other sessions", func(t *testing.T) {
		u := newUser(t, "viewer")
		other, otherRefresh := p.login(t, u.name, u.password, "")
		newPassword := strongPassword()
		p.scan.forbidValue("a new password", newPassword)
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/password", token: u.access, owner: a.slug,
			body: map[string]any{"current_password": "wrong-" + u.password, "new_password": newPassword}})
		if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden && r.status != http.StatusUnprocessableEntity {
			t.Errorf("password change with a wrong current password: %d", r.status)
		}
		if me(t, u.access) != http.StatusOK {
			t.Errorf("a wrong current password ended the session")
		}
		r = p.do(t, req{method: "POST", path: "/api/v1/auth/password", token: u.access, owner: a.slug,
			body: map[string]any{"current_password": u.password, "new_password": u.name + "12345678"}})
		if r.status != http.StatusUnprocessableEntity && r.status != http.StatusBadRequest {
			t.Errorf("a new password containing the username: %d, want 422", r.status)
		}
		if err := u.api.ChangePassword(ctx, u.password, newPassword); err != nil {
			t.Fatalf("password change: %v", err)
		}
		if got := me(t, other); got != http.StatusUnauthorized {
			t.Errorf("other session after a password change: %d, want 401", got)
		}
		want(t, refresh(t, otherRefresh), http.StatusUnauthorized, "other session's refresh token after a password change")
		if got := me(t, u.access); got != http.StatusOK {
			t.Errorf("the session that changed the password: %d, want 200", got)
		}
		r = p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: p.newClient(randomLoopback()),
			body: map[string]any{"username": u.name, "password": u.password}})
		want(t, r, http.StatusUnauthorized, "login with the old password")
		p.login(t, u.name, newPassword, "")
	})

	t.Run("removed member and deleted key stop at once", func(t *testing.T) {
		u := newUser(t, "member")
		key := createKey(t, u, "to be orphaned")
		if err := a.admin.api.RemoveMember(ctx, a.id, u.id); err != nil {
			t.Fatalf("remove member: %v", err)
		}
		for what, tok := range map[string]string{"access token": u.access, "API key": key} {
			if got := me(t, tok); got != http.StatusUnauthorized {
				t.Errorf("%s of a removed member: %d, want 401", what, got)
			}
		}
		want(t, refresh(t, u.refresh), http.StatusUnauthorized, "refresh token of a removed member")
	})

	t.Run("demoted admin loses admin functions at once", func(t *testing.T) {
		u := newUser(t, "admin")
		if _, err := a.admin.api.UpdateMember(ctx, a.id, u.id, "viewer"); err != nil {
			t.Fatalf("demote: %v", err)
		}
		r := p.do(t, req{method: "GET", path: "/api/v1/tenants/" + a.id + "/members", token: u.access, owner: a.slug})
		if r.status != http.StatusUnauthorized && r.status != http.StatusForbidden {
			t.Errorf("a demoted admin's old token lists members: %d", r.status)
		}
		r = refresh(t, u.refresh)
		if r.status == http.StatusOK {
			tok := r.str(t, "access_token")
			p.scan.forbidValue("an access token", tok)
			p.scan.forbidValue("a refresh token", r.str(t, "refresh_token"))
			_, c := decodeJWT(t, tok)
			if c["role"] != "viewer" {
				t.Errorf("refresh after demotion issued role %v, want viewer", c["role"])
			}
		}
	})
}

// testLoginThrottling checks the lockout (429 with Retry-After after five
// failures, also for the right password while locked) and that unknown
// users and wrong passwords are answered identically.
func testLoginThrottling(t *testing.T, w *world) {
	p, a := w.p, w.a
	victim := w.addUser(t, a, "lock", "viewer")
	unknown := "nobody" + randHex(6)
	p.scan.forbidValue("an unknown login name", unknown)
	client := p.newClient(randomLoopback()) // fresh client IP: no other test's failures count
	login := func(t *testing.T, name, password string, hdr map[string]string) (response, time.Duration) {
		start := time.Now()
		r := p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: client, header: hdr,
			body: map[string]any{"username": name, "password": password}})
		return r, time.Since(start)
	}
	var known, unk []time.Duration
	for i := 0; i < 5; i++ {
		// Spoofed client addresses must not reset or split the count.
		hdr := map[string]string{"X-Forwarded-For": randomLoopback(), "X-Real-IP": randomLoopback()}
		// Failed passwords and unknown names (often a password typed
		// into the name field) must reach neither a body nor the log.
		wrong1, wrong2 := "wrong-password-"+randHex(4), "wrong-password-"+randHex(4)
		p.scan.forbidValue("a failed login's password", wrong1)
		p.scan.forbidValue("a failed login's password", wrong2)
		r1, d1 := login(t, victim.name, wrong1, hdr)
		r2, d2 := login(t, unknown, wrong2, hdr)
		known, unk = append(known, d1), append(unk, d2)
		want(t, r1, http.StatusUnauthorized, "wrong password")
		want(t, r2, http.StatusUnauthorized, "unknown user")
		if !bytes.Equal(r1.body, r2.body) {
			t.Errorf("wrong password and unknown user answer differently:\n%s\n%s", r1.body, r2.body)
		}
	}
	// An unknown user must cost a password verification too: without it
	// the answer comes an order of magnitude sooner (about 1 ms against
	// 20-100 ms for argon2id here). Medians, and a wide margin, because the
	// machine is shared.
	mk, mu := median(known), median(unk)
	t.Logf("median login time: wrong password %v, unknown user %v", mk, mu)
	if mu*5 < mk {
		t.Errorf("unknown users answer much faster (%v) than wrong passwords (%v): user enumeration by timing", mu, mk)
	}
	// The policy allows five failures; the account is locked at the sixth
	// at the latest, so the seventh attempt is refused with 429 — the same
	// sequence for an existing and an unknown account.
	var seqs [2][]int
	for i, name := range []string{victim.name, unknown} {
		for j := 0; j < 2; j++ {
			r, _ := login(t, name, "wrong-again", nil)
			seqs[i] = append(seqs[i], r.status)
			if r.status == http.StatusTooManyRequests {
				break
			}
		}
		if last := seqs[i][len(seqs[i])-1]; last != http.StatusTooManyRequests {
			t.Errorf("%s: attempts after five failures answer %v, want a 429", name, seqs[i])
		}
	}
	if len(seqs[0]) != len(seqs[1]) {
		t.Errorf("lockout differs for an existing (%v) and an unknown account (%v)", seqs[0], seqs[1])
	}
	r, _ := login(t, victim.name, victim.password, nil)
	want(t, r, http.StatusTooManyRequests, "right password while locked")
	// The lock is per account, whatever the address: the user, logging in
	// from elsewhere with the right password, is locked out too. Anyone who
	// knows a name can thus keep its account locked (one failure per
	// lockout period suffices once the maximum is reached).
	r = p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: p.newClient(randomLoopback()),
		body: map[string]any{"username": victim.name, "password": victim.password}})
	openFinding(t, "F-9", r.status == http.StatusTooManyRequests,
		"failures from one address lock the account for its owner at every other address too (lockout DoS on any known user name, such as admin)")
	if r.status == http.StatusOK {
		p.scan.forbidValue("an access token", r.str(t, "access_token"))
		p.scan.forbidValue("a refresh token", r.str(t, "refresh_token"))
	}
	// The lock is per account: another user from the same address logs in.
	if got := p.do(t, req{method: "POST", path: "/api/v1/auth/login", client: client,
		body: map[string]any{"username": a.member.name, "password": a.member.password}}); got.status != http.StatusOK {
		t.Errorf("another account from the same address: %d, want 200", got.status)
	} else {
		p.scan.forbidValue("an access token", got.str(t, "access_token"))
		p.scan.forbidValue("a refresh token", got.str(t, "refresh_token"))
	}
}

// median returns the median of ds (which it sorts).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

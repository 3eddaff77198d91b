package auth_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maestro-ml/maestro/auth"
)

func TestIssueAndVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := issue(t, f, alice)
	if p.TokenType != "bearer" || p.ExpiresIn != 900 || p.SessionID == "" {
		t.Fatalf("pair metadata = %+v", p)
	}
	if !p.AccessExpiresAt.Equal(f.clock.Now().Add(15*time.Minute)) || !p.RefreshExpiresAt.Equal(f.clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("expiries = %v, %v", p.AccessExpiresAt, p.RefreshExpiresAt)
	}
	c, err := f.m.VerifyAccess(context.Background(), p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != alice || c.SessionID != p.SessionID || c.Type != auth.TokenAccess || c.KeyID != "k1" || c.TokenID == "" {
		t.Fatalf("claims = %+v", c)
	}
	pr := c.Principal()
	if pr.UserID != alice.UserID || pr.TenantID != alice.TenantID || pr.Role != auth.RoleMember ||
		pr.Method != auth.MethodAccessToken || pr.SessionID != p.SessionID || pr.TokenID != c.TokenID {
		t.Fatalf("principal = %+v", pr)
	}
	h, _ := decode(t, p.AccessToken)
	if h["typ"] != auth.HeaderTypeAccess || h["kid"] != "k1" || h["alg"] != "HS256" {
		t.Fatalf("access header = %v", h)
	}
	h, _ = decode(t, p.RefreshToken)
	if h["typ"] != auth.HeaderTypeRefresh {
		t.Fatalf("refresh header = %v", h)
	}
}

func TestIssuePairRefusesBadSubjects(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for name, s := range map[string]auth.Subject{
		"no user":        {TenantID: "t", Role: auth.RoleViewer},
		"no tenant":      {UserID: "u", Role: auth.RoleViewer},
		"no role":        {UserID: "u", TenantID: "t"},
		"undefined role": {UserID: "u", TenantID: "t", Role: auth.Role(9)},
	} {
		if _, err := f.m.IssuePair(context.Background(), s); err == nil {
			t.Errorf("%s: IssuePair succeeded", name)
		}
	}
	// A superadmin may hold a token without a tenant role.
	p := issue(t, f, auth.Subject{UserID: "root", Superadmin: true})
	c, err := f.m.VerifyAccess(context.Background(), p.AccessToken)
	if err != nil || !c.Superadmin || c.Role != auth.RoleNone {
		t.Fatalf("superadmin token: %+v, %v", c, err)
	}
}

// TestVerifyAccessRefuses covers every way an access token must fail: each
// case changes one thing in an otherwise valid token.
func TestVerifyAccessRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := issue(t, f, alice)
	header, claims := decode(t, p.AccessToken)
	now := f.clock.Now()
	_, edPriv := edKey(t, "ed")

	with := func(k string, v any) map[string]any {
		c := clone(claims)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hwith := func(k string, v any) map[string]any {
		h := clone(header)
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	hs := func(h, c map[string]any) string { return forge(t, jwt.SigningMethodHS256, testSecret, h, c) }

	// The forgery helper itself produces tokens that verify.
	if _, err := f.m.VerifyAccess(ctx, hs(header, claims)); err != nil {
		t.Fatalf("control: re-signed valid claims refused: %v", err)
	}
	parts := strings.Split(p.AccessToken, ".")
	tamperedClaims := clone(claims)
	tamperedClaims["role"] = "admin"
	tampered := parts[0] + "." + strings.Split(hs(header, tamperedClaims), ".")[1] + "." + parts[2]

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", auth.ErrInvalidToken},
		{"garbage", "not.a.jwt", auth.ErrInvalidToken},
		{"too long", strings.Repeat("a", 5000), auth.ErrInvalidToken},
		{"tampered payload", tampered, auth.ErrInvalidToken},
		{"tampered signature", p.AccessToken[:len(p.AccessToken)-2] + "AA", auth.ErrInvalidToken},
		{"alg none", unsignedNone(t, header, claims), auth.ErrInvalidToken},
		{"wrong key", forge(t, jwt.SigningMethodHS256, otherSecret, header, claims), auth.ErrInvalidToken},
		{"HS512 with the right secret", forge(t, jwt.SigningMethodHS512, testSecret, header, claims), auth.ErrInvalidToken},
		{"unknown kid", hs(hwith("kid", "k9"), claims), auth.ErrInvalidToken},
		{"missing kid", hs(hwith("kid", nil), claims), auth.ErrInvalidToken},
		{"EdDSA under an HS256 kid", forge(t, jwt.SigningMethodEdDSA, edPriv, header, claims), auth.ErrInvalidToken},
		{"wrong audience", hs(header, with("aud", []string{"someone-else"})), auth.ErrInvalidToken},
		{"missing audience", hs(header, with("aud", nil)), auth.ErrInvalidToken},
		{"wrong issuer", hs(header, with("iss", "evil")), auth.ErrInvalidToken},
		{"expired", hs(header, with("exp", now.Add(-time.Minute).Unix())), auth.ErrExpired},
		{"not yet valid", hs(header, with("nbf", now.Add(time.Hour).Unix())), auth.ErrInvalidToken},
		{"issued in the future", hs(header, with("iat", now.Add(time.Hour).Unix())), auth.ErrInvalidToken},
		{"missing exp", hs(header, with("exp", nil)), auth.ErrInvalidToken},
		{"missing iat", hs(header, with("iat", nil)), auth.ErrInvalidToken},
		{"refresh typ claim", hs(header, with("typ", "refresh")), auth.ErrInvalidToken},
		{"refresh typ header", hs(hwith("typ", auth.HeaderTypeRefresh), claims), auth.ErrInvalidToken},
		{"no typ header", hs(hwith("typ", nil), claims), auth.ErrInvalidToken},
		{"refresh token", p.RefreshToken, auth.ErrInvalidToken},
		{"missing sid", hs(header, with("sid", nil)), auth.ErrInvalidToken},
		{"missing jti", hs(header, with("jti", nil)), auth.ErrInvalidToken},
		{"missing sub", hs(header, with("sub", nil)), auth.ErrInvalidToken},
		{"unknown role", hs(header, with("role", "owner")), auth.ErrInvalidToken},
		{"unknown session", hs(header, with("sid", "forged-session")), auth.ErrRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := f.m.VerifyAccess(ctx, tc.token)
			if !isErr(err, tc.want) {
				t.Fatalf("VerifyAccess = %+v, %v; want %v", c, err, tc.want)
			}
			if c != (auth.Claims{}) {
				t.Fatalf("claims returned with an error: %+v", c)
			}
		})
	}
}

// TestVerifyAccessBindsSessionToUser mints, with the manager's own key, a
// token for one user that names another user's live session: the store
// must refuse it because the session belongs to someone else (F-1).
func TestVerifyAccessBindsSessionToUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bob := auth.Subject{UserID: "user-bob", TenantID: "tenant-a", Role: auth.RoleAdmin}
	pa, pb := issue(t, f, alice), issue(t, f, bob)
	header, aliceClaims := decode(t, pa.AccessToken)
	_, bobClaims := decode(t, pb.AccessToken)
	hs := func(c map[string]any) string { return forge(t, jwt.SigningMethodHS256, testSecret, header, c) }

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"own session (control)", hs(aliceClaims), nil},
		{"alice in bob's session", hs(func() map[string]any { c := clone(aliceClaims); c["sid"] = bobClaims["sid"]; return c }()), auth.ErrRevoked},
		{"bob in alice's session", hs(func() map[string]any { c := clone(aliceClaims); c["sub"] = bob.UserID; return c }()), auth.ErrRevoked},
		{"bob's claims in alice's session", hs(func() map[string]any { c := clone(bobClaims); c["sid"] = aliceClaims["sid"]; return c }()), auth.ErrRevoked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := f.m.VerifyAccess(ctx, tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyAccess: %v", err)
				}
				return
			}
			if !isErr(err, tc.want) || c != (auth.Claims{}) {
				t.Fatalf("VerifyAccess = %+v, %v; want %v", c, err, tc.want)
			}
		})
	}
	// Both real tokens still work: the refusal is about the pairing only.
	for _, p := range []auth.Pair{pa, pb} {
		if _, err := f.m.VerifyAccess(ctx, p.AccessToken); err != nil {
			t.Fatalf("genuine token refused: %v", err)
		}
	}
}

func TestExpiryAndLeeway(t *testing.T) {
	t.Parallel()
	f := newFixture(t, auth.WithLeeway(10*time.Second))
	p := issue(t, f, alice)
	f.clock.Advance(15*time.Minute + 5*time.Second)
	if _, err := f.m.VerifyAccess(context.Background(), p.AccessToken); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	f.clock.Advance(10 * time.Second)
	if _, err := f.m.VerifyAccess(context.Background(), p.AccessToken); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("past leeway: %v, want ErrExpired", err)
	}
	f.clock.Advance(7 * 24 * time.Hour)
	if _, err := f.m.Refresh(context.Background(), p.RefreshToken); !errors.Is(err, auth.ErrExpired) {
		t.Fatalf("expired refresh token: %v, want ErrExpired", err)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p1 := issue(t, f, alice)
	if _, err := f.m.Refresh(ctx, p1.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("access token as refresh token: %v, want ErrInvalidToken", err)
	}
	f.clock.Advance(time.Minute)
	p2, err := f.m.Refresh(ctx, p1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if p2.SessionID != p1.SessionID || p2.RefreshToken == p1.RefreshToken || p2.AccessToken == p1.AccessToken {
		t.Fatalf("rotation did not issue a new pair in the same session: %+v", p2)
	}
	for _, tok := range []string{p1.AccessToken, p2.AccessToken} {
		if _, err := f.m.VerifyAccess(ctx, tok); err != nil {
			t.Fatalf("access token of the live session refused: %v", err)
		}
	}
	// The spent token comes back: reuse, and the whole session dies.
	if _, err := f.m.Refresh(ctx, p1.RefreshToken); !errors.Is(err, auth.ErrRefreshReuse) {
		t.Fatalf("reused refresh token: %v, want ErrRefreshReuse", err)
	}
	for name, tok := range map[string]string{"old access": p1.AccessToken, "new access": p2.AccessToken} {
		if _, err := f.m.VerifyAccess(ctx, tok); !errors.Is(err, auth.ErrRevoked) {
			t.Fatalf("%s after reuse: %v, want ErrRevoked", name, err)
		}
	}
	if _, err := f.m.Refresh(ctx, p2.RefreshToken); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("descendant refresh after reuse: %v, want ErrRevoked", err)
	}
	// Other sessions are unaffected.
	other := issue(t, f, alice)
	if _, err := f.m.VerifyAccess(ctx, other.AccessToken); err != nil {
		t.Fatal(err)
	}
}

func TestSubjectRefresher(t *testing.T) {
	t.Parallel()
	deactivated := errors.New("user deactivated")
	var active = true
	f := newFixture(t, auth.WithSubjectRefresher(func(_ context.Context, s auth.Subject) (auth.Subject, error) {
		if !active {
			return s, deactivated
		}
		s.Role = auth.RoleAdmin
		return s, nil
	}))
	ctx := context.Background()
	p := issue(t, f, alice)
	p2, err := f.m.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.m.VerifyAccess(ctx, p2.AccessToken)
	if err != nil || c.Role != auth.RoleAdmin {
		t.Fatalf("refreshed role = %v, %v; want admin", c.Role, err)
	}
	active = false
	if _, err := f.m.Refresh(ctx, p2.RefreshToken); !errors.Is(err, deactivated) {
		t.Fatalf("refresher error: %v", err)
	}
	active = true
	if _, err := f.m.Refresh(ctx, p2.RefreshToken); err != nil {
		t.Fatalf("a refused refresh spent the token: %v", err)
	}
}

func TestLogoutAndUserRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := issue(t, f, alice)
	c, err := f.m.VerifyAccess(ctx, p.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Logout(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.VerifyAccess(ctx, p.AccessToken); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("access after logout: %v", err)
	}
	if _, err := f.m.Refresh(ctx, p.RefreshToken); !errors.Is(err, auth.ErrRevoked) {
		t.Fatalf("refresh after logout: %v", err)
	}
	if err := f.m.Logout(ctx, auth.Claims{}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("logout of empty claims: %v", err)
	}

	keep, drop := issue(t, f, alice), issue(t, f, alice)
	bob := issue(t, f, auth.Subject{UserID: "user-bob", TenantID: "tenant-a", Role: auth.RoleViewer})
	if err := f.m.RevokeOtherSessions(ctx, alice.UserID, keep.SessionID); err != nil {
		t.Fatal(err)
	}
	check := func(name string, p auth.Pair, want error) {
		t.Helper()
		if _, err := f.m.VerifyAccess(ctx, p.AccessToken); !isErr(err, want) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
	}
	check("kept session", keep, nil)
	check("other session", drop, auth.ErrRevoked)
	check("other user", bob, nil)
	if err := f.m.RevokeUser(ctx, alice.UserID); err != nil {
		t.Fatal(err)
	}
	check("kept session after RevokeUser", keep, auth.ErrRevoked)
	if err := f.m.RevokeSession(ctx, bob.SessionID); err != nil {
		t.Fatal(err)
	}
	check("bob after RevokeSession", bob, auth.ErrRevoked)
	if err := f.m.RevokeUser(ctx, ""); err == nil {
		t.Fatal("RevokeUser(\"\") succeeded")
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	old := issue(t, f, alice)
	k2, _ := edKey(t, "k2")
	if err := f.m.AddKey(k2); err != nil {
		t.Fatal(err)
	}
	if err := f.m.AddKey(k2); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("duplicate kid: %v", err)
	}
	if err := f.m.UseKey("k2"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.UseKey("nope"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("UseKey(unknown): %v", err)
	}
	if f.m.ActiveKeyID() != "k2" {
		t.Fatalf("active key %q", f.m.ActiveKeyID())
	}
	fresh := issue(t, f, alice)
	if h, _ := decode(t, fresh.AccessToken); h["kid"] != "k2" || h["alg"] != "EdDSA" {
		t.Fatalf("new token header %v", h)
	}
	for _, tok := range []string{old.AccessToken, fresh.AccessToken} {
		if _, err := f.m.VerifyAccess(ctx, tok); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	if err := f.m.RemoveKey("k2"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("removing the active key: %v", err)
	}
	if err := f.m.RemoveKey("k1"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.RemoveKey("k1"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := f.m.VerifyAccess(ctx, old.AccessToken); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("token of a removed key: %v", err)
	}
	if _, err := f.m.VerifyAccess(ctx, fresh.AccessToken); err != nil {
		t.Fatal(err)
	}
}

func TestEd25519VerifyOnlyKey(t *testing.T) {
	t.Parallel()
	signer, priv := edKey(t, "ed1")
	verifyOnly, err := auth.NewEd25519VerifyKey("ed1", priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if verifyOnly.CanSign() || verifyOnly.Algorithm() != "EdDSA" || verifyOnly.ID() != "ed1" {
		t.Fatalf("verify-only key: %v %v %v", verifyOnly.CanSign(), verifyOnly.Algorithm(), verifyOnly.ID())
	}
	store := auth.NewMemoryTokenStore()
	issuer, err := auth.NewJWTManager(store, auth.WithKeys(signer))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewJWTManager(store, auth.WithKeys(hsKey(t, "hs", testSecret), verifyOnly))
	if err != nil {
		t.Fatal(err)
	}
	p, err := issuer.IssuePair(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.VerifyAccess(context.Background(), p.AccessToken); err != nil {
		t.Fatalf("verify-only key: %v", err)
	}
	if _, err := auth.NewJWTManager(store, auth.WithKeys(verifyOnly)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("verify-only key as signer: %v", err)
	}
	if err := verifier.UseKey("ed1"); !errors.Is(err, auth.ErrInvalidKey) {
		t.Fatalf("UseKey(verify-only): %v", err)
	}
}

func TestNewJWTManagerValidation(t *testing.T) {
	t.Parallel()
	store := auth.NewMemoryTokenStore()
	k := hsKey(t, "k1", testSecret)
	cases := map[string][]auth.Option{
		"no keys":                 nil,
		"zero key":                {auth.WithKeys(auth.Key{})},
		"duplicate kid":           {auth.WithKeys(k, hsKey(t, "k1", otherSecret))},
		"empty issuer":            {auth.WithKeys(k), auth.WithIssuer("")},
		"empty audience":          {auth.WithKeys(k), auth.WithAudience("")},
		"access TTL too long":     {auth.WithKeys(k), auth.WithAccessTTL(2 * time.Hour)},
		"refresh TTL too short":   {auth.WithKeys(k), auth.WithRefreshTTL(time.Second)},
		"access longer than refr": {auth.WithKeys(k), auth.WithAccessTTL(time.Hour), auth.WithRefreshTTL(30 * time.Minute)},
		"negative leeway":         {auth.WithKeys(k), auth.WithLeeway(-time.Second)},
		"nil clock":               {auth.WithKeys(k), auth.WithClock(nil)},
	}
	for name, opts := range cases {
		if _, err := auth.NewJWTManager(store, opts...); err == nil {
			t.Errorf("%s: NewJWTManager succeeded", name)
		}
	}
	if _, err := auth.NewJWTManager(nil, auth.WithKeys(k)); err == nil {
		t.Error("nil store accepted")
	}
	m, err := auth.NewJWTManager(store, auth.WithKeys(k), auth.WithIssuer("iss"), auth.WithAudience("aud"),
		auth.WithAccessTTL(time.Minute), auth.WithRefreshTTL(time.Hour))
	if err != nil || m.AccessTTL() != time.Minute || m.RefreshTTL() != time.Hour {
		t.Fatalf("configured manager: %v", err)
	}
}

func TestKeyConstructors(t *testing.T) {
	t.Parallel()
	if _, err := auth.NewHS256Key("k", make([]byte, 31)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("31-byte secret: %v", err)
	}
	for _, id := range []string{"", "has space", `quo"te`, strings.Repeat("x", 65)} {
		if _, err := auth.NewHS256Key(id, testSecret); !errors.Is(err, auth.ErrInvalidKey) {
			t.Errorf("kid %q: %v", id, err)
		}
	}
	if _, err := auth.NewEd25519Key("k", make([]byte, 10)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("short Ed25519 key: %v", err)
	}
	if _, err := auth.NewEd25519VerifyKey("k", make([]byte, 10)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("short Ed25519 public key: %v", err)
	}
	if _, err := auth.NewEd25519VerifyKey("", make([]byte, 32)); !errors.Is(err, auth.ErrInvalidKey) {
		t.Errorf("empty kid: %v", err)
	}
	k, err := auth.GenerateEd25519Key("gen")
	if err != nil || !k.CanSign() || k.Algorithm() != "EdDSA" {
		t.Fatalf("GenerateEd25519Key: %v", err)
	}
	if (auth.Key{}).Algorithm() != "" {
		t.Error("zero key has an algorithm")
	}
	// The secret is copied: changing the caller's slice changes nothing.
	secret := append([]byte(nil), testSecret...)
	hk := hsKey(t, "copy", secret)
	secret[0] ^= 0xff
	f := newFixture(t)
	if err := f.m.AddKey(hk); err != nil {
		t.Fatal(err)
	}
	if err := f.m.UseKey("copy"); err != nil {
		t.Fatal(err)
	}
	p := issue(t, f, alice)
	verifier, err := auth.NewJWTManager(f.store, auth.WithKeys(hsKey(t, "copy", testSecret)), auth.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.VerifyAccess(context.Background(), p.AccessToken); err != nil {
		t.Fatalf("key did not keep its own copy of the secret: %v", err)
	}
}

func TestStoreOutageFailsClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := issue(t, f, alice)
	m, err := auth.NewJWTManager(failingStore{}, auth.WithKeys(hsKey(t, "k1", testSecret)), auth.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.VerifyAccess(ctx, p.AccessToken); !errors.Is(err, errOutage) {
		t.Fatalf("VerifyAccess during outage: %v", err)
	}
	if _, err := m.Refresh(ctx, p.RefreshToken); !errors.Is(err, errOutage) {
		t.Fatalf("Refresh during outage: %v", err)
	}
	if _, err := m.IssuePair(ctx, alice); !errors.Is(err, errOutage) {
		t.Fatalf("IssuePair during outage: %v", err)
	}
	c, _ := f.m.VerifyAccess(ctx, p.AccessToken)
	for name, err := range map[string]error{
		"Logout":        m.Logout(ctx, c),
		"RevokeSession": m.RevokeSession(ctx, "s"),
		"RevokeUser":    m.RevokeUser(ctx, "u"),
	} {
		if !errors.Is(err, errOutage) {
			t.Errorf("%s during outage: %v", name, err)
		}
	}
}

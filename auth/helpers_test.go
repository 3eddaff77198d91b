package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/auth/authtest"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	testEdSeed  = []byte("ed25519 seed for maestro tests!!")
)

func hsKey(t testing.TB, id string, secret []byte) auth.Key {
	t.Helper()
	k, err := auth.NewHS256Key(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t testing.TB, id string) (auth.Key, ed25519.PrivateKey) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(testEdSeed)
	k, err := auth.NewEd25519Key(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	return k, priv
}

type fixture struct {
	m     *auth.JWTManager
	store *auth.MemoryTokenStore
	clock *authtest.Clock
}

func newFixture(t testing.TB, opts ...auth.Option) fixture {
	t.Helper()
	clk := authtest.NewClock(time.Now().Truncate(time.Second))
	store := auth.NewMemoryTokenStore()
	all := append([]auth.Option{auth.WithKeys(hsKey(t, "k1", testSecret)), auth.WithClock(clk.Now)}, opts...)
	m, err := auth.NewJWTManager(store, all...)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{m: m, store: store, clock: clk}
}

var alice = auth.Subject{UserID: "user-alice", TenantID: "tenant-a", Role: auth.RoleMember}

func issue(t testing.TB, f fixture, s auth.Subject) auth.Pair {
	t.Helper()
	p, err := f.m.IssuePair(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// decode returns the header and claims of a token without verifying it.
func decode(t testing.TB, token string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}

// forge signs header and claims with method and key, as an attacker or a
// misconfigured issuer would.
func forge(t testing.TB, method jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for k, v := range header {
		if k != "alg" {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unsignedNone(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{}
	for k, v := range header {
		h[k] = v
	}
	h["alg"] = "none"
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb) + "."
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isErr(err, want error) bool {
	return want == nil && err == nil || want != nil && errors.Is(err, want)
}

// failingStore is a TokenStore whose every call fails, standing in for a
// database outage.
type failingStore struct{ auth.TokenStore }

var errOutage = errors.New("store outage")

func (failingStore) CheckAccess(context.Context, string, string, string, time.Time) error {
	return errOutage
}
func (failingStore) RotateRefresh(context.Context, auth.RefreshRecord, auth.RefreshRecord, time.Time) error {
	return errOutage
}
func (failingStore) CreateSession(context.Context, auth.Session, auth.RefreshRecord) error {
	return errOutage
}
func (failingStore) RevokeSession(context.Context, string, time.Time) error { return errOutage }
func (failingStore) RevokeUser(context.Context, string, string, time.Time) error {
	return errOutage
}
func (failingStore) DenyToken(context.Context, string, time.Time, time.Time) error { return errOutage }

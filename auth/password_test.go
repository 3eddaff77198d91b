package auth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"golang.org/x/crypto/bcrypt"
)

// sharedHasher is built once: construction computes a hash, and the tests
// that only need default parameters can share it (it is safe for concurrent
// use).
var sharedHasher = sync.OnceValues(func() (*auth.PasswordHasher, error) { return auth.NewPasswordHasher() })

func hasher(t testing.TB) *auth.PasswordHasher {
	t.Helper()
	h, err := sharedHasher()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashAndVerify(t *testing.T) {
	t.Parallel()
	h := hasher(t)
	ctx := context.Background()
	const pw = "correct horse battery staple"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("PHC string %q", enc)
	}
	enc2, _ := h.Hash(ctx, pw)
	if enc == enc2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{pw, true}, {strings.ToUpper(pw), false}, {strings.Repeat("x", 2000), false}} {
		ok, err := h.Verify(ctx, tc.pw, enc)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%.20q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if h.NeedsRehash(enc) {
		t.Error("fresh hash needs rehash")
	}
	if _, err := h.Hash(ctx, strings.Repeat("x", 2000)); !errors.Is(err, auth.ErrWeakPassword) {
		t.Errorf("hashing a 2000-byte password: %v", err)
	}
	if p := h.Params(); p != auth.DefaultArgon2Params() || p.Memory < 19456 || p.Iterations < 2 || p.Parallelism != 1 {
		t.Errorf("default params %+v", p)
	}
}

func TestBcryptMigrationAndRehash(t *testing.T) {
	t.Parallel()
	h := hasher(t)
	ctx := context.Background()
	legacy, err := bcrypt.GenerateFromPassword([]byte("legacy password 1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"legacy password 1", true}, {"legacy password 2", false}} {
		ok, err := h.Verify(ctx, tc.pw, string(legacy))
		if err != nil || ok != tc.want {
			t.Errorf("bcrypt Verify(%q) = %v, %v", tc.pw, ok, err)
		}
	}
	if !h.NeedsRehash(string(legacy)) {
		t.Error("bcrypt hash does not need rehash")
	}
	stronger, err := auth.NewPasswordHasher(auth.WithArgon2Params(auth.Argon2Params{Memory: 19456, Iterations: 3, Parallelism: 1, SaltLen: 16, KeyLen: 32}))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := h.Hash(ctx, "some password here")
	if !stronger.NeedsRehash(old) {
		t.Error("hash with fewer iterations does not need rehash")
	}
	if ok, err := stronger.Verify(ctx, "some password here", old); !ok || err != nil {
		t.Errorf("old-parameter hash no longer verifies: %v %v", ok, err)
	}
	if !h.NeedsRehash("garbage") {
		t.Error("unknown format does not need rehash")
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	h := hasher(t)
	good, _ := h.Hash(context.Background(), "password for parsing")
	parts := strings.Split(good, "$")
	mk := func(i int, v string) string {
		p := slices.Clone(parts)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, enc := range map[string]string{
		"empty":              "",
		"plain text":         "password",
		"argon2i":            mk(1, "argon2i"),
		"old version":        mk(2, "v=16"),
		"missing parameter":  mk(3, "m=19456,t=2"),
		"reordered":          mk(3, "t=2,m=19456,p=1"),
		"leading zero":       mk(3, "m=019456,t=2,p=1"),
		"huge memory":        mk(3, "m=4194304,t=2,p=1"),
		"huge iterations":    mk(3, "m=19456,t=1000,p=1"),
		"zero iterations":    mk(3, "m=19456,t=0,p=1"),
		"zero lanes":         mk(3, "m=19456,t=2,p=0"),
		"too many lanes":     mk(3, "m=19456,t=2,p=256"),
		"bad salt":           mk(4, "!!!"),
		"short salt":         mk(4, "AAAA"),
		"bad hash":           mk(5, "%%%"),
		"short hash":         mk(5, "AAAA"),
		"extra field":        good + "$x",
		"malformed bcrypt":   "$2b$99$abc",
		"very long":          good + strings.Repeat("A", 600),
		"padded base64 salt": mk(4, parts[4]+"=="),
	} {
		ok, err := h.Verify(context.Background(), "password for parsing", enc)
		if ok || !errors.Is(err, auth.ErrUnsupportedHash) {
			t.Errorf("%s: Verify = %v, %v; want ErrUnsupportedHash", name, ok, err)
		}
	}
}

func TestHasherOptions(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]auth.Argon2Params{
		"memory below OWASP":     {Memory: 8192, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		"one iteration":          {Memory: 19456, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		"no lanes":               {Memory: 19456, Iterations: 2, Parallelism: 0, SaltLen: 16, KeyLen: 32},
		"short salt":             {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 8, KeyLen: 32},
		"short key":              {Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 8},
		"absurd iteration count": {Memory: 19456, Iterations: 1000, Parallelism: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := auth.NewPasswordHasher(auth.WithArgon2Params(p)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := auth.NewPasswordHasher(auth.WithMaxConcurrentHashes(0)); err == nil {
		t.Error("zero concurrency accepted")
	}
}

// TestUnknownUserTiming checks that the dummy path for an unknown user
// costs about what a wrong password for a known user costs, so response
// time does not reveal which user names exist. The two are measured
// alternately and the fastest run of each compared (load on a shared
// machine only ever adds time), with a generous factor.
func TestUnknownUserTiming(t *testing.T) {
	h := hasher(t)
	ctx := context.Background()
	stored, _ := h.Hash(ctx, "the real password")
	known, unknown := time.Duration(1<<62), time.Duration(1<<62)
	// Both paths run the same argon2id computation, so their fastest runs
	// agree closely on a quiet machine; the loose bound below only keeps a
	// loaded CI machine (other test packages run beside this one) from
	// making the test flaky, while a missing dummy hash (microseconds
	// against tens of milliseconds) still fails it by orders of magnitude.
	for range 10 {
		start := time.Now()
		_, _ = h.Verify(ctx, "a wrong password", stored)
		known = min(known, time.Since(start))
		start = time.Now()
		_ = h.VerifyDummy(ctx, "a wrong password")
		unknown = min(unknown, time.Since(start))
	}
	ratio := float64(unknown) / float64(known)
	t.Logf("known user, wrong password: %s; unknown user: %s; ratio %.2f", known, unknown, ratio)
	if ratio < 1.0/3 || ratio > 3 {
		t.Fatalf("unknown-user path takes %.2fx the known-user path; want within 3x", ratio)
	}
}

package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/maestro-ml/maestro/auth"
)

// phc builds an argon2id PHC string with the given parameters and a real
// hash of password, without the bounds a PasswordHasher applies.
func phc(password string, m, t uint32, p uint8) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// TestVerifyBoundsStoredHashCost checks that a stored hash cannot make a
// verification arbitrarily expensive: parameters above the verification
// ceilings (and the hasher's own parameters) are refused before any
// hashing, while common parameters of other argon2id libraries verify.
// Before the fix, a hash with 255 lanes was computed, and hashes of 1 GiB
// and 64 iterations or bcrypt cost 31 (days of CPU) were accepted.
func TestVerifyBoundsStoredHashCost(t *testing.T) {
	t.Parallel()
	h := hasher(t)
	ctx := context.Background()
	const salt, key = "MDEyMzQ1Njc4OWFiY2RlZg", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	bcrypt4, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	costly := string(bcrypt4[:4]) + "31" + string(bcrypt4[6:])
	for name, enc := range map[string]string{
		"255 lanes":       phc("pw", 19456, 2, 255),
		"1 GiB":           "$argon2id$v=19$m=1048576,t=2,p=1$" + salt + "$" + key,
		"64 iterations":   "$argon2id$v=19$m=19456,t=64,p=1$" + salt + "$" + key,
		"4 GiB of passes": "$argon2id$v=19$m=262144,t=16,p=1$" + salt + "$" + key,
		"bcrypt cost 31":  costly,
	} {
		ok, err := h.Verify(ctx, "pw", enc)
		if ok || !errors.Is(err, auth.ErrUnsupportedHash) {
			t.Errorf("%s: Verify = %v, %v; want ErrUnsupportedHash", name, ok, err)
		}
	}
	// argon2-cffi's default (64 MiB, 3 iterations, 4 lanes) is within bounds.
	if ok, err := h.Verify(ctx, "pw", phc("pw", 64*1024, 3, 4)); !ok || err != nil {
		t.Errorf("argon2-cffi default parameters: Verify = %v, %v", ok, err)
	}
	// A hasher configured above the ceilings verifies its own hashes.
	big, err := auth.NewPasswordHasher(auth.WithArgon2Params(auth.Argon2Params{Memory: 19 * 1024, Iterations: 20, Parallelism: 1, SaltLen: 16, KeyLen: 32}))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := big.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := big.Verify(ctx, "pw", enc); !ok || err != nil {
		t.Errorf("own parameters above the ceiling: Verify = %v, %v", ok, err)
	}
}

// TestIPKeyDropsPort checks that an address with a port (as in
// http.Request.RemoteAddr) is throttled under the address alone. Before
// the fix every source port was a fresh per-IP budget.
func TestIPKeyDropsPort(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1:51234":       "192.0.2.1",
		"[2001:db8:1:2::7]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80": "192.0.2.1",
		"[fe80::1%eth0]:22":     "fe80::/64",
		"192.0.2.1:notaport":    "192.0.2.1:notaport",
		"example.com:443":       "example.com:443",
	} {
		if got := auth.IPKey(in); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", in, got, want)
		}
	}
}

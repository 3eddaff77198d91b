package auth

import (
	"testing"
)

// FuzzDecodePHC checks the PHC parser alone (no hashing, so a fuzzed
// parameter set cannot make the fuzzer allocate): no panics, and anything
// accepted stays inside the bounds and round-trips.
func FuzzDecodePHC(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=1048577,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$$",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		"$2b$10$abcdefghijklmnopqrstuu",
		"",
		"$$$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			return
		}
		if p.Memory > maxArgon2Memory || p.Iterations > maxArgon2Iterations || p.Iterations < 1 || p.Parallelism < 1 ||
			len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted out-of-bounds parameters %+v", p)
		}
		if again := encodePHC(p, salt, key); again != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, again)
		}
	})
}

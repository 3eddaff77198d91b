package secrets_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/maestro-ml/maestro/secrets"
)

func TestCheckStrength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    string
		opts []secrets.StrengthOption
		want secrets.WeakKind // 0: accepted
	}{
		{"empty", "", nil, secrets.WeakTooShort},
		{"short random", "Xq7_v2LmPz", nil, secrets.WeakTooShort},
		{"31 bytes", strings.Repeat("x", 31), nil, secrets.WeakTooShort},
		{"changeme", "changeme", nil, secrets.WeakTooShort},
		{"changeme padded", "changeme-changeme-changeme-change", nil, secrets.WeakKnownDefault},
		{"leet password", "P@ssw0rd!P@ssw0rd!P@ssw0rd!P@ssw0rd!", nil, secrets.WeakKnownDefault},
		{"maestro secret", "my-maestro-secret-for-production", nil, secrets.WeakKnownDefault},
		{"admin with digits", "admin1234", []secrets.StrengthOption{secrets.StrengthMinLength(8)}, secrets.WeakKnownDefault},
		{"short default exact", "test!!", []secrets.StrengthOption{secrets.StrengthMinLength(4)}, secrets.WeakKnownDefault},
		{"host word", "acme-corp-acme-corp-acme-corp-acme", []secrets.StrengthOption{secrets.StrengthKnownDefaults("AcmeCorp")}, secrets.WeakKnownDefault},
		{"one char", strings.Repeat("a", 40), nil, secrets.WeakSmallAlphabet},
		{"two chars", strings.Repeat("ab", 20), nil, secrets.WeakSmallAlphabet},
		{"alphabet run", "abcdefghijklmnopqrstuvwxyz012345", nil, secrets.WeakLowEntropy},
		{"hex run twice", "0123456789abcdef0123456789abcdef", nil, secrets.WeakLowEntropy},
		{"repeated phrase", "Summer2024!Summer2024!Summer2024", nil, secrets.WeakLowEntropy},
		{"even run", "02468:<>@BDFHJLNPRTVXZ\\^`bdfhjlnp", nil, secrets.WeakLowEntropy},
		{"generated key", "hL3mJ0o1yq3b2z5QvJmWq0w2gq5m6D4y1oQy7yq5l9E", nil, 0},
		{"random hex 128-bit", "9f86d081884c7d659a2feaa0c55ad015", nil, 0},
		{"uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", nil, 0},
		{"raised entropy bar", "9f86d081884c7d659a2feaa0c55ad015", []secrets.StrengthOption{secrets.StrengthMinEntropyBits(200)}, secrets.WeakLowEntropy},
		{"lowered length for passwords", "v9#Lq2!xR7pZ", []secrets.StrengthOption{secrets.StrengthMinLength(12), secrets.StrengthMinEntropyBits(45)}, 0},
		{"non-ASCII", "Grüße-aus-Köln-ÄÖÜ-ß-ça-va-très-bien-1-2", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := secrets.CheckStrength(tc.s, tc.opts...)
			if tc.want == 0 {
				if err != nil {
					t.Fatalf("CheckStrength refused: %v", err)
				}
				return
			}
			var weak *secrets.WeakSecretError
			if !errors.As(err, &weak) || weak.Kind != tc.want {
				t.Fatalf("CheckStrength = %v; want kind %v", err, tc.want)
			}
			if !errors.Is(err, secrets.ErrWeakSecret) {
				t.Fatal("error does not match ErrWeakSecret")
			}
			if weak.Requirement == "" || !strings.Contains(err.Error(), tc.want.String()) {
				t.Fatalf("error %q lacks the reason or the requirement", err)
			}
			if len(tc.s) >= 4 && strings.Contains(err.Error(), tc.s) {
				t.Fatalf("error echoes the secret: %q", err)
			}
		})
	}
}

func TestCheckStrengthSaysWhatIsRequired(t *testing.T) {
	t.Parallel()
	err := secrets.CheckStrength("short")
	if err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestWeakKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[secrets.WeakKind]string{
		secrets.WeakTooShort:      "too short",
		secrets.WeakKnownDefault:  "a well-known default value",
		secrets.WeakSmallAlphabet: "too few distinct characters",
		secrets.WeakLowEntropy:    "too little entropy",
		secrets.WeakKind(99):      "weak",
	} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 500 {
		s, err := secrets.Generate(secrets.KeyBytes)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 43 || strings.ContainsAny(s, "+/=") {
			t.Fatalf("Generate(32) = %q: want 43 URL-safe characters", s)
		}
		if seen[s] {
			t.Fatal("Generate repeated a value")
		}
		seen[s] = true
		// Every generated key must pass the strength check.
		if err := secrets.CheckStrength(s); err != nil {
			t.Fatalf("generated key refused: %v", err)
		}
	}
	for n, wantLen := range map[int]int{16: 22, 17: 23, 48: 64, 4096: 5462} {
		s, err := secrets.Generate(n)
		if err != nil || len(s) != wantLen {
			t.Errorf("Generate(%d) = %d chars, %v; want %d", n, len(s), err, wantLen)
		}
	}
	for _, n := range []int{-1, 0, 15, 4097} {
		if _, err := secrets.Generate(n); err == nil {
			t.Errorf("Generate(%d) succeeded", n)
		}
	}
}

// TestCheckStrengthRandomHex checks that random 128-bit hex strings, the
// output of `openssl rand -hex 16`, are accepted.
func TestCheckStrengthRandomHex(t *testing.T) {
	t.Parallel()
	for range 500 {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		h := hex.EncodeToString(b)
		if err := secrets.CheckStrength(h); err != nil {
			t.Fatalf("random hex refused: %v", err)
		}
	}
}

func BenchmarkCheckStrength(b *testing.B) {
	s, _ := secrets.Generate(secrets.KeyBytes)
	for b.Loop() {
		_ = secrets.CheckStrength(s)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		_, _ = secrets.Generate(secrets.KeyBytes)
	}
}

func BenchmarkCheckStrengthLong(b *testing.B) {
	s, _ := secrets.Generate(secrets.MaxGenerateBytes)
	for b.Loop() {
		_ = secrets.CheckStrength(s)
	}
}

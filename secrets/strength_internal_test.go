package secrets

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
)

// TestEntropyCalibration measures the entropy estimate on random keys and
// checks that the default threshold leaves a margin below them. Run with
// -v to see the distribution quoted in docs/secrets.md.
func TestEntropyCalibration(t *testing.T) {
	t.Parallel()
	const samples = 5000
	var hexScores, keyScores []float64
	for range samples {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		hexScores = append(hexScores, estimateEntropy(hex.EncodeToString(b)))
		k, err := Generate(KeyBytes)
		if err != nil {
			t.Fatal(err)
		}
		keyScores = append(keyScores, estimateEntropy(k))
	}
	slices.Sort(hexScores)
	slices.Sort(keyScores)
	t.Logf("random 32-char hex (128 bits): min %.1f, 0.1%% %.1f, median %.1f bits", hexScores[0], hexScores[samples/1000], hexScores[samples/2])
	t.Logf("Generate(32) (256 bits):       min %.1f, 0.1%% %.1f, median %.1f bits", keyScores[0], keyScores[samples/1000], keyScores[samples/2])
	if hexScores[0] < DefaultMinEntropyBits+5 || keyScores[0] < 2*DefaultMinEntropyBits {
		t.Fatalf("threshold %d too close to random keys", DefaultMinEntropyBits)
	}
	for _, weak := range []string{
		"Summer2024!Summer2024!Summer2024",
		"abcdefghijklmnopqrstuvwxyz012345",
		"0123456789abcdef0123456789abcdef",
		"qwertyqwertyqwertyqwertyqwertyqw",
	} {
		if e := estimateEntropy(weak); e >= DefaultMinEntropyBits/1.5 {
			t.Errorf("estimate for a pattern is %.1f bits", e)
		}
	}
}

func TestIsRun(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    string
		want bool
	}{{"aaa", true}, {"abc", true}, {"cba", true}, {"ace", true}, {"adg", false}, {"abd", false}} {
		if got := isRun(c.s[0], c.s[1], c.s[2]); got != c.want {
			t.Errorf("isRun(%q) = %v", c.s, got)
		}
	}
}

func TestEstimateEntropyWindow(t *testing.T) {
	t.Parallel()
	long := make([]byte, 4096)
	_, _ = rand.Read(long)
	if e, w := estimateEntropy(string(long)), estimateEntropy(string(long[:strengthWindow])); e != w {
		t.Fatalf("estimate %.1f looks past the window (%.1f)", e, w)
	}
	if shannon("") != 0 || poolSize("") != 1 {
		t.Fatal("empty input")
	}
}

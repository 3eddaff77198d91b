package secrets

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Defaults of CheckStrength.
const (
	// DefaultMinLength is the least length, in bytes, CheckStrength accepts
	// unless told otherwise: a key of 32 bytes (256 bits), as HMAC-SHA256
	// signing keys should be (RFC 7518 §3.2 requires at least the hash
	// size).
	DefaultMinLength = 32
	// DefaultMinEntropyBits is the least estimated entropy CheckStrength
	// accepts unless told otherwise. The estimate is conservative: a
	// random 32-character hexadecimal string (128 bits) scores above it,
	// a word repeated to length scores far below.
	DefaultMinEntropyBits = 80
	// strengthWindow is how many leading bytes the entropy estimate
	// examines; it keeps the check fast on long inputs.
	strengthWindow = 256
	// defaultsWindow is how many leading bytes the search for well-known
	// defaults examines.
	defaultsWindow = 1024
	// minDistinct is the least number of distinct bytes a secret must use.
	minDistinct = 8
)

// ErrWeakSecret is matched (errors.Is) by every *WeakSecretError.
var ErrWeakSecret = errors.New("weak secret")

// WeakKind says why CheckStrength refused a secret.
type WeakKind int

// The reasons CheckStrength gives.
const (
	// WeakTooShort: fewer bytes than required.
	WeakTooShort WeakKind = iota + 1
	// WeakKnownDefault: the secret is, or is mostly made of, a well-known
	// default or placeholder such as "changeme" or "password", possibly
	// in leetspeak ("passw0rd").
	WeakKnownDefault
	// WeakSmallAlphabet: the secret uses too few distinct characters.
	WeakSmallAlphabet
	// WeakLowEntropy: the estimated entropy is too low, as for repeated
	// patterns or runs such as "abcdef" or "123456".
	WeakLowEntropy
)

// String names the reason.
func (k WeakKind) String() string {
	switch k {
	case WeakTooShort:
		return "too short"
	case WeakKnownDefault:
		return "a well-known default value"
	case WeakSmallAlphabet:
		return "too few distinct characters"
	case WeakLowEntropy:
		return "too little entropy"
	}
	return "weak"
}

// WeakSecretError reports why a secret was refused. It never contains the
// secret, nor any part of it.
type WeakSecretError struct {
	// Kind is the reason.
	Kind WeakKind
	// Requirement says, in words, what a secret must satisfy to pass.
	Requirement string
}

// Error describes the reason and the requirement.
func (e *WeakSecretError) Error() string {
	return "secrets: weak secret: " + e.Kind.String() + "; " + e.Requirement
}

// Is reports whether target is ErrWeakSecret.
func (e *WeakSecretError) Is(target error) bool { return target == ErrWeakSecret }

// knownDefaults lists values that ship as examples, defaults and
// placeholders in documentation and configuration files, and the most
// common passwords, separated by spaces. It is a constant so that no one
// can change it at run time; it is not exhaustive, and hosts add their own
// words with StrengthKnownDefaults.
const knownDefaults = "changeme changeit maestro password secret admin default letmein " +
	"qwerty welcome example sample insecure development testing placeholder replaceme " +
	"iloveyou trustno hunter dragon monkey master 123456 abc123 111111 000000 " +
	"test root guest pass key dev demo token user"

// strengthConfig holds CheckStrength's settings.
type strengthConfig struct {
	minLength  int
	minEntropy float64
	extraWords []string
}

// StrengthOption configures CheckStrength. An option given an invalid
// value makes CheckStrength return an error wrapping ErrInvalid (not
// ErrWeakSecret: it is a mistake of the caller, not a verdict on the
// secret).
type StrengthOption func(*strengthConfig) error

// StrengthMinLength sets the least length in bytes (default
// DefaultMinLength). Lowering it below 32 suits passwords typed by people,
// not keys. n must be at least one.
func StrengthMinLength(n int) StrengthOption {
	return func(c *strengthConfig) error {
		if n < 1 {
			return invalidf("strength: minimum length %d is below one", n)
		}
		c.minLength = n
		return nil
	}
}

// StrengthMinEntropyBits sets the least estimated entropy in bits (default
// DefaultMinEntropyBits). bits must be a number of at least zero.
func StrengthMinEntropyBits(bits float64) StrengthOption {
	return func(c *strengthConfig) error {
		if !(bits >= 0) || math.IsInf(bits, 1) {
			return invalidf("strength: minimum entropy %v is not a finite number >= 0", bits)
		}
		c.minEntropy = bits
		return nil
	}
}

// StrengthKnownDefaults adds words to the list of well-known defaults, such
// as the host application's own name. Matching ignores case, separators and
// common leetspeak substitutions. A word with nothing to match (empty, or
// only separators) is invalid.
func StrengthKnownDefaults(words ...string) StrengthOption {
	return func(c *strengthConfig) error {
		for i, w := range words {
			n := normalizeSecret(w)
			if n == "" {
				return invalidf("strength: known default %d has no letters or digits", i)
			}
			c.extraWords = append(c.extraWords, n)
		}
		return nil
	}
}

// CheckStrength reports whether s is strong enough to serve as a key or
// credential. It returns nil, or a *WeakSecretError (matching
// ErrWeakSecret) whose Kind is the first failed check, in this order:
//
//  1. length: at least DefaultMinLength (32) bytes;
//  2. well-known defaults: s must not be, or be mostly made of, a value such
//     as "changeme", "maestro", "password", "secret", "admin" or "default",
//     ignoring case, separators and leetspeak;
//  3. alphabet: at least 8 distinct characters;
//  4. entropy: an estimate of at least DefaultMinEntropyBits (80) bits.
//
// The entropy estimate treats s as a sequence of symbols drawn from the
// character classes it uses (lower case, upper case, digits, punctuation,
// other bytes), bounded by the Shannon entropy of its own character
// frequencies, and charges only a few bits for a repetition of an earlier
// substring or the continuation of a run such as "abcd" or "2468". The
// estimate examines at most the first 256 bytes, the search for defaults
// the first 1024, so the check takes well under a millisecond on any
// input. It is a heuristic that catches patterns, not a proof of
// randomness: a secret from Generate(KeyBytes) passes with a wide margin,
// while a sentence or a name need not fail, so prefer generated secrets.
//
// The error never contains s or any part of it.
func CheckStrength(s string, opts ...StrengthOption) error {
	cfg := strengthConfig{minLength: DefaultMinLength, minEntropy: DefaultMinEntropyBits}
	for _, opt := range opts {
		if opt == nil {
			return invalidf("strength: nil option")
		}
		if err := opt(&cfg); err != nil {
			return err
		}
	}
	if len(s) < cfg.minLength {
		return &WeakSecretError{Kind: WeakTooShort, Requirement: "at least " + strconv.Itoa(cfg.minLength) + " bytes are required; use Generate(KeyBytes) for keys"}
	}
	if isKnownDefault(s, cfg.extraWords) {
		return &WeakSecretError{Kind: WeakKnownDefault, Requirement: "a secret must not be built from well-known default or placeholder values; use Generate"}
	}
	if distinctBytes(s) < minDistinct {
		return &WeakSecretError{Kind: WeakSmallAlphabet, Requirement: "at least " + strconv.Itoa(minDistinct) + " distinct characters are required"}
	}
	if estimateEntropy(s) < cfg.minEntropy {
		return &WeakSecretError{Kind: WeakLowEntropy, Requirement: "an estimated " + strconv.FormatFloat(cfg.minEntropy, 'f', -1, 64) + " bits of entropy are required; avoid repetitions and runs, or use Generate"}
	}
	return nil
}

// normalizeSecret lower-cases s and drops separators, so that "Change-Me"
// and "change_me" compare equal to "changeme".
func normalizeSecret(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c == '-', c == '_', c == '.', c == ' ', c == '/', c == ':':
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unleet undoes common leetspeak substitutions in a normalised string.
func unleet(s string) string {
	return strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i").Replace(s)
}

// isKnownDefault reports whether s is a known default (for words shorter
// than five letters: exactly, give or take trailing digits and symbols) or
// is at least 40% covered by occurrences of known defaults (for longer
// words). Coverage rather than containment keeps a long random secret
// that happens to contain "admin" from being refused.
func isKnownDefault(s string, extra []string) bool {
	if len(s) > defaultsWindow {
		s = s[:defaultsWindow]
	}
	norm := normalizeSecret(s)
	for _, form := range [...]string{norm, unleet(norm)} {
		if form == "" {
			continue
		}
		covered := make([]bool, len(form))
		check := func(w string) bool {
			if len(w) < 5 {
				return strings.TrimRightFunc(form, func(r rune) bool {
					return !('a' <= r && r <= 'z')
				}) == w
			}
			for off := 0; ; {
				i := strings.Index(form[off:], w)
				if i < 0 {
					return false
				}
				for j := off + i; j < off+i+len(w); j++ {
					covered[j] = true
				}
				off += i + 1
			}
		}
		for _, w := range strings.Fields(knownDefaults) {
			if check(w) {
				return true
			}
		}
		for _, w := range extra {
			if check(w) {
				return true
			}
		}
		n := 0
		for _, c := range covered {
			if c {
				n++
			}
		}
		if n*10 >= len(form)*4 {
			return true
		}
	}
	return false
}

// distinctBytes counts the distinct byte values in s.
func distinctBytes(s string) int {
	var seen [256]bool
	n := 0
	for i := 0; i < len(s); i++ {
		if !seen[s[i]] {
			seen[s[i]] = true
			n++
		}
	}
	return n
}

// estimateEntropy returns a conservative estimate, in bits, of the entropy
// of the first strengthWindow bytes of s; see CheckStrength.
func estimateEntropy(s string) float64 {
	if len(s) > strengthWindow {
		s = s[:strengthWindow]
	}
	perChar := math.Min(math.Log2(float64(poolSize(s))), shannon(s))
	bits := 0.0
	for i := 0; i < len(s); {
		if l := longestEarlierMatch(s, i); l >= 3 {
			// A copy of earlier text costs its position and length.
			bits += math.Log2(float64(i)) + math.Log2(float64(l))
			i += l
			continue
		}
		if i >= 2 && isRun(s[i-2], s[i-1], s[i]) {
			bits++
		} else {
			bits += perChar
		}
		i++
	}
	return bits
}

// isRun reports whether c continues the arithmetic run a, b with a step of
// at most 2 ("aaa", "abc", "246", "zyx").
func isRun(a, b, c byte) bool {
	d1, d2 := int(b)-int(a), int(c)-int(b)
	return d1 == d2 && d1 >= -2 && d1 <= 2
}

// longestEarlierMatch returns the length of the longest prefix of s[i:]
// that also starts at some j < i (overlap allowed, as in LZ77).
func longestEarlierMatch(s string, i int) int {
	longest := 0
	for j := 0; j < i && i+longest < len(s); j++ {
		l := 0
		for i+l < len(s) && s[j+l] == s[i+l] {
			l++
		}
		longest = max(longest, l)
	}
	return longest
}

// poolSize is the size of the union of the character classes s draws from.
func poolSize(s string) int {
	var lower, upper, digit, punct, other bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			lower = true
		case 'A' <= c && c <= 'Z':
			upper = true
		case '0' <= c && c <= '9':
			digit = true
		case c >= 0x20 && c < 0x7f:
			punct = true
		default:
			other = true
		}
	}
	n := 0
	for _, class := range [...]struct {
		used bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {punct, 33}, {other, 161}} {
		if class.used {
			n += class.size
		}
	}
	return max(n, 1)
}

// shannon estimates the Shannon entropy, in bits per byte, of the source
// of s from its byte frequencies.
func shannon(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h, n, k := 0.0, float64(len(s)), 0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
			k++
		}
	}
	// The plug-in estimate is biased low on short strings, where every
	// secret lives; add the Miller-Madow correction (k-1)/(2n) nats.
	return h + float64(k-1)/(2*n*math.Ln2)
}

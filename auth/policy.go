package auth

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Password length bounds of CheckPasswordPolicy, in characters (Unicode
// code points), following OWASP's Authentication Cheat Sheet: long enough to
// resist guessing without composition rules, long enough a maximum for
// passphrases.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 128
)

//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords returns the set built once, on first use, from the
// embedded list; the set is never modified afterwards.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 512)
	for line := range strings.SplitSeq(commonPasswordsText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
})

// CheckPasswordPolicy returns nil when password may be used as a new
// password, else a *PolicyError (wrapping ErrWeakPassword) saying why.
// The rules: 12 to 128 characters of valid UTF-8; not made of one repeated
// character or a repeated short pattern; not on the bundled list of common
// passwords, also after lower-casing, undoing common character
// substitutions (p@ssw0rd) and removing leading or trailing digits and
// symbols (password2024!); and not containing any of userInputs (such as
// the username or e-mail address) of three or more characters. There are
// deliberately no composition rules (OWASP, NIST SP 800-63B).
func CheckPasswordPolicy(password string, userInputs ...string) error {
	if !utf8.ValidString(password) {
		return &PolicyError{Reason: "password is not valid UTF-8"}
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen {
		return &PolicyError{Reason: "password must have at least 12 characters"}
	}
	if n > MaxPasswordLen {
		return &PolicyError{Reason: "password must have at most 128 characters"}
	}
	lower := strings.ToLower(password)
	if isRepetitive(lower) {
		return &PolicyError{Reason: "password is a repeated pattern"}
	}
	for _, c := range passwordCandidates(lower) {
		if _, bad := commonPasswords()[c]; bad {
			return &PolicyError{Reason: "password is too common"}
		}
	}
	for _, in := range userInputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if local, _, ok := strings.Cut(in, "@"); ok {
			in = local
		}
		if utf8.RuneCountInString(in) >= 3 && strings.Contains(lower, in) {
			return &PolicyError{Reason: "password must not contain your user name or e-mail address"}
		}
	}
	return nil
}

// passwordCandidates returns lower and its variations that the common list
// is checked against.
func passwordCandidates(lower string) []string {
	out := []string{lower}
	trimmed := strings.TrimFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if trimmed != "" && trimmed != lower {
		out = append(out, trimmed)
	}
	for _, s := range out[:len(out):len(out)] {
		if d := deLeet(s); d != s {
			out = append(out, d)
			if t := strings.TrimFunc(d, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) }); t != "" && t != d {
				out = append(out, t)
			}
		}
	}
	return out
}

var leet = strings.NewReplacer("0", "o", "@", "a", "4", "a", "3", "e", "$", "s", "5", "s", "7", "t", "!", "i")

func deLeet(s string) string { return leet.Replace(s) }

// isRepetitive reports whether s is one unit of at most four characters
// repeated, like "aaaaaaaaaaaa" or "abcabcabcabc".
func isRepetitive(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= 4 && unit < len(r); unit++ {
		if len(r)%unit != 0 {
			continue
		}
		same := true
		for i := unit; i < len(r); i++ {
			if r[i] != r[i-unit] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

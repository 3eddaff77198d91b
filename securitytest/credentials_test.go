package securitytest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// credentialPatterns are the shapes of committed secrets this repository
// could plausibly leak: key material, provider tokens, Maestro's own API
// keys and JWTs, URLs with a password, and quoted assignments to
// credential-named variables.
var credentialPatterns = []struct {
	name string
	re   *regexp.Regexp
}{
	{"private key", regexp.MustCompile(`-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----`)},
	{"AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"GitHub token", regexp.MustCompile(`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{40,}`)},
	{"Slack token", regexp.MustCompile(`\bxox[abprs]-[A-Za-z0-9-]{10,}`)},
	{"OpenAI-style key", regexp.MustCompile(`\bsk-(?:proj-)?[A-Za-z0-9]{32,}`)},
	{"Maestro API key", regexp.MustCompile(`\bmst_[A-Za-z0-9]{43}\b`)},
	{"JWT", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}`)},
	{"URL with a password", urlPassword},
	{"credential assignment", regexp.MustCompile(`(?i)(?:password|passwd|secret|api_?key|token)["']?\s*[:=]\s*["'][^"'\s$]{12,}["']`)},
}

// urlPassword matches a URL with user information; the password is the
// first group. Placeholders ("...", "PASSWORD", "$VAR", "***") are not
// credentials (see isPlaceholder).
var urlPassword = regexp.MustCompile(`\b[a-z][a-z0-9+.-]*://[^\s:/@"'` + "`" + `]+:([^\s@/"'` + "`" + `]{3,})@`)

// isPlaceholder reports whether a password in a URL is a documentation
// placeholder rather than a value.
var isPlaceholder = regexp.MustCompile(`^(?:\.{3}|[A-Z][A-Z0-9_]*|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\*+|x+|<[^>]+>)$`).MatchString

// credentialAllowed lists the committed matches that are not credentials:
// each entry is a path (relative to the repository root, as git prints
// it) and a substring of the matching line, with the reason.
var credentialAllowed = []struct{ path, line, why string }{
	{".ci/services", "postgres://postgres:postgres@127.0.0.1", "the throw-away local test cluster's superuser, set by this script itself"},
	{".ci/services", "ALTER USER postgres PASSWORD 'postgres'", "the same throw-away local test cluster"},
	{"bench/loadtest/scripts/start-pg.sh", "postgres://postgres:postgres@127.0.0.1", "the load test uses the throw-away local cluster of .ci/services"},
	{"PERFORMANCE_RESULTS.md", "postgres://postgres:postgres@127.0.0.1", "documents the load-test commands against the throw-away local cluster of .ci/services"},
	{"examples/quickstart-secrets/main.go", "postgres://app:s3cret@db:5432/maestro", "a made-up value the quickstart writes to a temporary file to show NAME_FILE"},
}

// TestNoCommittedCredentials scans every file git tracks (and every
// untracked file it would add) for credentials. Test files and testdata
// may hold made-up credentials; everything else must be clean or listed in
// credentialAllowed with a reason.
func TestNoCommittedCredentials(t *testing.T) {
	t.Parallel()
	root := repoRoot()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output() // #nosec G204 -- fixed git command on the repository root
	if err != nil {
		t.Skipf("git ls-files: %v (not a git checkout)", err)
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	scanned := 0
	for _, f := range files {
		if f == "" || isFixture(f) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f)) // #nosec G304 -- reading the repository's own files is the test
		if err != nil || bytes.IndexByte(b, 0) >= 0 { // deleted, or binary
			continue
		}
		scanned++
		for i, line := range strings.Split(string(b), "\n") {
			for _, p := range credentialPatterns {
				if !matches(p.re, line) || allowedCredential(f, line) {
					continue
				}
				t.Errorf("%s:%d: %s: %.120s", f, i+1, p.name, strings.TrimSpace(line))
			}
		}
	}
	if scanned < 50 {
		t.Errorf("only %d files scanned: the listing is broken", scanned)
	}
	t.Logf("%d files scanned for credentials", scanned)
}

// isFixture reports whether path is test code or test data, which may hold
// made-up credentials (they are test fixtures by construction).
func isFixture(path string) bool {
	return strings.HasSuffix(path, "_test.go") || strings.Contains(path, "/testdata/") ||
		strings.HasPrefix(path, "testdata/") || strings.Contains(path, "/authtest/") || strings.Contains(path, "/blobtest/")
}

// assignment is the credential-assignment pattern; identifiers such as
// envAdminPassword = "MAESTRO_ADMIN_PASSWORD" are names, not values.
var assignment = credentialPatterns[len(credentialPatterns)-1].re

// identifier matches values that are names (environment variables, error
// codes) rather than secrets.
var identifier = regexp.MustCompile(`^[A-Za-z_]+$`)

// matches reports whether re finds a credential in line, after discarding
// URL placeholders and identifier values.
func matches(re *regexp.Regexp, line string) bool {
	switch re {
	case urlPassword:
		return re.MatchString(line) && !allPlaceholders(line)
	case assignment:
		for _, m := range re.FindAllString(line, -1) {
			i := strings.IndexAny(m, "=:")
			v := strings.Trim(strings.TrimSpace(m[i+1:]), `"'`)
			if !identifier.MatchString(v) {
				return true
			}
		}
		return false
	}
	return re.MatchString(line)
}

// allPlaceholders reports whether every URL password in line is a
// placeholder.
func allPlaceholders(line string) bool {
	for _, m := range urlPassword.FindAllStringSubmatch(line, -1) {
		if !isPlaceholder(m[1]) {
			return false
		}
	}
	return true
}

func allowedCredential(path, line string) bool {
	for _, a := range credentialAllowed {
		if a.path == path && strings.Contains(line, a.line) {
			return true
		}
	}
	return false
}

// TestCredentialPatterns keeps the patterns above honest: each finds what
// it is for and passes ordinary code.
func TestCredentialPatterns(t *testing.T) {
	t.Parallel()
	hits := []string{
		"-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "AKIAABCDEFGHIJKLMNOP",
		"ghp_" + strings.Repeat("a", 36), "xoxb-1234567890-abc", "sk-" + strings.Repeat("A", 40),
		"mst_" + strings.Repeat("A", 43), "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
		"postgres://app:s3cretpass@db/maestro", `password: "correct-horse-battery"`, `MAESTRO_JWT_SECRET="abcdefgh12345678"`,
	}
	for _, h := range hits {
		found := false
		for _, p := range credentialPatterns {
			found = found || matches(p.re, h)
		}
		if !found {
			t.Errorf("no pattern finds %q", h)
		}
	}
	misses := []string{
		`password := r.FormValue("password")`, "postgres://user@host/db", "APIKeyPrefix = \"mst_\"",
		`token, err := m.Sign(ctx, claims)`, `export MAESTRO_DATABASE_URL=postgres://maestro_app:$APP_PASSWORD@db/maestro`,
		`"password": "required for a new user"`, "postgres://maestro_app:...@db/maestro", "postgres://ROLE:PASSWORD@host/db",
		"redis://:${REDIS_PASSWORD}@cache:6379/0", `envAdminPassword    = "MAESTRO_ADMIN_PASSWORD"`,
	}
	for _, m := range misses {
		for _, p := range credentialPatterns {
			if matches(p.re, m) {
				t.Errorf("pattern %s flags ordinary text %q", p.name, m)
			}
		}
	}
}

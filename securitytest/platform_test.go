package securitytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/internal/testenv"
)

// sha256hex is the hex SHA-256 of s: the form in which the server stores
// refresh tokens and API keys, so it must never appear in a response.
func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// skipped collects the cases skipped because a route does not exist, for
// the summary at the end of each backend's run.
type skipped struct {
	mu    sync.Mutex
	cases map[string]bool
}

func (s *skipped) add(pattern string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cases == nil {
		s.cases = map[string]bool{}
	}
	s.cases[pattern] = true
}

func (s *skipped) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.cases {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// backend starts a platform on one storage configuration.
type backend struct {
	name  string
	start func(t *testing.T) *proc
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) *proc { return startPlatform(t, "sqlite", options{}) }},
		{"postgres+redis", startPostgresRedis},
	}
}

// startPostgresRedis prepares a fresh PostgreSQL database with
// `platform init-db` (owner URL plus a non-superuser application role) and
// starts the platform on it as the application role, with Redis.
func startPostgresRedis(t *testing.T) *proc {
	t.Helper()
	owner := testenv.PostgresURL(t)
	_, appURL := testenv.PostgresAppRole(t, owner)
	_, _ = testenv.Redis(t) // skips (or fails in CI) without Redis
	redisURL := os.Getenv(testenv.EnvRedisURL)
	env := []string{"MAESTRO_DATABASE_URL=" + appURL, "MAESTRO_REDIS_URL=" + redisURL}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	initdb := exec.CommandContext(ctx, platformBinary, "init-db")
	initdb.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"MAESTRO_HOME=" + filepath.Join(t.TempDir(), "home"),
		"MAESTRO_DATABASE_OWNER_URL=" + owner,
		"MAESTRO_JWT_SECRET=" + randHex(32),
	}, env...)
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("platform init-db: %v\n%s", err, tail(string(out), 3000))
	}
	p := startPlatform(t, "postgres+redis", options{env: env})
	p.dbURL = appURL
	if u, err := url.Parse(appURL); err == nil {
		if pw, ok := u.User.Password(); ok {
			p.scan.forbidValue("the database password", pw)
		}
	}
	return p
}

// TestPlatformSecurity runs the OWASP API Top 10 suite against the
// platform on each backend.
func TestPlatformSecurity(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			p := b.start(t)
			w := newWorld(t, p)
			sk := &skipped{}
			t.Run("group", func(t *testing.T) {
				t.Run("API1_ObjectLevelAuthorization", func(t *testing.T) { t.Parallel(); testBOLA(t, w, sk) })
				t.Run("API1_MetaModelsPerTenant", func(t *testing.T) { t.Parallel(); testMetaModelsPerTenant(t, w) })
				t.Run("API2_Authentication", func(t *testing.T) { t.Parallel(); testAuthentication(t, w) })
				t.Run("API2_RefreshAndSessions", func(t *testing.T) { t.Parallel(); testSessions(t, w) })
				t.Run("API2_LoginThrottling", func(t *testing.T) { t.Parallel(); testLoginThrottling(t, w) })
				t.Run("API3_PropertyLevelAuthorization", func(t *testing.T) { t.Parallel(); testMassAssignment(t, w) })
				t.Run("API4_ResourceConsumption", func(t *testing.T) { t.Parallel(); testResourceLimits(t, w) })
				t.Run("API4_SlowClient", func(t *testing.T) { t.Parallel(); testSlowClient(t, w) })
				t.Run("API5_FunctionLevelAuthorization", func(t *testing.T) { t.Parallel(); testFunctionLevel(t, w, sk) })
				t.Run("Injection", func(t *testing.T) { t.Parallel(); testInjection(t, w) })
				t.Run("API8_Misconfiguration", func(t *testing.T) { t.Parallel(); testMisconfiguration(t, w) })
				t.Run("Dashboard", func(t *testing.T) { t.Parallel(); testDashboard(t, w) })
				if p.dbURL != "" {
					t.Run("RowLevelSecurity", func(t *testing.T) { t.Parallel(); testRowLevelSecurity(t, w) })
				}
			})
			// After everything: the data of both tenants is intact and the
			// server never logged a secret.
			w.checkIntact(t, w.a)
			w.checkIntact(t, w.b)
			p.scan.checkLog(t, p.log.String())
			if s := sk.list(); len(s) > 0 {
				t.Logf("%s: cases skipped because the route does not exist yet: %s", b.name, strings.Join(s, "; "))
			}
			n, errs := p.scan.counts()
			t.Logf("%s: %d responses checked (%d of them errors)", b.name, n, errs)
		})
	}
}

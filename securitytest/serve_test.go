package securitytest

import (
	"os"
	"testing"
	"time"
)

// TestServeForScan starts the platform exactly as the suite does (HTTPS
// with a generated certificate, SQLite) and keeps it running for the
// duration in MAESTRO_SECURITYTEST_SERVE, so that external scanners can be
// pointed at it:
//
//	MAESTRO_SECURITYTEST_SERVE=120s go test -v -run TestServeForScan ./securitytest/ &
//	testssl.sh --quiet https://127.0.0.1:PORT   # PORT from the test's log line
//
// Without the variable it is skipped.
func TestServeForScan(t *testing.T) {
	v := os.Getenv("MAESTRO_SECURITYTEST_SERVE")
	if v == "" {
		t.Skip("set MAESTRO_SECURITYTEST_SERVE=<duration> to serve the platform for an external scan")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > time.Hour {
		t.Fatalf("MAESTRO_SECURITYTEST_SERVE=%q: want a duration up to 1h", v)
	}
	p := startPlatform(t, "scan", options{})
	t.Logf("serving %s for %v", p.base, d)
	time.Sleep(d)
}

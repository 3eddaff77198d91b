package securitytest

import (
	"fmt"
	"testing"
)

// openFinding reports a known, documented finding (SECURITY.md, "Audit
// findings") that has not been fixed yet: the behaviour is logged, marked
// OPEN, rather than failing the suite, so the suite stays a regression gate
// for everything fixed. Once the fix lands the check passes quietly; then
// turn it into an assertion.
func openFinding(t testing.TB, id string, observed bool, format string, args ...any) {
	t.Helper()
	if observed {
		t.Logf("OPEN FINDING %s: %s", id, fmt.Sprintf(format, args...))
	}
}

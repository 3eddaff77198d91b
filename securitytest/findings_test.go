package securitytest

import (
	"fmt"
	"testing"
)

// openFinding checks a behaviour that the audit once found (SECURITY.md,
// "Audit findings", F-n). Every such finding is fixed, so observing the
// behaviour again is a regression and fails the suite, naming the finding.
func openFinding(t testing.TB, id string, observed bool, format string, args ...any) {
	t.Helper()
	if observed {
		t.Errorf("finding %s is back (see SECURITY.md): %s", id, fmt.Sprintf(format, args...))
	}
}

package platform

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The dashboard's page table in docs/platform.md sits between these
// markers.
const (
	docsPagesBegin = "<!-- pages:begin (generated from platform.DashboardRoutes by TestDocsDashboardPages; do not edit) -->"
	docsPagesEnd   = "<!-- pages:end -->"
)

// TestDocsDashboardPages keeps the page table of docs/platform.md equal to
// DashboardRoutes (go test ./platform -run TestDocsDashboardPages
// -update-docs rewrites it).
func TestDocsDashboardPages(t *testing.T) {
	path := filepath.Join("..", "docs", "platform.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, docsPagesBegin), strings.Index(doc, docsPagesEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the page table markers", path)
	}
	var b strings.Builder
	b.WriteString("| page | access | what it shows or does |\n|---|---|---|\n")
	for _, r := range DashboardRoutes() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Pattern, r.Access, r.Summary)
	}
	want, got := b.String(), doc[i+len(docsPagesBegin)+1:j]
	if got == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc[:i+len(docsPagesBegin)+1]+want+doc[j:]), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the page table of %s is out of date; run go test ./platform -run TestDocsDashboardPages -update-docs\nwant:\n%s", path, want)
}

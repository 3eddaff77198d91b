package platform

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// updateDocs rewrites the generated parts of the docs instead of
// comparing them: go test ./platform -run TestDocsRouteTable -update-docs
var updateDocs = flag.Bool("update-docs", false, "rewrite the route table in docs/platform.md")

// The route table in docs/platform.md sits between these markers.
const (
	docsRoutesBegin = "<!-- routes:begin (generated from platform.Routes by TestDocsRouteTable; do not edit) -->"
	docsRoutesEnd   = "<!-- routes:end -->"
)

// renderRoutes renders Routes as the Markdown table of docs/platform.md.
func renderRoutes() string {
	var b strings.Builder
	b.WriteString("| route | access | what it does |\n|---|---|---|\n")
	for _, r := range Routes() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Pattern, r.Access, r.Summary)
	}
	return b.String()
}

// TestDocsRouteTable keeps the route table of docs/platform.md equal to
// Routes: a route added, removed or given another rule without the docs
// fails here.
func TestDocsRouteTable(t *testing.T) {
	path := filepath.Join("..", "docs", "platform.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, docsRoutesBegin), strings.Index(doc, docsRoutesEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the route table markers %q ... %q", path, docsRoutesBegin, docsRoutesEnd)
	}
	want := renderRoutes()
	got := doc[i+len(docsRoutesBegin)+1 : j]
	if got == want {
		return
	}
	if *updateDocs {
		out := doc[:i+len(docsRoutesBegin)+1] + want + doc[j:]
		if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the route table of %s is out of date; run go test ./platform -run TestDocsRouteTable -update-docs\nwant:\n%s", path, want)
}

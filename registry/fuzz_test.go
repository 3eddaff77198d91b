package registry

import (
	"strings"
	"testing"
)

func FuzzDecodeCursor(f *testing.F) {
	fk := filterKey("projects", "nlp")
	f.Add(encodeCursor("01890f4e-4c7a-7d1e-8f00-000000000001", fk))
	f.Add("")
	f.Add("eyJ2IjoxfQ")
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := decodeCursor(s, fk)
		if err != nil {
			return
		}
		if s != "" && !validID(id) {
			t.Fatalf("cursor %q decoded to invalid id %q", s, id)
		}
		if s != "" && encodeCursor(id, fk) == "" {
			t.Fatal("re-encode failed")
		}
	})
}

func FuzzBlobKey(f *testing.F) {
	for _, s := range []string{"t/a/" + strings.Repeat("a", 64), "../x", "a/./b", "t", "a\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidBlobPrefix(s) {
			for _, seg := range strings.Split(s, "/") {
				if seg == "" || seg == "." || seg == ".." || strings.HasPrefix(seg, ".") || strings.ContainsAny(seg, "\\\x00") {
					t.Fatalf("unsafe prefix %q accepted", s)
				}
			}
		}
		if p, sum, ok := SplitBlobKey(s); ok && (p+"/"+sum != s || !ValidBlobPrefix(p) || len(sum) != 64) {
			t.Fatalf("SplitBlobKey(%q) = %q, %q", s, p, sum)
		}
	})
}

package registry

import (
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Text limits shared by the registry's inputs.
const (
	MaxNameLength        = 200     // names of projects, artifacts, experiments, runs, models, members
	MaxDescriptionLength = 10000   // descriptions and free-text contexts
	MaxTags              = 32      // tags per project or artifact
	MaxTagLength         = 64      // characters per tag
	MaxSpecBytes         = 1 << 20 // bytes of a Spec as JSON (see Spec.Validate for its other bounds)
)

var (
	tagRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9._:/+-]*$`)
	keyRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/ -]*$`)
	ident   = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	aliasRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
)

// checkName validates a required name and returns it trimmed.
func checkName(v *validator, field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		v.add(field, "is required")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl):
		v.add(field, "must be valid text without control characters")
	case utf8.RuneCountInString(s) > MaxNameLength:
		v.add(field, "must be at most %d characters", MaxNameLength)
	}
	return s
}

// checkText validates optional free text.
func checkText(v *validator, field, s string) string {
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		v.add(field, "must be valid UTF-8 text")
	case utf8.RuneCountInString(s) > MaxDescriptionLength:
		v.add(field, "must be at most %d characters", MaxDescriptionLength)
	}
	return s
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// normTags lower-cases, trims, validates and de-duplicates tags, keeping
// their order. It never returns nil.
func normTags(v *validator, field string, tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	if len(tags) > MaxTags {
		v.add(field, "at most %d tags", MaxTags)
		return out
	}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if len(t) == 0 || len(t) > MaxTagLength || !tagRE.MatchString(t) {
			v.add(field, "tag %q must be 1-%d characters of a-z, 0-9 and . _ : / + - (starting with a letter or digit)", t, MaxTagLength)
			continue
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// likePattern returns a case-insensitive LIKE pattern matching s anywhere,
// with LIKE's wildcards escaped (use with ESCAPE '\').
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// checkQuery validates a free-text search query.
func checkQuery(v *validator, q string) string {
	q = strings.TrimSpace(q)
	if !utf8.ValidString(q) || strings.ContainsRune(q, 0) || utf8.RuneCountInString(q) > MaxNameLength {
		v.add("q", "must be valid text of at most %d characters", MaxNameLength)
	}
	return q
}

// validTime reports whether t falls in the years 1 to 9999, which both
// databases store and order correctly (SQLite compares timestamps as text).
func validTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

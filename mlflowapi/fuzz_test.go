package mlflowapi

import "testing"

// FuzzParseFilter: no filter or order_by string panics the parser, and an
// accepted filter evaluates on any run without panicking.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"metrics.acc > 0.5 and params.model LIKE 'cnn%'",
		"tags.`my tag` = \"x\" AND attributes.run_id IN ('a', 'b')",
		"status != 'FAILED' and start_time >= 1e3",
		"params.\"a\"\"b\" ILIKE '%_%'", "run_id NOT IN ('x')", "metrics.", "tags.`x", "'", "AND",
	} {
		f.Add(s)
	}
	e := entity{
		attrs:   map[string]value{"run_id": {s: "a"}, "status": {s: "FAILED"}, "start_time": {n: 5, num: true}},
		metrics: map[string]float64{"acc": 0.7},
		params:  map[string]string{"model": "cnn"},
		tags:    map[string]string{"my tag": "x"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		if cs, err := parseFilter(s, runAttrs); err == nil {
			matches(e, cs)
		}
		if os, err := parseOrderBy([]string{s}, runAttrs); err == nil {
			sortEntities([]entity{e, e}, os)
		}
		if _, err := parseFilter(s, experimentAttrs); err != nil && errorFor(err).Status != 400 {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

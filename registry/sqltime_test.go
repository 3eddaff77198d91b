package registry

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestParseSQLiteTime checks the fast parser against time.Parse: on the
// driver's own layout over the whole range of years, with every fraction
// width and zone, and on the other layouts and bad texts.
func TestParseSQLiteTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+30*60), time.FixedZone("", -(9*3600 + 15*60))}
	for i := range 20000 {
		sec := rng.Int64N(253402300799+62135596800) - 62135596800 // years 1 to 9999
		tm := time.Unix(sec, rng.Int64N(1e9)).In(zones[i%len(zones)])
		tm = tm.Truncate(time.Duration([]int64{1, 1000, 1e6, 1e9}[i%4]))
		s := tm.Format("2006-01-02 15:04:05.999999999-07:00")
		if i%7 == 0 && tm.Location() == time.UTC {
			s = tm.Format("2006-01-02 15:04:05.999999999") + "Z"
		}
		got, err := parseSQLiteTime(s)
		if err != nil || !got.Equal(tm) || got.Location() != time.UTC {
			t.Fatalf("parseSQLiteTime(%q) = %v, %v; want %v", s, got, err, tm.UTC())
		}
		if _, ok := parseDriverTime(s); !ok {
			t.Fatalf("%q took the slow path", s)
		}
	}
	for s, want := range map[string]time.Time{
		"2024-02-29T10:11:12.5+01:00":         time.Date(2024, 2, 29, 9, 11, 12, 5e8, time.UTC),
		"2024-02-29 10:11":                    time.Date(2024, 2, 29, 10, 11, 0, 0, time.UTC),
		"2024-02-29":                          time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"2024-02-29 10:11:12":                 time.Date(2024, 2, 29, 10, 11, 12, 0, time.UTC),
		"0001-01-01 00:00:00+00:00":           time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		"9999-12-31 23:59:59.999999999+00:00": time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		got, err := parseSQLiteTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSQLiteTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2023-02-29 00:00:00+00:00", "2024-13-01 00:00:00", "2024-01-01 24:00:00",
		"2024-01-01 00:00:00.+00:00", "2024-01-01 00:00:00+0000",
		"2024-01-01 00:00:00+00:00x", "2024-01-01 0a:00:00", "not a time", "1700000000"} {
		if got, err := parseSQLiteTime(s); err == nil {
			t.Errorf("parseSQLiteTime(%q) = %v, want an error", s, got)
		}
	}
}

// FuzzParseDriverTime checks the fast path against time.Parse: a text it
// takes parses to the same instant with the layouts.
func FuzzParseDriverTime(f *testing.F) {
	for _, s := range []string{"2023-11-14 22:13:20+00:00", "2023-11-14 22:13:20.001+05:30", "2024-02-29 00:00:00Z", "0000-03-01 00:00:00", "9999-12-31 23:59:59.123456789-23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseDriverTime(s)
		if !ok {
			return
		}
		ts := strings.TrimSuffix(s, "Z")
		for _, layout := range sqliteTimeLayouts {
			if slow, err := time.ParseInLocation(layout, ts, time.UTC); err == nil {
				if !slow.Equal(fast) {
					t.Fatalf("%q: fast %v, time.Parse %v", s, fast, slow)
				}
				return
			}
		}
		t.Fatalf("%q: fast path took a text time.Parse refuses", s)
	})
}

func TestScanTime(t *testing.T) {
	want := time.Date(2026, 12, 7, 8, 0, 0, 1000, time.UTC)
	for _, v := range []any{want.In(time.FixedZone("", 3600)), "2026-12-07 08:00:00.000001+00:00", []byte("2026-12-07 09:00:00.000001+01:00")} {
		var s scanTime
		var n scanNullTime
		if err := s.Scan(v); err != nil || !s.t.Equal(want) || s.t.Location() != time.UTC {
			t.Fatalf("scanTime(%v) = %v, %v", v, s.t, err)
		}
		if err := n.Scan(v); err != nil || !n.valid || !n.t.Equal(want) {
			t.Fatalf("scanNullTime(%v) = %+v, %v", v, n, err)
		}
	}
	n := scanNullTime{t: want, valid: true}
	if err := n.Scan(nil); err != nil || n.valid || !n.t.IsZero() {
		t.Fatalf("scanNullTime(nil) = %+v, %v", n, err)
	}
	for _, v := range []any{int64(1), "yesterday", []byte{}} {
		var s scanTime
		if err := s.Scan(v); err == nil {
			t.Fatalf("scanTime(%v) took it", v)
		}
		if err := n.Scan(v); err == nil {
			t.Fatalf("scanNullTime(%v) took it", v)
		}
	}
}

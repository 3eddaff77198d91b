package registry

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/maestro-ml/maestro/internal/migrate"
)

// The hot reads (a metric's history, a page of searched runs) scan rows
// with database/sql instead of GORM's reflection, and on SQLite read the
// time columns as text (timeColumn) and parse them with parseSQLiteTime:
// the SQLite driver parses every value of a DATETIME column with
// time.Parse, trying up to nine layouts, which cost more than the rest of
// reading the row.

// timeColumn is how a hot read selects a time column: on SQLite as text,
// which the driver hands over as is (a cast has no declared type), on
// PostgreSQL as itself.
func timeColumn(db *gorm.DB, col string) string {
	if migrate.IsPostgres(db) {
		return col
	}
	return "CAST(" + col + " AS TEXT)"
}

// scanTime is a time.Time destination of Rows.Scan that also takes the
// text of a SQLite time (see timeColumn); the time is in UTC.
type scanTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (s *scanTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		s.t = v.UTC()
		return nil
	case string:
		t, err := parseSQLiteTime(v)
		s.t = t
		return err
	case []byte:
		t, err := parseSQLiteTime(string(v))
		s.t = t
		return err
	}
	return fmt.Errorf("registry: a time column holds %T", v)
}

// scanNullTime is scanTime for a nullable column.
type scanNullTime struct {
	t     time.Time
	valid bool
}

// Scan implements sql.Scanner.
func (s *scanNullTime) Scan(v any) error {
	if v == nil {
		s.t, s.valid = time.Time{}, false
		return nil
	}
	var st scanTime
	if err := st.Scan(v); err != nil {
		return err
	}
	s.t, s.valid = st.t, true
	return nil
}

// sqliteTimeLayouts are the layouts of SQLite's time texts (its date
// functions' formats 1 to 7 and the date alone), with and without a zone,
// which parseSQLiteTime tries when a text is not in the driver's own
// layout; a text without a zone is UTC.
var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseSQLiteTime parses a time as the SQLite driver stores it,
// "2006-01-02 15:04:05.999999999-07:00" (the fraction optional, "Z" for
// the zone allowed), without time.Parse; any other text SQLite knows as
// a time is parsed by time.Parse, and text that is no time is an error.
// The time is in UTC.
func parseSQLiteTime(s string) (time.Time, error) {
	if t, ok := parseDriverTime(s); ok {
		return t, nil
	}
	ts := strings.TrimSuffix(s, "Z")
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.ParseInLocation(layout, ts, time.UTC); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("registry: %q is not a time", s)
}

// parseDriverTime is parseSQLiteTime's fast path: "YYYY-MM-DD HH:MM:SS",
// an optional fraction of 1 to 9 digits, then "+HH:MM", "-HH:MM", "Z" or
// nothing (UTC), every field in range.
func parseDriverTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, false
		}
		frac, _ := digits(rest[1:n])
		for i := n; i < 10; i++ {
			frac *= 10
		}
		nsec, rest = frac, rest[n:]
	}
	offset := 0
	switch {
	case rest == "" || rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := digits(rest[1:3])
		om, okm := digits(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec) - int64(offset)
	return time.Unix(secs, int64(nsec)).UTC(), true
}

// digits parses a string of decimal digits (at most nine).
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// daysIn returns the days of a month of the proleptic Gregorian calendar.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysSinceEpoch returns the days from 1970-01-01 to a date of the
// proleptic Gregorian calendar (year 0 to 9999), counting eras of 400
// years from 0000-03-01.
func daysSinceEpoch(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := year - era*400
	m := month + 9
	if month > 2 {
		m = month - 3
	}
	doy := (153*m+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

package mlflowapi

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// The two largest answers, a metric's history and a page of searched
// runs, are written by the append functions here instead of
// encoding/json's reflection: the same bytes as json.Encoder writes for
// the wire structs (HTML-safe strings, numbers as encoding/json formats
// them, NaN and the infinities as MLflow's strings, the trailing
// newline), which a test checks.

// writeJSON writes an answer the call encoded itself (the handler writes
// nothing more when the call returns a nil answer).
func (c *call) writeJSON(b []byte) (any, error) {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = c.w.Write(b)
	return nil, nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping: <, > and & as \u escapes, invalid UTF-8 as U+FFFD, U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONFloat appends a double as jsonFloat's value encodes: a
// number as encoding/json formats a float64, or the strings "NaN",
// "Infinity" and "-Infinity".
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 as e-7, as encoding/json writes exponents.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendMetric appends one wireMetricOut; key is the key already
// encoded with appendJSONString.
func appendMetric(b []byte, key []byte, value float64, timestamp, step int64) []byte {
	b = append(b, `{"key":`...)
	b = append(b, key...)
	b = append(b, `,"value":`...)
	b = appendJSONFloat(b, value)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, step, 10)
	return append(b, '}')
}

// historyPointBytes is about the bytes of one point of a history besides
// its key, to size the answer's buffer.
const historyPointBytes = 64

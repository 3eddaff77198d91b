package mlflowapi

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// args are a call's parameters: the query string of a GET, the JSON
// object of a POST's body. MLflow's clients send int64 fields as JSON
// numbers or, as protobuf's JSON mapping does, as strings; both are
// accepted. Unknown fields are ignored, as MLflow's server ignores them
// (newer clients send fields older servers do not know).
type args struct {
	query url.Values
	body  map[string]json.RawMessage
}

func (a *args) raw(name string) (json.RawMessage, bool) {
	if a.body == nil {
		return nil, false
	}
	v, ok := a.body[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

// str returns a string parameter; a JSON value that is not a string is
// INVALID_PARAMETER_VALUE.
func (a *args) str(name string) (string, bool, error) {
	if a.query != nil {
		if !a.query.Has(name) {
			return "", false, nil
		}
		return a.query.Get(name), true, nil
	}
	v, ok := a.raw(name)
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, invalidParam("Invalid value for parameter '%s': expected a string.", name)
	}
	return s, true, nil
}

// required returns a non-empty string parameter.
func (a *args) required(name string) (string, error) {
	s, ok, err := a.str(name)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", missing(name)
	}
	return s, nil
}

// optional returns a string parameter or "".
func (a *args) optional(name string) (string, error) {
	s, _, err := a.str(name)
	return s, err
}

// int returns an int64 parameter given as a number or a decimal string.
func (a *args) int(name string) (int64, bool, error) {
	bad := invalidParam("Invalid value for parameter '%s': expected an integer.", name)
	if a.query != nil {
		if !a.query.Has(name) {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(a.query.Get(name), 10, 64)
		if err != nil {
			return 0, false, bad
		}
		return n, true, nil
	}
	v, ok := a.raw(name)
	if !ok {
		return 0, false, nil
	}
	n, err := parseInt(v)
	if err != nil {
		return 0, false, bad
	}
	return n, true, nil
}

func parseInt(v json.RawMessage) (int64, error) {
	if len(v) > 0 && v[0] != '"' {
		// The common case, a plain JSON integer, without decoding.
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n, nil
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return strconv.ParseInt(s, 10, 64)
	}
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&n); err != nil {
		return 0, err
	}
	return strconv.ParseInt(n.String(), 10, 64)
}

// parseFloat reads a double given as a number or as protobuf's strings
// "NaN", "Infinity" and "-Infinity" (or a decimal string).
func parseFloat(v json.RawMessage) (float64, error) {
	if len(v) > 0 && v[0] != '"' {
		// A plain JSON number (ParseFloat accepts JSON's number grammar
		// and more; the words it also takes, such as "Inf", are not JSON
		// numbers and never reach here unquoted from a valid body).
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f, nil
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		switch strings.ToLower(s) {
		case "nan":
			return math.NaN(), nil
		case "infinity", "inf":
			return math.Inf(1), nil
		case "-infinity", "-inf":
			return math.Inf(-1), nil
		}
		return strconv.ParseFloat(s, 64)
	}
	var f float64
	err := json.Unmarshal(v, &f)
	return f, err
}

// strs returns a list of strings: repeated query parameters, or a JSON
// array.
func (a *args) strs(name string) ([]string, error) {
	if a.query != nil {
		return a.query[name], nil
	}
	v, ok := a.raw(name)
	if !ok {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, invalidParam("Invalid value for parameter '%s': expected a list of strings.", name)
	}
	return out, nil
}

// list decodes a JSON array of objects into out (a pointer to a slice).
func (a *args) list(name string, out any) error {
	v, ok := a.raw(name)
	if !ok {
		return nil
	}
	if err := json.Unmarshal(v, out); err != nil {
		return invalidParam("Invalid value for parameter '%s': %s.", name, jsonProblem(err))
	}
	return nil
}

func jsonProblem(err error) string {
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		return "field " + e.Field + " has the wrong type"
	}
	return "malformed JSON"
}

// wireInt is an int64 that decodes from a JSON number or string.
type wireInt struct {
	V   int64
	Set bool
}

func (n *wireInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := parseInt(b)
	if err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Field: "integer"}
	}
	n.V, n.Set = v, true
	return nil
}

// wireFloat is a double that decodes from a JSON number or protobuf's
// string forms.
type wireFloat struct {
	V   float64
	Set bool
}

func (f *wireFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	v, err := parseFloat(b)
	if err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Field: "value"}
	}
	f.V, f.Set = v, true
	return nil
}

// keyValue is MLflow's Param, RunTag and ExperimentTag.
type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// wireMetric is MLflow's Metric.
type wireMetric struct {
	Key       string    `json:"key"`
	Value     wireFloat `json:"value"`
	Timestamp wireInt   `json:"timestamp"`
	Step      wireInt   `json:"step"`
}

package mlflowapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Bounds of a search's input: the filter's length and clause count, and
// the number of order_by terms.
const (
	MaxFilterLength = 10000
	MaxClauses      = 100
	MaxOrderBy      = 20
)

// entity kinds of a filter or order_by identifier.
const (
	kindAttr = iota
	kindMetric
	kindParam
	kindTag
	// kindDataset is a run's dataset inputs (name, digest, context):
	// searchRuns turns its clauses into run id lists (datasetClauses).
	kindDataset
)

var kindPrefixes = map[string]int{
	"attribute": kindAttr, "attributes": kindAttr, "attr": kindAttr, "run": kindAttr,
	"metric": kindMetric, "metrics": kindMetric,
	"param": kindParam, "params": kindParam, "parameter": kindParam, "parameters": kindParam,
	"tag": kindTag, "tags": kindTag,
	"dataset": kindDataset, "datasets": kindDataset,
}

// attrSpec says which attributes an entity has and whether each is a
// number (else a string); aliases map to their canonical name.
type attrSpec struct {
	numeric map[string]bool // name -> numeric
	alias   map[string]string
	in      map[string]bool // attributes that take IN / NOT IN
	kinds   map[int]bool    // the identifier kinds the entity has
	// absentNotEqual makes "!=" true for a tag the entity lacks (the
	// model registry's entities, which hold no tags here: MLflow 3's
	// client excludes prompts with tags.`mlflow.prompt.is_prompt` != 'true').
	absentNotEqual bool
}

var runAttrs = attrSpec{
	numeric: map[string]bool{"run_id": false, "run_name": false, "status": false, "user_id": false,
		"artifact_uri": false, "start_time": true, "end_time": true},
	alias: map[string]string{"created": "start_time", "run_uuid": "run_id", "Created": "start_time"},
	in:    map[string]bool{"run_id": true},
	kinds: map[int]bool{kindAttr: true, kindMetric: true, kindParam: true, kindTag: true, kindDataset: true},
}

var experimentAttrs = attrSpec{
	numeric: map[string]bool{"name": false, "experiment_id": false, "creation_time": true, "last_update_time": true},
	alias:   map[string]string{},
	in:      map[string]bool{},
	kinds:   map[int]bool{kindAttr: true, kindTag: true},
}

// value is an entity's value of one identifier.
type value struct {
	s   string
	n   float64
	num bool
}

// entity is a searched record, flattened for filtering and sorting, with
// the wire form to answer.
type entity struct {
	attrs   map[string]value
	metrics map[string]float64
	params  map[string]string
	tags    map[string]string
	wire    any
}

func (e entity) lookup(kind int, key string) (value, bool) {
	switch kind {
	case kindMetric:
		v, ok := e.metrics[key]
		return value{n: v, num: true}, ok
	case kindParam:
		v, ok := e.params[key]
		return value{s: v}, ok
	case kindTag:
		v, ok := e.tags[key]
		return value{s: v}, ok
	}
	v, ok := e.attrs[key]
	return v, ok
}

type clause struct {
	kind int
	key  string
	op   string
	str  string
	num  float64
	list []string
	re   *regexp.Regexp
	// absentMatches: the clause holds for an entity without the key.
	absentMatches bool
}

// scanner tokenizes MLflow's filter and order_by strings.
type scanner struct {
	s   string
	pos int
}

func (sc *scanner) skip() {
	for sc.pos < len(sc.s) && (sc.s[sc.pos] == ' ' || sc.s[sc.pos] == '\t' || sc.s[sc.pos] == '\n' || sc.s[sc.pos] == '\r') {
		sc.pos++
	}
}

func (sc *scanner) done() bool { sc.skip(); return sc.pos >= len(sc.s) }

func isWord(b byte) bool {
	return b == '_' || b == '.' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// quoted reads a string quoted by q (the quote doubled, or escaped with a
// backslash, stands for itself).
func (sc *scanner) quoted() (string, error) {
	q := sc.s[sc.pos]
	sc.pos++
	var b strings.Builder
	for sc.pos < len(sc.s) {
		ch := sc.s[sc.pos]
		switch {
		case ch == '\\' && sc.pos+1 < len(sc.s):
			b.WriteByte(sc.s[sc.pos+1])
			sc.pos += 2
		case ch == q && sc.pos+1 < len(sc.s) && sc.s[sc.pos+1] == q:
			b.WriteByte(q)
			sc.pos += 2
		case ch == q:
			sc.pos++
			return b.String(), nil
		default:
			b.WriteByte(ch)
			sc.pos++
		}
	}
	return "", invalidParam("Invalid filter: unterminated quoted string")
}

// ident reads an identifier: [kind "."] key, the key bare or quoted with
// backticks or double quotes. An identifier without a known kind prefix
// is an attribute.
func (sc *scanner) ident(spec attrSpec) (kind int, key string, err error) {
	sc.skip()
	start := sc.pos
	for sc.pos < len(sc.s) && isWord(sc.s[sc.pos]) {
		sc.pos++
	}
	word := sc.s[start:sc.pos]
	if sc.pos < len(sc.s) && (sc.s[sc.pos] == '`' || sc.s[sc.pos] == '"') {
		prefix, ok := strings.CutSuffix(word, ".")
		if !ok && word != "" {
			return 0, "", invalidParam("Invalid identifier %q", word)
		}
		if key, err = sc.quoted(); err != nil {
			return 0, "", err
		}
		if prefix == "" {
			kind = kindAttr
		} else if kind, ok = kindPrefixes[prefix]; !ok {
			return 0, "", invalidParam("Invalid entity type '%s'. Valid values are ['metric', 'parameter', 'tag', 'attribute']", prefix)
		}
	} else {
		if word == "" {
			return 0, "", invalidParam("Invalid filter: expected an identifier at position %d", sc.pos)
		}
		prefix, rest, ok := strings.Cut(word, ".")
		if k, known := kindPrefixes[prefix]; ok && known {
			kind, key = k, rest
		} else if ok {
			return 0, "", invalidParam("Invalid entity type '%s'. Valid values are ['metric', 'parameter', 'tag', 'attribute']", prefix)
		} else {
			kind, key = kindAttr, word
		}
	}
	if key == "" {
		return 0, "", invalidParam("Invalid identifier: empty key")
	}
	if !spec.kinds[kind] {
		return 0, "", invalidParam("Invalid entity type in identifier with key '%s'", key)
	}
	if kind == kindDataset && key != "name" && key != "digest" && key != "context" {
		return 0, "", invalidParam("Invalid dataset key '%s' specified. Valid keys are ['name', 'digest', 'context']", key)
	}
	if kind == kindAttr {
		if a, ok := spec.alias[key]; ok {
			key = a
		}
		if _, ok := spec.numeric[key]; !ok {
			return 0, "", invalidParam("Invalid attribute key '%s' specified.", key)
		}
	}
	return kind, key, nil
}

func (sc *scanner) keyword() string {
	sc.skip()
	start := sc.pos
	for sc.pos < len(sc.s) && (sc.s[sc.pos] >= 'a' && sc.s[sc.pos] <= 'z' || sc.s[sc.pos] >= 'A' && sc.s[sc.pos] <= 'Z') {
		sc.pos++
	}
	return strings.ToUpper(sc.s[start:sc.pos])
}

func (sc *scanner) comparator() (string, error) {
	sc.skip()
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(sc.s[sc.pos:], op) {
			sc.pos += len(op)
			return op, nil
		}
	}
	save := sc.pos
	switch kw := sc.keyword(); kw {
	case "LIKE", "ILIKE", "IN":
		return kw, nil
	case "NOT":
		if sc.keyword() == "IN" {
			return "NOT IN", nil
		}
	}
	sc.pos = save
	return "", invalidParam("Invalid filter: expected a comparator at position %d", sc.pos)
}

// nullTest reads "IS NULL" or "IS NOT NULL" if it comes next.
func (sc *scanner) nullTest() (isNull, ok bool) {
	save := sc.pos
	if sc.keyword() == "IS" {
		kw := sc.keyword()
		if kw == "NULL" {
			return true, true
		}
		if kw == "NOT" && sc.keyword() == "NULL" {
			return false, true
		}
	}
	sc.pos = save
	return false, false
}

func (sc *scanner) literal() (str string, num float64, isNum bool, err error) {
	sc.skip()
	if sc.pos >= len(sc.s) {
		return "", 0, false, invalidParam("Invalid filter: expected a value")
	}
	if ch := sc.s[sc.pos]; ch == '\'' || ch == '"' {
		s, err := sc.quoted()
		return s, 0, false, err
	}
	start := sc.pos
	for sc.pos < len(sc.s) && strings.IndexByte("+-.0123456789eE", sc.s[sc.pos]) >= 0 {
		sc.pos++
	}
	f, err := strconv.ParseFloat(sc.s[start:sc.pos], 64)
	if err != nil || start == sc.pos {
		return "", 0, false, invalidParam("Invalid filter: expected a quoted string or a number at position %d", start)
	}
	return "", f, true, nil
}

// likeRegexp compiles a SQL LIKE pattern (% any run, _ any character).
func likeRegexp(p string, fold bool) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^`)
	if fold {
		b.WriteString(`(?i)`)
	}
	b.WriteString(`(?s)`)
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

// parseFilter parses MLflow's search filter: clauses joined by AND, each
// "identifier comparator value". Metrics and numeric attributes compare
// numbers with = != < <= > >=; params, tags and string attributes
// compare quoted strings with = != LIKE ILIKE, and params and tags also
// take IS NULL and IS NOT NULL; run_id also takes IN and NOT IN with a
// parenthesised list.
func parseFilter(filter string, spec attrSpec) ([]clause, error) {
	if len(filter) > MaxFilterLength {
		return nil, invalidParam("The filter is longer than %d characters", MaxFilterLength)
	}
	sc := &scanner{s: filter}
	var out []clause
	for !sc.done() {
		if len(out) > 0 {
			if kw := sc.keyword(); kw != "AND" {
				return nil, invalidParam("Invalid filter '%s': clauses must be joined by AND", filter)
			}
		}
		if len(out) == MaxClauses {
			return nil, invalidParam("The filter has more than %d clauses", MaxClauses)
		}
		kind, key, err := sc.ident(spec)
		if err != nil {
			return nil, err
		}
		if isNull, ok := sc.nullTest(); ok {
			// A param or tag is NULL when the entity lacks it: IS NULL is
			// an empty IN that an absent key satisfies, IS NOT NULL an
			// empty NOT IN that it does not.
			if kind != kindParam && kind != kindTag {
				return nil, invalidParam("IS NULL / IS NOT NULL is only supported for tags and params, not for '%s'", key)
			}
			c := clause{kind: kind, key: key, op: "NOT IN"}
			if isNull {
				c.op, c.absentMatches = "IN", true
			}
			out = append(out, c)
			continue
		}
		op, err := sc.comparator()
		if err != nil {
			return nil, err
		}
		c := clause{kind: kind, key: key, op: op, absentMatches: spec.absentNotEqual && kind == kindTag && op == "!="}
		numeric := kind == kindMetric || kind == kindAttr && spec.numeric[key]
		if op == "IN" || op == "NOT IN" {
			if kind != kindDataset && (kind != kindAttr || !spec.in[key]) {
				return nil, invalidParam("Invalid comparator '%s' for '%s'", op, key)
			}
			if c.list, err = sc.list(); err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		s, n, isNum, err := sc.literal()
		if err != nil {
			return nil, err
		}
		switch {
		case numeric && (op == "LIKE" || op == "ILIKE"):
			return nil, invalidParam("Invalid comparator '%s' not one of '['=', '!=', '>', '>=', '<', '<=']' for '%s'", op, key)
		case numeric && !isNum:
			return nil, invalidParam("Expected numeric value type for '%s', got a string", key)
		case !numeric && isNum:
			return nil, invalidParam("Expected a quoted string value for '%s'", key)
		case !numeric && op != "=" && op != "!=" && op != "LIKE" && op != "ILIKE":
			return nil, invalidParam("Invalid comparator '%s' not one of '['=', '!=', 'LIKE', 'ILIKE']' for '%s'", op, key)
		}
		c.str, c.num = s, n
		if op == "LIKE" || op == "ILIKE" {
			c.re = likeRegexp(s, op == "ILIKE")
		}
		out = append(out, c)
	}
	return out, nil
}

func (sc *scanner) list() ([]string, error) {
	sc.skip()
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '(' {
		return nil, invalidParam("Invalid filter: IN needs a parenthesised list")
	}
	sc.pos++
	var out []string
	for {
		sc.skip()
		if sc.pos >= len(sc.s) || (sc.s[sc.pos] != '\'' && sc.s[sc.pos] != '"') {
			return nil, invalidParam("Invalid filter: IN takes quoted strings")
		}
		s, err := sc.quoted()
		if err != nil {
			return nil, err
		}
		if out = append(out, s); len(out) > MaxSearchResults {
			return nil, invalidParam("Invalid filter: IN list too long")
		}
		sc.skip()
		if sc.pos < len(sc.s) && sc.s[sc.pos] == ',' {
			sc.pos++
			continue
		}
		if sc.pos < len(sc.s) && sc.s[sc.pos] == ')' {
			sc.pos++
			return out, nil
		}
		return nil, invalidParam("Invalid filter: malformed IN list")
	}
}

// matches reports whether e satisfies every clause. A clause on a
// metric, param or tag the entity lacks is false.
func matches(e entity, cs []clause) bool {
	for _, c := range cs {
		v, ok := e.lookup(c.kind, c.key)
		if !ok {
			if c.absentMatches {
				continue
			}
			return false
		}
		if !match(c, v) {
			return false
		}
	}
	return true
}

func match(c clause, v value) bool {
	switch c.op {
	case "IN", "NOT IN":
		in := false
		for _, s := range c.list {
			in = in || s == v.s
		}
		return in == (c.op == "IN")
	case "LIKE", "ILIKE":
		return c.re.MatchString(v.s)
	}
	var cmp int
	if v.num {
		if math.IsNaN(v.n) {
			return c.op == "!="
		}
		switch {
		case v.n < c.num:
			cmp = -1
		case v.n > c.num:
			cmp = 1
		}
	} else {
		cmp = strings.Compare(v.s, c.str)
	}
	switch c.op {
	case "=":
		return cmp == 0
	case "!=":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	}
	return cmp >= 0
}

type order struct {
	kind int
	key  string
	desc bool
}

// parseOrderBy parses order_by terms: "identifier [ASC|DESC]".
func parseOrderBy(terms []string, spec attrSpec) ([]order, error) {
	if len(terms) > MaxOrderBy {
		return nil, invalidParam("At most %d order_by terms", MaxOrderBy)
	}
	out := make([]order, 0, len(terms))
	for _, t := range terms {
		if len(t) > MaxFilterLength {
			return nil, invalidParam("order_by term too long")
		}
		sc := &scanner{s: t}
		kind, key, err := sc.ident(spec)
		if err != nil {
			return nil, err
		}
		if kind == kindDataset {
			return nil, invalidParam("Invalid order_by clause '%s': datasets do not order", t)
		}
		o := order{kind: kind, key: key}
		switch sc.keyword() {
		case "", "ASC":
		case "DESC":
			o.desc = true
		default:
			return nil, invalidParam("Invalid order_by clause '%s'", t)
		}
		if !sc.done() {
			return nil, invalidParam("Invalid order_by clause '%s'", t)
		}
		out = append(out, o)
	}
	return out, nil
}

// sortEntities sorts by the orders; a missing value sorts last in either
// direction, as MLflow's server sorts NULLs.
func sortEntities(es []entity, orders []order) {
	sort.SliceStable(es, func(i, j int) bool {
		for _, o := range orders {
			a, aok := es[i].lookup(o.kind, o.key)
			b, bok := es[j].lookup(o.kind, o.key)
			if !aok || !bok {
				if aok != bok {
					return aok
				}
				continue
			}
			var cmp int
			if a.num || b.num {
				switch {
				case a.n < b.n || math.IsNaN(b.n) && !math.IsNaN(a.n):
					cmp = -1
				case a.n > b.n || math.IsNaN(a.n) && !math.IsNaN(b.n):
					cmp = 1
				}
			} else {
				cmp = strings.Compare(a.s, b.s)
			}
			if cmp != 0 {
				return (cmp < 0) != o.desc
			}
		}
		return false
	})
}

// pageToken is a search's continuation: the offset of the next result
// and a fingerprint of the search it belongs to.
type pageToken struct {
	Offset int    `json:"offset"`
	F      string `json:"f"`
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func decodeToken(tok, fp string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var t pageToken
	if err != nil || len(tok) > 200 || json.Unmarshal(b, &t) != nil || t.F != fp || t.Offset <= 0 || t.Offset > MaxSearchResults*1000 {
		return 0, invalidParam("Invalid page token, could not decode it or it belongs to another search")
	}
	return t.Offset, nil
}

func encodeToken(offset int, fp string) string {
	b, _ := json.Marshal(pageToken{Offset: offset, F: fp})
	return base64.RawURLEncoding.EncodeToString(b)
}

// paginate returns the page at offset and the token of the next one ("" on
// the last page).
func paginate(es []entity, offset, limit int, fp string) ([]entity, string) {
	if offset >= len(es) {
		return nil, ""
	}
	end := min(offset+limit, len(es))
	next := ""
	if end < len(es) {
		next = encodeToken(end, fp)
	}
	return es[offset:end], next
}

func experimentEntity(we wireExperiment) entity {
	return entity{
		attrs: map[string]value{
			"name":             {s: we.Name},
			"experiment_id":    {s: we.ExperimentID},
			"creation_time":    {n: float64(we.CreationTime), num: true},
			"last_update_time": {n: float64(we.LastUpdateTime), num: true},
		},
		tags: tagMapOf(we.Tags),
		wire: we,
	}
}

func tagMapOf(kvs []keyValue) map[string]string { return tagMap(kvs) }

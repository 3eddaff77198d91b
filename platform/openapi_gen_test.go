package platform

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maestro-ml/maestro/auth"
	"github.com/maestro-ml/maestro/registry"
)

// The OpenAPI document (openapi.json) is generated from Go: the schemas
// from the very types the handlers decode and encode (by reflection on
// their json tags), the operations from apiOps (openapi_ops_test.go), one
// row per route of Routes. TestOpenAPIDocument fails when the file differs
// from what the generator makes; regenerate it with
//
//	go test ./platform -run TestOpenAPIDocument -update-openapi
var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite platform/openapi.json from apiOps and the Go types")

// openAPIPath is the generated document, embedded into the package.
const openAPIPath = "openapi.json"

// apiOp documents one route of Routes: a row of apiOps.
type apiOp struct {
	pattern string     // the route's pattern, exactly as in routes.go
	id      string     // operationId, unique
	query   []apiParam // query parameters; lists get limit and cursor by listOp
	// body is a value of the Go type the handler decodes (nil: no JSON
	// body); example is an example of it.
	body, example any
	// rawBody documents a body that is not JSON (artifact content).
	rawBody bool
	status  int // the status of success
	// resp is a value of the Go type the handler encodes (nil: no body);
	// list routes give the item type and set list.
	resp       any
	list       bool
	rawResp    bool  // the response is bytes (application/octet-stream)
	errs       []int // error statuses beyond those every route of its kind gives
	links      []apiLink
	respHeader []string // response headers of success, e.g. ETag
	desc       string   // more than the route's summary, when it helps
}

// apiParam is a query parameter.
type apiParam struct {
	name   string
	schema map[string]any
	desc   string
	array  bool // may repeat (?tag=a&tag=b)
}

// apiLink is an OpenAPI link of a success response: the operation opID
// takes its parameter param from the response's JSON pointer ptr.
type apiLink struct {
	name, opID string
	params     map[string]string // parameter → runtime expression
}

// listOp marks op as a paged list of resp items, with ?limit= and ?cursor=.
func listOp(op apiOp) apiOp {
	op.list = true
	op.query = append([]apiParam{
		{name: "limit", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxPageSize, "default": defaultPageSize},
			desc: fmt.Sprintf("Page size, 1 to %d.", maxPageSize)},
		{name: "cursor", schema: map[string]any{"type": "string", "maxLength": maxCursorLen},
			desc: "The next_cursor of the previous page; absent for the first page."},
	}, op.query...)
	return op
}

// schemaGen builds JSON Schemas (OpenAPI 3.1, JSON Schema 2020-12) from
// Go types, the way encoding/json encodes them. Named struct types become
// components.
type schemaGen struct {
	components map[string]any
	names      map[genKey]string
	taken      map[string]genKey
	// request is set while generating a request body's schema: its fields
	// are not required (the handler decodes into zero values and validates
	// them itself, answering 422), and its components are named apart.
	request bool
}

// genKey identifies a component: a type, as a request or a response.
type genKey struct {
	t       reflect.Type
	request bool
}

// enumTypes are the string types whose values are a closed set.
var enumTypes = map[reflect.Type][]string{
	reflect.TypeFor[registry.ProblemClass]():    {"classification", "regression", "forecasting", "nlp", "computer_vision", "recommendation", "anomaly_detection", "other"},
	reflect.TypeFor[registry.ProjectStatus]():   {"active", "on_hold", "completed", "cancelled"},
	reflect.TypeFor[registry.ArtifactType]():    {"feature_pipeline", "model_template", "schema", "notebook", "dataset", "other"},
	reflect.TypeFor[registry.RunStatus]():       {"running", "finished", "failed", "killed"},
	reflect.TypeFor[registry.Lifecycle]():       {"active", "deleted"},
	reflect.TypeFor[registry.ExperienceLevel](): {"junior", "mid", "senior", "principal"},
	reflect.TypeFor[auth.Role]():                {"viewer", "member", "admin"},
}

// requestRules add what the handlers and the libraries check to the
// request schemas of the types that create resources, so that a client
// (and schemathesis's stateful phase) can make valid requests from the
// document alone: the required fields and the fields' bounds, by type and
// json field name. A request type without a row documents its fields'
// types only; the server answers what it refuses with 422.
var requestRules = map[reflect.Type]struct {
	required []string
	fields   map[string]map[string]any
}{
	reflect.TypeFor[loginRequest]():   {required: []string{"username", "password"}},
	reflect.TypeFor[refreshRequest](): {required: []string{"refresh_token"}},
	reflect.TypeFor[tenantRequest](): {required: []string{"name", "slug"}, fields: map[string]map[string]any{
		"name": nameRule, "slug": {"pattern": "^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"}}},
	reflect.TypeFor[registry.ProjectInput](): {required: []string{"name", "problem_class", "complexity_score", "team_size"},
		fields: map[string]map[string]any{"name": nameRule,
			"complexity_score": {"minimum": 1, "maximum": 10}, "team_size": {"minimum": 1, "maximum": registry.MaxTeamSize},
			"description": {"maxLength": registry.MaxDescriptionLength},
			"tags":        {"maxItems": registry.MaxTags, "items": map[string]any{"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,30}$"}}}},
	reflect.TypeFor[registry.ExperimentInput](): {required: []string{"name"}, fields: map[string]map[string]any{"name": nameRule}},
	reflect.TypeFor[registry.ArtifactInput](): {required: []string{"name", "type", "version"}, fields: map[string]map[string]any{
		"name": nameRule, "version": {"pattern": "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$"},
		"tags": {"maxItems": registry.MaxTags, "items": map[string]any{"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,30}$"}}}},
	reflect.TypeFor[registry.ModelInput]():        {required: []string{"name"}, fields: map[string]map[string]any{"name": nameRule}},
	reflect.TypeFor[registry.ModelVersionInput](): {required: []string{"source"}, fields: map[string]map[string]any{"source": {"minLength": 1, "maxLength": registry.MaxSourceLength, "pattern": "^[!-~]+$"}}},
	reflect.TypeFor[registry.RunPatch]():          {fields: map[string]map[string]any{"name": nameRule}},
	reflect.TypeFor[registry.ExperimentPatch]():   {fields: map[string]map[string]any{"name": nameRule}},
	reflect.TypeFor[tagRequest]():                 {required: []string{"value"}},
	reflect.TypeFor[registry.RunSearch](): {fields: map[string]map[string]any{
		"lifecycle": {"enum": []any{"active", "deleted", "all"}},
		"filter":    {"maxItems": registry.MaxRunClauses}, "order_by": {"maxItems": registry.MaxRunOrder},
		"limit": {"minimum": 1, "maximum": registry.MaxLimit, "default": 50}}},
	reflect.TypeFor[registry.RunClause](): {required: []string{"op", "value"}, fields: map[string]map[string]any{
		"op":    {"enum": []any{"=", "!=", "<", "<=", ">", ">="}},
		"value": {"oneOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "string"}}}}},
	reflect.TypeFor[registry.RunOrder](): {fields: map[string]map[string]any{
		"field": {"enum": []any{"started_at", "ended_at", "name"}}, "direction": {"enum": []any{"asc", "desc"}}}},
	reflect.TypeFor[latestMetricsRequest](): {required: []string{"run_ids", "keys"}, fields: map[string]map[string]any{
		"run_ids": {"minItems": 1, "maxItems": registry.MaxLatestRuns}, "keys": {"minItems": 1, "maxItems": registry.MaxLatestKeys}}},
	reflect.TypeFor[registry.TeamMemberInput](): {required: []string{"name", "role", "experience_level"}, fields: map[string]map[string]any{
		"name": nameRule, "role": nameRule, "contribution_hours": {"minimum": 0, "maximum": 100000}}},
}

// nameRule is the schema of a name the registry accepts: non-blank text
// without control characters, at most registry.MaxNameLength characters
// (documented as a plain pattern well inside that).
var nameRule = map[string]any{"minLength": 1, "maxLength": registry.MaxNameLength, "pattern": "^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$"}

// nullable makes s also accept null.
func nullable(s map[string]any) map[string]any {
	if t, ok := s["type"].(string); ok {
		out := make(map[string]any, len(s))
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{t, "null"}
		if e, ok := s["enum"].([]any); ok {
			out["enum"] = append(slices.Clone(e), nil)
		}
		return out
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// schema returns the schema of values of t as encoding/json writes them.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	if vals, ok := enumTypes[t]; ok {
		e := make([]any, len(vals))
		for i, v := range vals {
			e[i] = v
		}
		return map[string]any{"type": "string", "enum": e}
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	case reflect.TypeFor[json.RawMessage]():
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.schema(t.Elem()))
	case reflect.Interface:
		return map[string]any{}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" || strings.HasPrefix(t.Name(), "page[") {
			return g.object(t)
		}
		return g.ref(t)
	}
	panic(fmt.Sprintf("openapi: no schema for %v", t))
}

// ref returns a reference to the component of the named struct type t,
// building it on first use.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	key := genKey{t, g.request}
	name, ok := g.names[key]
	if !ok {
		name = strings.ToUpper(t.Name()[:1]) + t.Name()[1:]
		if g.request && !strings.HasSuffix(name, "Input") && !strings.HasSuffix(name, "Request") && !strings.HasSuffix(name, "Patch") {
			name += "Input"
		}
		if other, dup := g.taken[name]; dup && other != key {
			pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
			name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
		}
		g.names[key], g.taken[name] = name, key
		g.components[name] = map[string]any{} // placeholder against cycles
		g.components[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// object is the schema of a struct's JSON object: its fields with their
// json names, embedded structs' fields promoted, the fields without
// omitempty required, nothing else allowed.
func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []any
	g.fields(t, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if rules, ok := requestRules[t]; ok && g.request {
		for _, name := range rules.required {
			required = append(required, name)
		}
		for name, extra := range rules.fields {
			p, ok := props[name].(map[string]any)
			if !ok {
				panic(fmt.Sprintf("openapi: requestRules names %s.%s, which has no schema", t, name))
			}
			for k, v := range extra {
				p[k] = v
			}
		}
	}
	if len(required) > 0 {
		sort.Slice(required, func(i, j int) bool { return required[i].(string) < required[j].(string) })
		s["required"] = required
	}
	return s
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		ft := f.Type
		if omit && ft.Kind() == reflect.Pointer {
			ft = ft.Elem() // absent rather than null
		}
		props[name] = g.schema(ft)
		if !omit && !g.request {
			*required = append(*required, name)
		}
	}
}

// exampleOf makes a value that s accepts, for the examples of the
// document's responses.
func (g *schemaGen) exampleOf(s map[string]any, field string, depth int) any {
	if ref, ok := s["$ref"].(string); ok {
		c := g.components[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		return g.exampleOf(c, field, depth+1)
	}
	if alts, ok := s["anyOf"].([]any); ok {
		return g.exampleOf(alts[0].(map[string]any), field, depth)
	}
	if e, ok := s["enum"].([]any); ok {
		return e[0]
	}
	typ := s["type"]
	if ts, ok := typ.([]any); ok {
		typ = ts[0]
	}
	switch typ {
	case "string":
		switch {
		case s["format"] == "date-time" || strings.HasSuffix(field, "_at") || field == "timestamp":
			return "2026-01-02T03:04:05Z"
		case field == "id" || strings.HasSuffix(field, "_id"):
			return "0b5f3c2e-6a0e-4f7e-9d3a-2b8f6c1d4e5a"
		}
		return "example"
	case "integer":
		return 1
	case "number":
		return 0.5
	case "boolean":
		return true
	case "array":
		if depth > 10 {
			return []any{}
		}
		return []any{g.exampleOf(s["items"].(map[string]any), field, depth+1)}
	case "object":
		out := map[string]any{}
		if depth > 14 {
			return out
		}
		if props, ok := s["properties"].(map[string]any); ok {
			for k, p := range props {
				out[k] = g.exampleOf(p.(map[string]any), k, depth+1)
			}
		} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
			out["key"] = g.exampleOf(ap, field, depth+1)
		}
		return out
	}
	return nil
}

// problemResponses names the shared error responses, by status.
var problemResponses = map[int]struct{ name, desc string }{
	http.StatusBadRequest:            {"BadRequest", "The request cannot be read: malformed JSON, an empty body, a bad query parameter or cursor (`invalid_parameter`), a path or query with a NUL or invalid UTF-8."},
	http.StatusUnauthorized:          {"Unauthorized", "The credential is missing or invalid; the answer is the same whatever was wrong."},
	http.StatusForbidden:             {"Forbidden", "The credential's role or kind does not allow this."},
	http.StatusNotFound:              {"NotFound", "No such resource — or another tenant's; a malformed id is unknown too."},
	http.StatusRequestTimeout:        {"RequestTimeout", "The client stopped sending its body before it was complete."},
	http.StatusConflict:              {"Conflict", "The request conflicts with the stored state; `detail` says with what."},
	http.StatusRequestEntityTooLarge: {"TooLarge", "The body or a batch exceeds its limit."},
	http.StatusUnsupportedMediaType:  {"UnsupportedMediaType", "The body is not application/json."},
	http.StatusUnprocessableEntity:   {"ValidationFailed", "Fields failed validation; `errors[]` names each with its path (`[1].value`, `spec.user_stories[3]`)."},
	http.StatusTooManyRequests:       {"Throttled", "Too many attempts; retry after `Retry-After` seconds."},
	http.StatusInternalServerError:   {"Internal", "An unexpected failure; the body reveals nothing and the request id is logged."},
	http.StatusServiceUnavailable:    {"Unavailable", "A dependency (database, Redis, embeddings) is down, the request ran past its deadline, or a heavy route is full (`busy`); retry after `Retry-After` seconds. Without `Retry-After` (`similarity_memory_exceeded`) retrying does not help until an operator acts."},
}

// errorStatuses returns the error statuses op can answer: those of every
// route (400, 500, 503), of an authenticated one (401, 403), of one with
// path parameters (404), of one with a body (408, 413, and for JSON 415
// and 422), and op.errs. A bad query parameter is a 400, as on every list.
func errorStatuses(op apiOp, rt Route) []int {
	st := []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable}
	if rt.Access != Public {
		st = append(st, http.StatusUnauthorized, http.StatusForbidden)
	}
	if strings.Contains(rt.Pattern, "{") {
		st = append(st, http.StatusNotFound)
	}
	if op.body != nil {
		st = append(st, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusRequestTimeout)
	}
	if op.rawBody {
		st = append(st, http.StatusRequestEntityTooLarge, http.StatusRequestTimeout)
	}
	st = append(st, op.errs...)
	slices.Sort(st)
	return slices.Compact(st)
}

// openAPIPathOf turns a ServeMux pattern's path into an OpenAPI path
// template ({key...} becomes {key}).
func openAPIPathOf(path string) string { return strings.ReplaceAll(path, "...}", "}") }

// pathParams are the schemas of the path parameters, by name.
var pathParams = map[string]struct {
	schema map[string]any
	desc   string
}{
	"id":        {map[string]any{"type": "string", "format": "uuid"}, "The resource's id (a canonical UUID); anything else is 404."},
	"user_id":   {map[string]any{"type": "string", "format": "uuid"}, "The user's id."},
	"member_id": {map[string]any{"type": "string", "format": "uuid"}, "The team member's id."},
	"name":      {map[string]any{"type": "string", "minLength": 1}, "The registered model's name."},
	"alias":     {map[string]any{"type": "string", "minLength": 1}, "The alias."},
	"version":   {map[string]any{"type": "integer", "minimum": 1}, "The version number, from 1."},
	"key":       {map[string]any{"type": "string", "minLength": 1}, "The metric's key; it may contain slashes."},
}

// buildOpenAPI generates the document from apiOps and Routes.
func buildOpenAPI() ([]byte, error) {
	g := &schemaGen{components: map[string]any{}, names: map[genKey]string{}, taken: map[string]genKey{}}
	routes := map[string]Route{}
	for _, rt := range Routes() {
		routes[rt.Pattern] = rt
	}
	problemRef := g.schema(reflect.TypeFor[problemDetail]())
	paths := map[string]any{}
	seen := map[string]bool{}
	for _, op := range apiOps() {
		rt, ok := routes[op.pattern]
		if !ok {
			return nil, fmt.Errorf("apiOps names %q, which is not a route of Routes", op.pattern)
		}
		if seen[op.id] {
			return nil, fmt.Errorf("apiOps: operationId %q is used twice", op.id)
		}
		seen[op.id] = true
		method, path, _ := strings.Cut(op.pattern, " ")
		oaPath := openAPIPathOf(path)
		o := map[string]any{
			"operationId": op.id,
			"summary":     rt.Summary,
			"tags":        []any{tagOf(path)},
			"x-access":    rt.Access.String(),
		}
		desc := "Access: `" + rt.Access.String() + "`."
		if op.desc != "" {
			desc = op.desc + "\n\n" + desc
		}
		o["description"] = desc
		if rt.Access == Public {
			o["security"] = []any{}
		}
		var params []any
		for _, seg := range strings.Split(oaPath, "/") {
			if strings.HasPrefix(seg, "{") {
				name := strings.Trim(seg, "{}")
				pp, ok := pathParams[name]
				if !ok {
					return nil, fmt.Errorf("%s: no schema for the path parameter %q in pathParams", op.pattern, name)
				}
				params = append(params, map[string]any{"name": name, "in": "path", "required": true,
					"schema": pp.schema, "description": pp.desc})
			}
		}
		for _, q := range op.query {
			p := map[string]any{"name": q.name, "in": "query", "schema": q.schema, "description": q.desc}
			if q.array {
				p["schema"] = map[string]any{"type": "array", "items": q.schema}
				p["style"], p["explode"] = "form", true
			}
			params = append(params, p)
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		switch {
		case op.body != nil:
			g.request = true
			s := g.schema(reflect.TypeOf(op.body))
			g.request = false
			media := map[string]any{"schema": s}
			if op.example != nil {
				media["example"] = op.example
			}
			o["requestBody"] = map[string]any{"required": true,
				"content": map[string]any{"application/json": media}}
		case op.rawBody:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		}
		resps := map[string]any{}
		ok200 := map[string]any{"description": "Success."}
		switch {
		case op.rawResp:
			ok200["content"] = map[string]any{"application/octet-stream": map[string]any{
				"schema": map[string]any{"type": "string", "format": "binary"}}}
		case op.resp != nil:
			s := g.schema(reflect.TypeOf(op.resp))
			if op.list {
				s = map[string]any{"type": "object", "additionalProperties": false,
					"required": []any{"items", "next_cursor"},
					"properties": map[string]any{
						"items":       map[string]any{"type": "array", "items": s},
						"next_cursor": map[string]any{"type": []any{"string", "null"}, "description": "The cursor of the next page; null on the last."},
					}}
			}
			ok200["content"] = map[string]any{"application/json": map[string]any{
				"schema": s, "example": g.exampleOf(s, "", 0)}}
		}
		if len(op.respHeader) > 0 {
			hs := map[string]any{}
			for _, h := range op.respHeader {
				hs[h] = map[string]any{"schema": map[string]any{"type": "string"}}
			}
			ok200["headers"] = hs
		}
		if len(op.links) > 0 {
			ls := map[string]any{}
			for _, l := range op.links {
				ps := map[string]any{}
				for k, v := range l.params {
					ps[k] = v
				}
				ls[l.name] = map[string]any{"operationId": l.opID, "parameters": ps}
			}
			ok200["links"] = ls
		}
		resps[strconv.Itoa(op.status)] = ok200
		for _, st := range errorStatuses(op, rt) {
			pr, ok := problemResponses[st]
			if !ok {
				return nil, fmt.Errorf("%s: no shared response for status %d", op.pattern, st)
			}
			resps[strconv.Itoa(st)] = map[string]any{"$ref": "#/components/responses/" + pr.name}
		}
		o["responses"] = resps
		item, _ := paths[oaPath].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[oaPath] = item
		}
		item[strings.ToLower(method)] = o
	}
	for _, rt := range Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		item, _ := paths[openAPIPathOf(path)].(map[string]any)
		if _, ok := item[strings.ToLower(method)]; !ok {
			return nil, fmt.Errorf("the route %q has no row in apiOps (openapi_ops_test.go)", rt.Pattern)
		}
	}
	responses := map[string]any{}
	for st, pr := range problemResponses {
		r := map[string]any{"description": pr.desc, "content": map[string]any{
			"application/problem+json": map[string]any{"schema": problemRef,
				"example": problemExample(st)}}}
		switch st {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			r["headers"] = map[string]any{"Retry-After": map[string]any{
				"description": "Seconds to wait before retrying.", "schema": map[string]any{"type": "integer", "minimum": 1}}}
		case http.StatusUnauthorized:
			r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[pr.name] = r
	}
	// The problem's fields, documented.
	pd := g.components["ProblemDetail"].(map[string]any)
	pd["description"] = "An RFC 9457 problem: every error response of this API."
	props := pd["properties"].(map[string]any)
	props["type"].(map[string]any)["pattern"] = "^" + problemTypePrefix + "[a-z_]+$"
	props["code"].(map[string]any)["description"] = "A stable machine-readable code, the suffix of type (docs/platform.md lists them)."
	props["errors"].(map[string]any)["description"] = "The invalid fields of a 422, or the bad parameter of a 400."

	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": map[string]any{
			"title":       "Maestro platform API",
			"version":     "1.0.0-pre",
			"description": "The HTTP API of Maestro's reference platform (package platform). Generated from the Go types and platform.Routes; see docs/platform.md. Every time the API answers is RFC 3339 in UTC with at most microseconds (2026-01-02T03:04:05.123456Z).",
			"license":     map[string]any{"name": "See the repository's license"},
		},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas":   g.components,
			"responses": responses,
			"securitySchemes": map[string]any{"bearer": map[string]any{
				"type": "http", "scheme": "bearer",
				"description": "An access token from POST /api/v1/auth/login, or an API key (mst_...)."}},
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// problemExample is an example problem of status.
func problemExample(status int) map[string]any {
	code := map[int]string{400: "invalid_parameter", 401: "unauthorized", 403: "forbidden", 404: "not_found",
		408: "request_timeout", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
		422: "validation_failed", 429: "throttled", 500: "internal", 503: "unavailable"}[status]
	p := map[string]any{"type": problemTypePrefix + code, "title": http.StatusText(status), "status": status,
		"code": code, "detail": "what went wrong"}
	switch status {
	case 400:
		p["errors"] = []any{map[string]any{"field": "limit", "message": "must be an integer from 1 to 1000"}}
	case 422:
		p["errors"] = []any{map[string]any{"field": "[1].value", "message": "required"}}
	}
	return p
}

// tagOf groups operations by the resource the path serves.
func tagOf(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	if rest == path {
		return "health"
	}
	seg, _, _ := strings.Cut(rest, "/")
	return seg
}

// TestOpenAPIDocument keeps platform/openapi.json equal to what the
// generator makes of apiOps and the Go types.
func TestOpenAPIDocument(t *testing.T) {
	want, err := buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(openAPIPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	if *updateOpenAPI {
		if err := os.WriteFile(openAPIPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("platform/%s is out of date with apiOps (openapi_ops_test.go) or the Go types; run\n\tgo test ./platform -run TestOpenAPIDocument -update-openapi", openAPIPath)
}

package registry

import (
	"encoding/json"
	"fmt"
)

// Spec is a project's structured specification. Every field is optional.
// Its JSON form is the one the reference server's API uses.
//
// A spec is bounded (see Validate): at most MaxSpecSectionItems items in
// each of its five sections, MaxSpecItems items in all, MaxSpecItemBytes
// bytes in every string and MaxDataModelFields fields per data model, and
// MaxSpecBytes bytes of JSON in total. The work that reads a spec —
// composing its text for an embedder, comparing it item by item with
// another spec — grows with these, so they bound it.
type Spec struct {
	UserStories               []string      `json:"user_stories,omitempty"`
	FunctionalRequirements    []string      `json:"functional_requirements,omitempty"`
	NonFunctionalRequirements []string      `json:"non_functional_requirements,omitempty"`
	DataModels                []DataModel   `json:"data_models,omitempty"`
	APIEndpoints              []APIEndpoint `json:"api_endpoints,omitempty"`
}

// Bounds of a Spec, checked by Spec.Validate and so by CreateProject and
// UpdateProject.
const (
	// MaxSpecSectionItems is the most items of one section of a spec:
	// user stories, functional requirements, non-functional requirements,
	// data models or API endpoints.
	MaxSpecSectionItems = 500
	// MaxSpecItems is the most items of all five sections together.
	MaxSpecItems = 1000
	// MaxSpecItemBytes bounds, in bytes, every string of a spec: a story,
	// a requirement, a data model's entity and each of its fields, an
	// endpoint's method, path and purpose.
	MaxSpecItemBytes = 2000
	// MaxDataModelFields is the most fields of one data model.
	MaxDataModelFields = 100
)

// DataModel is one entity of a specification with its field names.
type DataModel struct {
	Entity string   `json:"entity"`
	Fields []string `json:"fields,omitempty"`
}

// APIEndpoint is one endpoint of a specification.
type APIEndpoint struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Purpose string `json:"purpose,omitempty"`
}

// IsZero reports whether the spec has no content.
func (s Spec) IsZero() bool {
	return len(s.UserStories) == 0 && len(s.FunctionalRequirements) == 0 &&
		len(s.NonFunctionalRequirements) == 0 && len(s.DataModels) == 0 && len(s.APIEndpoints) == 0
}

// Items returns the number of items of the spec, all sections together.
func (s Spec) Items() int {
	return len(s.UserStories) + len(s.FunctionalRequirements) + len(s.NonFunctionalRequirements) +
		len(s.DataModels) + len(s.APIEndpoints)
}

// Validate checks the spec's bounds (MaxSpecSectionItems,
// MaxSpecItems, MaxSpecItemBytes, MaxDataModelFields, MaxSpecBytes) and
// that every data model has an entity and every endpoint a method and a
// path. It returns nil or ValidationErrors (matching ErrInvalid) whose
// fields are JSON paths under "spec": "spec.user_stories" for a section
// with too many items, "spec.user_stories[3]" for an item too long,
// "spec.data_models[2].fields" and so on; each section reports its first
// offending item only. Its cost grows with the number of items, not with
// their size, except for the final size check, which is one encoding; a
// spec refused for its counts is not encoded at all.
//
// CreateProject and UpdateProject call it; so do the similarity package
// and the reference platform for the specs they take in a request, before
// any work.
func (s Spec) Validate() error {
	var v validator
	checkSpec(&v, s)
	return v.err()
}

// checkSpec adds the spec's bound violations to v (see Spec.Validate).
func checkSpec(v *validator, s Spec) {
	before := len(v.errs)
	count := func(field string, n int) bool {
		if n > MaxSpecSectionItems {
			v.add(field, "at most %d items (got %d)", MaxSpecSectionItems, n)
			return false
		}
		return true
	}
	long := func(s string) bool { return len(s) > MaxSpecItemBytes }
	strs := func(field string, items []string) {
		if !count(field, len(items)) {
			return
		}
		for i, it := range items {
			if long(it) {
				v.add(fmt.Sprintf("%s[%d]", field, i), "at most %d bytes", MaxSpecItemBytes)
				return
			}
		}
	}
	strs("spec.user_stories", s.UserStories)
	strs("spec.functional_requirements", s.FunctionalRequirements)
	strs("spec.non_functional_requirements", s.NonFunctionalRequirements)
	if count("spec.data_models", len(s.DataModels)) {
		for i, d := range s.DataModels {
			at := fmt.Sprintf("spec.data_models[%d]", i)
			switch {
			case d.Entity == "":
				v.add(at+".entity", "every data model needs an entity")
			case long(d.Entity):
				v.add(at+".entity", "at most %d bytes", MaxSpecItemBytes)
			case len(d.Fields) > MaxDataModelFields:
				v.add(at+".fields", "at most %d fields (got %d)", MaxDataModelFields, len(d.Fields))
			case anyLong(d.Fields):
				v.add(at+".fields", "every field at most %d bytes", MaxSpecItemBytes)
			default:
				continue
			}
			break
		}
	}
	if count("spec.api_endpoints", len(s.APIEndpoints)) {
		for i, e := range s.APIEndpoints {
			at := fmt.Sprintf("spec.api_endpoints[%d]", i)
			switch {
			case e.Method == "":
				v.add(at+".method", "every endpoint needs a method")
			case e.Path == "":
				v.add(at+".path", "every endpoint needs a path")
			case long(e.Method):
				v.add(at+".method", "at most %d bytes", MaxSpecItemBytes)
			case long(e.Path):
				v.add(at+".path", "at most %d bytes", MaxSpecItemBytes)
			case long(e.Purpose):
				v.add(at+".purpose", "at most %d bytes", MaxSpecItemBytes)
			default:
				continue
			}
			break
		}
	}
	if n := s.Items(); n > MaxSpecItems {
		v.add("spec", "at most %d items in all sections together (got %d)", MaxSpecItems, n)
	}
	if len(v.errs) > before {
		return // refused already: no need to encode it
	}
	b, err := json.Marshal(s)
	if err != nil || len(b) > MaxSpecBytes {
		v.add("spec", "must be at most %d bytes of JSON", MaxSpecBytes)
	}
}

// anyLong reports whether a string of ss exceeds MaxSpecItemBytes.
func anyLong(ss []string) bool {
	for _, s := range ss {
		if len(s) > MaxSpecItemBytes {
			return true
		}
	}
	return false
}

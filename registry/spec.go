package registry

// Spec is a project's structured specification. Every field is optional.
// Its JSON form is the one the reference server's API uses.
type Spec struct {
	UserStories               []string      `json:"user_stories,omitempty"`
	FunctionalRequirements    []string      `json:"functional_requirements,omitempty"`
	NonFunctionalRequirements []string      `json:"non_functional_requirements,omitempty"`
	DataModels                []DataModel   `json:"data_models,omitempty"`
	APIEndpoints              []APIEndpoint `json:"api_endpoints,omitempty"`
}

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

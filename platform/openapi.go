package platform

import (
	_ "embed"
	"net/http"
	"slices"
)

// openAPIDocument is the platform's HTTP contract: an OpenAPI 3.1
// document of every route of Routes, generated from the Go types the
// handlers decode and encode and from the route table (see
// openapi_gen_test.go; TestOpenAPIDocument keeps it current).
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the platform's OpenAPI 3.1 document (JSON): every route
// of Routes with its parameters, request and response schemas, error
// responses and security. A Server serves it at GET /api/v1/openapi.json.
func OpenAPI() []byte { return slices.Clone(openAPIDocument) }

// openAPI serves the OpenAPI document.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
	return nil
}

package mlflowapi

import "net/url"

// parseQuery parses a query string strictly: a malformed escape is an
// error rather than a silently dropped parameter.
func parseQuery(raw string) (url.Values, error) { return url.ParseQuery(raw) }

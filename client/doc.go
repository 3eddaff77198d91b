// Package client is a typed Go client for the Maestro platform's HTTP API
// (/api/v1, as package platform serves it and its OpenAPI document
// describes it). It depends on the standard library only: a program that
// calls a platform does not pull in the server.
//
// # Connecting
//
// New takes the URL the platform is served at and options:
//
//	c, err := client.New("https://maestro.example.com",
//		client.WithLogin("ada", password, "acme"), // or client.WithToken(apiKey)
//		client.WithRetry(3, 5*time.Second),
//	)
//
// WithLogin signs in on the first call and keeps the token pair: it renews
// the access token shortly before it expires, and when the server refuses
// it (401) it renews once and repeats the request; when the refresh token
// is refused too (the session was ended) it signs in again. Renewals are
// serialised, so concurrent calls spend a refresh token once: the server
// rotates refresh tokens and ends a session whose spent token comes back.
// WithToken sends a static bearer credential instead, an access token or
// an API key ("mk_..."), and never renews it.
//
// WithHTTPClient carries timeouts, TLS settings or an instrumented
// transport; WithRetry retries idempotent requests (GET, PUT, DELETE) the
// server answers 429 or 503, waiting as its Retry-After says, within a
// bound; WithMaxResponseBytes bounds the JSON answers read (32 MiB by
// default).
//
// # Calls
//
// Every route has a method taking a context: CreateProject, LogMetrics,
// MetricHistory, SearchRuns, SetRunTag, LatestMetrics,
// UploadArtifactContent (an io.Reader, streamed) and
// DownloadArtifactContent (an io.ReadCloser), TrainMetaModel and
// WaitTrainingJob, Recommend, SimilarSpecs, and so on. Request and
// response bodies are the package's own types (ProjectInput, Project,
// ...); optional and patch fields are pointers or omitted when empty.
//
// Lists return one Page (Items and NextCursor) for a PageRequest (Limit,
// Cursor); each has an ...All variant, an iter.Seq2 that follows the
// cursors:
//
//	for p, err := range c.ListProjectsAll(ctx, client.ProjectFilter{Status: "active"}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(p.Name)
//	}
//
// Do is the escape hatch for a request the client has no method for: a
// method, a path with its query, a body and where to decode the answer,
// with the same authentication, retries and errors.
//
// # Errors
//
// An answer other than 2xx is an *Error carrying the RFC 9457 problem the
// platform sends: Status, Code (stable, machine-readable), Detail, the
// invalid fields of a 422 (Errors, with JSON paths) and RetryAfter. The
// convention of the package is errors.Is against its sentinels, which
// match by status:
//
//	_, err := c.GetProject(ctx, id)
//	switch {
//	case errors.Is(err, client.ErrNotFound): // no such project in the caller's tenant
//	case errors.Is(err, client.ErrForbidden): // the role does not allow it
//	}
//
// Another tenant's resource is ErrNotFound, exactly as an unknown one.
//
// # Adding a route
//
// A new route is a request or response type in types.go (when it has a
// new body), one method beside the methods of its resource, built on the
// package's get, send, exec and list helpers, and one row in the coverage
// table of routes_test.go, which fails while a route of platform.Routes
// has no call.
package client

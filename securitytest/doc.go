// Package securitytest is Maestro's automated security suite. It has no
// API: its tests build the reference server (examples/platform), run it as
// a separate process exactly as an operator would — HTTPS with a generated
// certificate, a known JWT secret and bootstrap password, on SQLite and on
// PostgreSQL (as a non-superuser application role, row-level security
// forced) with Redis — and attack it over the network.
//
// The cases follow the OWASP API Security Top 10 (2023):
//
//   - API1 broken object-level authorisation: every route that takes an id
//     is called by another tenant with the first tenant's ids and must
//     answer 404, exactly as for an unknown id, and change nothing. The
//     route table is read from the server's source, so a new route without
//     a case fails the suite.
//   - API2 broken authentication: forged, tampered, alg "none", wrong
//     algorithm, unknown key id, expired, not-yet-valid, wrong issuer or
//     audience, escalated claims signed with the real key, replayed and
//     confused refresh tokens, revoked API keys, identity headers
//     (X-User-ID, X-Tenant-ID) that must be ignored, login lockout with
//     429 and Retry-After, one answer for unknown users and wrong
//     passwords.
//   - API3 object-property authorisation: no mass assignment of tenant,
//     role, ids or computed fields; no password, hash, token or secret in
//     any response body the suite sees (every body is scanned) nor in the
//     server's log.
//   - API4 resource consumption: body, batch and page-size limits, login
//     throttling, a slow client cut off by the header timeout.
//   - API5 function-level authorisation: viewer, member and admin against
//     every function above their role (403).
//   - Injection through every filter, search and cursor parameter: 4xx or
//     the caller's own data, never a 5xx, never another tenant's data.
//   - API8 security misconfiguration: security headers (HSTS on HTTPS) on
//     every response, no permissive CORS, error bodies that leak no stack,
//     SQL or path, TLS 1.0/1.1 and weak cipher suites refused.
//
// The suite builds its world (tenants, users, one of every resource)
// through package client, the platform's typed Go client, over a
// transport that runs the same checks on every answer; the attacks
// themselves are raw requests (forged tokens, malformed bodies, odd
// headers), sent by the harness's do.
//
// On PostgreSQL the suite also connects as the server's application role
// and checks row-level security below the application. TestGeneratedSecrets
// checks that a server started without secrets has no default credential,
// and TestNoCommittedCredentials scans every file git tracks for keys,
// tokens and passwords.
//
// Failure behaviour is tested as well: the embeddings service going down
// (similarity answers 503, everything else works), Redis going down
// (authentication fails closed with 503 and recovers without a restart)
// and, opt-in because it creates a private PostgreSQL cluster,
// PostgreSQL restarted under load (TestPostgresRestartUnderLoad).
//
// Every finding of the audit (SECURITY.md) has a case here; all are fixed,
// so a case that observes its finding again fails the suite and names it.
//
// Run it with
//
//	eval "$(bash .ci/services)"
//	go test -count=1 ./securitytest/
//
// Without the PostgreSQL and Redis environment (internal/testenv) the
// PostgreSQL run is skipped; with MAESTRO_REQUIRE_SERVICES=1 it is
// mandatory. SECURITY.md at the repository root holds the threat model and
// the audit's findings.
package securitytest

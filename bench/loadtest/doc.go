// Package loadtest drives a realistic, authenticated API mix against a
// running Maestro reference server (examples/platform) and measures it.
//
// A run has two parts. Setup, as the platform's bootstrap admin, creates
// fresh tenants and users through the HTTP API; each tenant's first user
// then fills the tenant with projects (with specifications, team members,
// artifact usages and outcomes), artifacts and experiments, and trains the
// tenant's meta-model so that recommendations work. The measured part then
// starts virtual users: each logs in with its own credentials, gets real
// access and refresh tokens, and loops over a weighted mix of requests
// (see DefaultMix) with a think time between them, until the profile ends.
//
// Four profiles shape the number of virtual users over time:
//
//   - ProfileBaseline holds Config.Users users for Config.Duration.
//   - ProfileStress adds users in stages until a stage breaks (its error
//     rate or its p99 exceeds the limits) or the maximum is reached, and
//     reports the knee: the last stage that held.
//   - ProfileSpike holds a few users, jumps to many at once, then drops
//     back, and reports each phase and how long the p99 took to recover.
//   - ProfileEndurance holds Config.Users users for a long time and reports
//     latency and the server's resident memory per time window, with their
//     trend, to show whether they stay flat.
//
// Requests go through package client (the platform's typed Go client),
// given the harness's own keep-alive HTTP client; the harness times each
// call until the client has read the whole answer, and spends the request
// budget.
//
// Every request's latency is kept, so the percentiles in a Report are
// exact (nearest rank over the sorted samples), per endpoint, overall and
// per phase. A request counts as an error when it fails at the transport
// level or answers a status other than the one the API documents for it;
// errors are counted by status.
//
// The harness only talks to loopback addresses: CheckTarget refuses any
// other target, and the HTTP client's dialer re-checks every address it
// connects to, unless Config.AllowNonLoopback is set explicitly. Request
// loops are bounded by the profile's duration and by Config.MaxRequests.
//
// The command bench/loadtest/cmd/loadtest runs the profiles from the
// command line and writes the Report as Markdown and JSON;
// PERFORMANCE_RESULTS.md at the repository root holds measured results.
package loadtest

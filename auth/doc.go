// Package auth authenticates the users and programs of a Maestro platform:
// it issues and verifies tokens, hashes passwords, manages API keys,
// throttles login attempts and puts a verified Principal into each
// request's context. Nothing else may: there is no header, cookie or
// parameter through which a client can name a user or tenant.
//
// # Tokens and sessions
//
// A JWTManager issues a pair of JWTs per login session (IssuePair): a
// short-lived access token (15 minutes by default) sent with every request,
// and a refresh token (7 days) exchanged for a new pair (Refresh). Both are
// signed with the active key of a key ring — HS256 with secrets of at least
// 32 bytes, or EdDSA (Ed25519) — and name it in the "kid" header, so keys
// rotate without logging anyone out: add the new key, make it active
// (UseKey), and remove the old one once its tokens have expired.
//
// Verification follows RFC 8725: the algorithm is pinned per key, "iss",
// "aud" and "exp" are required, "nbf" and "iat" are checked, and an access
// token can never pass as a refresh token or the reverse (a "typ" claim and
// explicit JOSE "typ" headers "at+jwt" and "rt+jwt").
//
// Refresh tokens rotate (RFC 9700 §4.14.2): each is single-use. Presenting
// a spent one means it was stolen or replayed, so Refresh fails with
// ErrRefreshReuse and revokes the whole session — every token descended
// from that login. Logout revokes the session and denies the access token's
// id until it expires; RevokeUser and RevokeOtherSessions end a user's
// sessions on deactivation or password change.
//
// The server-side state behind all this lives in a TokenStore: sessions,
// refresh-token hashes (never the tokens) with their spent state, a denylist
// of token ids, per-user revocation. NewMemoryTokenStore serves tests and
// single processes; package auth/gormstore stores it in SQL (SQLite,
// PostgreSQL) and auth/redisstore in Redis, where keys expire with the
// tokens. Package auth/authtest holds the conformance suite every store
// passes.
//
// # Passwords
//
// PasswordHasher hashes with argon2id in PHC string format at OWASP's
// parameters (19 MiB, 2 iterations, 1 lane), verifies bcrypt hashes of
// migrated users, reports NeedsRehash when parameters change, compares in
// constant time and bounds concurrent hashes so a burst of logins queues
// instead of exhausting memory. VerifyDummy makes a login for an unknown
// user cost what a wrong password costs. CheckPasswordPolicy enforces 12 to
// 128 characters and rejects a bundled list of common passwords.
//
// # API keys
//
// API keys look like "mst_" + 43 base62 characters + a 6-character CRC-32
// checksum: recognisable by secret scanners, checkable offline
// (ParseAPIKey), 256 bits of entropy. Only their SHA-256 is stored, next to
// a public lookup prefix. APIKeys creates them with a role capped at the
// creator's, optional expiry, last-used tracking and revocation, over an
// APIKeyStore (memory here, SQL in auth/gormstore).
//
// # HTTP
//
// Middleware accepts only "Authorization: Bearer <credential>" — an access
// token or, with WithAPIKeyVerifier, an API key — and answers 401 with
// "WWW-Authenticate: Bearer" and an RFC 9457 problem otherwise. RequireRole,
// RequireRoleOrSuperadmin and RequireSuperadmin answer 403 for principals
// without the privilege. Roles are ordered: viewer < member < admin.
//
// # Login throttling
//
// A LoginThrottler (NewMemoryThrottler, redisstore.NewThrottler) locks an
// account for increasing periods after repeated failures from one client
// network, locks it for everyone only after many more failures across
// networks (ThrottlePolicy.AccountFailures), and caps failures per client
// IP, answering with a Retry-After duration. So a stranger who knows a user
// name locks out only themselves, not the account's owner. It keys on the
// submitted name, so it answers the same whether or not the account exists.
// Check reserves each attempt it admits, per account and per client
// address, until Fail, Succeed or Release settles it, so concurrent
// guesses cannot outrun the failures left under any cap.
//
// # Options
//
// Every constructor checks its options: a value out of range (a TTL, a
// leeway, argon2 parameters, a concurrency bound), a nil function or an
// empty name makes NewJWTManager, NewAPIKeys, NewPasswordHasher and
// NewMemoryThrottler (and redisstore's constructors) fail with an error
// wrapping ErrInvalid; nothing is silently ignored. Middleware, RequireRole,
// RequireRoleOrSuperadmin and RequireSuperadmin return no error, so a
// middleware built with an invalid option fails closed — it answers every
// request with 500 (code "misconfigured") and never calls the next
// handler — and CheckMiddlewareOptions reports the option at start-up.
//
// Every exported type says whether it is safe for concurrent use; all the
// services (JWTManager, PasswordHasher, APIKeys, the stores and throttlers)
// are.
package auth
